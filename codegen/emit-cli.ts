/**
 * generated/cli/: the command table of `maestro-api` (commands.ts, data only, typed by src/cli/command-table.ts)
 * and main.ts, the thin glue that hands this table and this generated client to the hand-written runtime in
 * src/cli/. Rendered from templates/cli/*.hbs.
 *
 * Naming (one command per operation, group from the tag, name from the operationId):
 *   - the operationId's words, minus the first one naming the tag's noun (`listTasks` in `tasks` → `list`,
 *     `addTaskTimelineEntry` → `add-timeline-entry`, `startQueueItem` in `queue` → `start-item`), minus a
 *     preposition left dangling at the end (`addTaskToSession` in `sessions` → `add-task`);
 *   - a tag that is the operation's verb (`spawnSession` tagged `spawn`) files the command under its object:
 *     `sessions spawn`.
 * Flags: path parameters, query parameters and top-level request-body properties, camelCase → kebab-case. A
 * name taken by a global flag (`--url`, `--token`, `--json`, `--data`, `--help`, `--version`) or by a parameter
 * gets the prefix `body-` (`data` of a session event → `--body-data`). Two operations with the same group and
 * name, or flags still colliding, stop codegen with a message naming them.
 */
import type { LoadedSpec, SchemaFile } from './load-spec.js';
import { SpecError, derefLocal } from './load-spec.js';
import type { Output } from './output.js';
import { readOperations, type OperationModel } from './operations.js';
import { loadTemplate } from './render.js';
import { allowsNull, declaredProperties, describeType, follow, isObject } from './schema-tools.js';
import type { CliCommand, CliFlag, CliGroup, CliInfo, FlagKind } from '../src/cli/command-table.js';

const RESERVED_FLAGS = new Set(['url', 'token', 'json', 'data', 'help', 'version']);
const DANGLING = new Set(['to', 'from', 'for', 'of', 'in', 'on', 'with']);

function words(camel: string): string[] {
  return camel
    .replace(/^_+/, '')
    .split(/(?=[A-Z])/)
    .map((w) => w.toLowerCase())
    .filter((w) => w !== '');
}

export function kebab(camel: string): string {
  return words(camel).join('-');
}

function singular(word: string): string {
  return word.endsWith('s') ? word.slice(0, -1) : word;
}

function plural(word: string): string {
  return word.endsWith('s') ? word : `${word}s`;
}

/** `{ group, name }` of an operation's command (the rule of this file's header). */
export function commandName(operationId: string, tag: string): { group: string; name: string } {
  const parts = words(operationId);
  if (parts.length > 1 && parts[0] === tag) return { group: plural(parts.slice(1).join('-')), name: tag };
  const nouns = new Set([tag, singular(tag), plural(tag)]);
  const at = parts.findIndex((w, i) => i > 0 && nouns.has(w));
  const rest = at === -1 ? parts : [...parts.slice(0, at), ...parts.slice(at + 1)];
  if (rest.length > 1 && DANGLING.has(rest[rest.length - 1]!)) rest.pop();
  return { group: tag, name: rest.join('-') };
}

/** The flag kind, choices and nullability of a schema node (a parameter's or a body property's). */
function flagShape(spec: LoadedSpec, node: unknown, from: string, doc: unknown): Pick<CliFlag, 'kind' | 'choices' | 'nullable'> {
  const target = follow(spec, { node, from, doc });
  const schema = isObject(target.node) ? target.node : {};
  const types = (Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type]).filter((t) => t !== 'null');
  const nullable = types.length > 0 && allowsNull(spec, node, from, doc);
  const choices = Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === 'string') ? (schema.enum as string[]) : undefined;
  let kind: FlagKind = 'any';
  if (types.length === 1) {
    const type = types[0];
    if (type === 'string' || type === 'number' || type === 'integer' || type === 'boolean') kind = type;
    else if (type === 'array') {
      const items = follow(spec, { node: schema.items, from: target.from, doc: target.doc }).node;
      kind = isObject(items) && items.type === 'string' ? 'strings' : 'json';
    } else kind = 'json';
  } else if (choices) kind = 'string';
  return { kind, ...(choices ? { choices } : {}), nullable };
}

/** The spec's description of a parameter or property, else what its type is ("a non-empty string"). */
function describe(spec: LoadedSpec, node: unknown, schema: unknown, from: string, doc: unknown): string {
  if (isObject(node) && typeof node.description === 'string') return node.description;
  const type = describeType(spec, schema, from, doc);
  return type === undefined ? '' : type.charAt(0).toUpperCase() + type.slice(1) + '.';
}

function bodyFlags(spec: LoadedSpec, file: SchemaFile, taken: Set<string>): CliFlag[] {
  const required = new Set(Array.isArray(file.schema.required) ? (file.schema.required as string[]) : []);
  return declaredProperties(file.schema).map(([name, node]) => {
    const own = kebab(name);
    const flag = RESERVED_FLAGS.has(own) || taken.has(own) ? `body-${own}` : own;
    const target = follow(spec, { node, from: file.relPath, doc: file.schema }).node;
    const defaultValue = isObject(node) && 'default' in node ? node.default : isObject(target) && 'default' in target ? target.default : undefined;
    return {
      flag,
      name,
      in: 'body' as const,
      ...flagShape(spec, node, file.relPath, file.schema),
      required: required.has(name),
      description: describe(spec, node, node, file.relPath, file.schema),
      ...(defaultValue !== undefined ? { defaultValue } : {}),
    };
  });
}

