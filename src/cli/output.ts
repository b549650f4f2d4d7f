/**
 * What a command prints on stdout. `--json`: the API's JSON exactly (indented on a terminal, one line otherwise).
 * Without it: a table for a list of objects, `key: value` lines for an object, the value for a scalar; bold
 * headers and cut-off long cells only on a terminal, plain aligned text otherwise (nothing decorative).
 */

export interface OutputStyle {
  /** stdout is a terminal */
  tty: boolean;
  /** terminal width for cutting cells (ignored when not a TTY) */
  columns?: number;
}

const BOLD = '\u001b[1m';
const RESET = '\u001b[0m';
/** Columns a table shows at most, chosen from the first row's scalar fields, `id` first. */
const MAX_TABLE_COLUMNS = 6;
const MAX_CELL_TTY = 40;

export function formatJson(value: unknown, style: OutputStyle): string {
  return `${style.tty ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function cell(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function cut(text: string, max: number, style: OutputStyle): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ');
  if (!style.tty || oneLine.length <= max) return oneLine;
  return `${oneLine.slice(0, Math.max(1, max - 1))}…`;
}

function header(text: string, style: OutputStyle): string {
  return style.tty ? `${BOLD}${text}${RESET}` : text;
}

/** Keys that identify a row at a glance come first when present; the rest follow in the answer's order. */
const LEADING_KEYS = ['id', 'name', 'title', 'status', 'priority', 'role', 'strategy'];

function tableColumns(rows: Record<string, unknown>[]): string[] {
  const keys = Object.keys(rows[0] ?? {}).filter((k) => rows.some((r) => r[k] === null || typeof r[k] !== 'object'));
  const leading = LEADING_KEYS.filter((k) => keys.includes(k));
  return [...leading, ...keys.filter((k) => !leading.includes(k))].slice(0, MAX_TABLE_COLUMNS);
}

function formatTable(rows: Record<string, unknown>[], style: OutputStyle): string {
  const columns = tableColumns(rows);
  const cells = rows.map((row) => columns.map((c) => cut(cell(row[c]), MAX_CELL_TTY, style)));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]): string => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const headerLine = line(columns.map((c) => c.toUpperCase()));
  return [header(headerLine, style), ...cells.map(line)].join('\n') + '\n';
}

function formatRecord(record: Record<string, unknown>, style: OutputStyle): string {
  const keys = Object.keys(record);
  const width = Math.max(0, ...keys.map((k) => k.length));
  const columns = style.columns !== undefined && style.columns > 0 ? style.columns : 100;
  const max = Math.max(20, columns - width - 2);
  return keys.map((k) => `${header(`${k}:`.padEnd(width + 1), style)} ${cut(cell(record[k]), max, style)}`.trimEnd()).join('\n') + '\n';
}

/** The readable view of a success body. */
export function formatResult(value: unknown, style: OutputStyle): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return style.tty ? '(none)\n' : '';
    if (value.every(isPlainObject)) return formatTable(value, style);
    return value.map((v) => `${cell(v)}\n`).join('');
  }
  if (isPlainObject(value)) return formatRecord(value, style);
  return `${cell(value)}\n`;
}
