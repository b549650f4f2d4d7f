/**
 * Flag text → the JSON value sent, per flag kind (src/cli/command-table.ts). A value that does not fit throws
 * commander's InvalidArgumentError, which the parser reports naming the flag (exit code 2).
 */
import { InvalidArgumentError } from 'commander';
import type { CliFlag } from './command-table.js';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('It is not valid JSON.');
  }
}

/** The value of one occurrence of `flag`; `previous` is the value so far (repeatable kinds append to it). */
export function flagValue(flag: CliFlag, text: string, previous: unknown): unknown {
  if (flag.nullable && text === 'null') return null;
  switch (flag.kind) {
    case 'string':
      return text;
    case 'number':
    case 'integer': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('It must be a number.');
      if (flag.kind === 'integer' && !Number.isInteger(n)) throw new InvalidArgumentError('It must be a whole number.');
      return n;
    }
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new InvalidArgumentError('It must be true or false.');
    case 'strings':
      return [...(Array.isArray(previous) ? previous : []), text];
    case 'json':
      return parseJson(text);
    case 'any':
      // Untyped in the spec: structured JSON when it looks like it, otherwise the text itself.
      return /^\s*[[{"]/.test(text) || text === 'true' || text === 'false' || text === 'null' ? parseJson(text) : text;
  }
}

/** The placeholder shown in the help, e.g. `--priority <value>`, `--task-ids <value...>`. */
export function flagPlaceholder(flag: CliFlag): string {
  if (flag.kind === 'boolean') return '<true|false>';
  if (flag.kind === 'json') return '<json>';
  if (flag.kind === 'number' || flag.kind === 'integer') return '<number>';
  return '<value>';
}

/** The help line of a flag: the spec's description plus what the kind accepts. */
export function flagHelp(flag: CliFlag): string {
  const notes: string[] = [];
  if (flag.required) notes.push(flag.in === 'body' ? 'required, here or in --data' : 'required');
  if (flag.kind === 'strings') notes.push('repeatable: one value per occurrence');
  if (flag.kind === 'json') notes.push('JSON');
  if (flag.kind === 'any') notes.push('JSON or text');
  if (flag.nullable) notes.push('"null" sends null');
  if (flag.defaultValue !== undefined) notes.push(`server default: ${JSON.stringify(flag.defaultValue)}`);
  const text = flag.description.trim();
  return [text, notes.length > 0 ? `(${notes.join('; ')})` : ''].filter((s) => s !== '').join(' ');
}