function parameterFlags(spec: LoadedSpec, op: OperationModel, raw: Record<string, unknown>, pathItem: Record<string, unknown>): CliFlag[] {
  const doc = spec.openapi;
  const from = spec.openapiSource.relPath;
  const declared = new Map<string, Record<string, unknown>>();
  for (const p of [...(Array.isArray(pathItem.parameters) ? pathItem.parameters : []), ...(Array.isArray(raw.parameters) ? raw.parameters : [])]) {
    const param = derefLocal(doc, p);
    declared.set(`${String(param.in)}:${String(param.name)}`, param);
  }
  const flag = (name: string, where: 'path' | 'query'): CliFlag => {
    const param = declared.get(`${where}:${name}`) ?? {};
    return {
      flag: kebab(name),
      name,
      in: where,
      ...flagShape(spec, param.schema, from, doc),
      nullable: false,
      required: where === 'path',
      description: describe(spec, param, param.schema, from, doc),
    };
  };
  return [...op.pathParams.map((p) => flag(p.name, 'path')), ...op.queryParams.map((q) => flag(q, 'query'))];
}

function commandOf(spec: LoadedSpec, op: OperationModel): CliCommand {
  if (op.tag === '') throw new SpecError(`${op.operationId}: no tag; the CLI files every command under its operation's tag (spec-conventions §3)`);
  const paths = spec.openapi.paths as Record<string, unknown>;
  const pathItem = derefLocal(spec.openapi, paths[op.path]);
  const raw = pathItem[op.method] as Record<string, unknown>;
  const params = parameterFlags(spec, op, raw, pathItem);
  const taken = new Set(params.map((f) => f.flag));
  const body = op.body ? bodyFlags(spec, op.body.schema, taken) : [];
  const flags = [...params, ...body];
  const seen = new Set<string>();
  for (const f of flags) {
    if (RESERVED_FLAGS.has(f.flag) || seen.has(f.flag)) throw new SpecError(`${op.operationId}: CLI flag --${f.flag} is used twice; rename the parameter or property`);
    seen.add(f.flag);
  }
  return {
    ...commandName(op.operationId, op.tag),
    operationId: op.operationId,
    method: op.method.toUpperCase(),
    path: op.path,
    summary: op.summary,
    description: typeof raw.description === 'string' ? raw.description : '',
    successStatus: op.successStatus,
    flags,
    ...(op.body ? { body: { required: op.body.required, schemaTitle: op.body.schema.title } } : {}),
    emits: op.emits,
  };
}

/** The command table: commands sorted by group then name, groups in the order of the spec's `tags`. */
export function readCliTable(spec: LoadedSpec): { info: CliInfo; groups: CliGroup[]; commands: CliCommand[] } {
  const commands = readOperations(spec)
    .map((op) => commandOf(spec, op))
    .sort((a, b) => (a.group + ' ' + a.name < b.group + ' ' + b.name ? -1 : 1));
  const byName = new Map<string, string>();
  for (const c of commands) {
    const key = `${c.group} ${c.name}`;
    const other = byName.get(key);
    if (other !== undefined) throw new SpecError(`operations ${other} and ${c.operationId} both become the CLI command "${key}"`);
    byName.set(key, c.operationId);
  }
  const tags = Array.isArray(spec.openapi.tags) ? spec.openapi.tags.filter(isObject) : [];
  const tagDescription = new Map(tags.map((t) => [String(t.name), typeof t.description === 'string' ? t.description : '']));
  const used = [...new Set(commands.map((c) => c.group))];
  const order = (g: string): number => {
    const i = tags.findIndex((t) => t.name === g);
    return i === -1 ? tags.length : i;
  };
  const groups = used
    .sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1))
    .map((name) => ({ name, description: tagDescription.get(name) || `Commands on ${name}.` }));
  if (groups.some((g) => g.name === 'watch')) throw new SpecError('a tag named "watch" would hide the built-in maestro-api watch command');
  const info = isObject(spec.openapi.info) ? spec.openapi.info : {};
  return {
    info: { title: String(info.title ?? ''), version: String(info.version ?? ''), summary: typeof info.summary === 'string' ? info.summary : '' },
    groups,
    commands,
  };
}

export function emitCli(spec: LoadedSpec, out: Output, templatesRoot: string): void {
  const table = readCliTable(spec);
  const commandsTpl = loadTemplate(templatesRoot, 'cli/commands.ts.hbs');
  const mainTpl = loadTemplate(templatesRoot, 'cli/main.ts.hbs');
  out.add(
    'cli/commands.ts',
    [spec.openapiSource, ...spec.schemas, commandsTpl.source],
    commandsTpl.render({
      info: JSON.stringify(table.info, null, 2),
      groups: JSON.stringify(table.groups, null, 2),
      commands: table.commands.map((c) => JSON.stringify(c, null, 2).replace(/\n/g, '\n  ')),
    }),
  );
  out.add('cli/main.ts', [mainTpl.source], mainTpl.render({}));
}
