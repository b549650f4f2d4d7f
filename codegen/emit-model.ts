/**
 * generated/model/index.ts: what the schemas say that the server needs at run time, so that `src/` never
 * restates it by hand (docs/spec-conventions.md §1.2):
 * - every enum of `schemas/common/` as a value list (`TaskStatusValues`), and its `x-value-groups`
 *   (`SessionStatusGroups.terminal`);
 * - every stored entity (a schema with `x-stored-as`): its key list, the shape of each key (JSON types,
 *   enum values, array item type, `default`, required) for the load migrations, and its defaults;
 * - per create/update request schema (`x-create-of` / `x-update-of`): typed functions that build the plain
 *   fields of a new entity (request value, else request default, else entity default) and copy the plain
 *   fields of an update. A plain field is a request property with the same name as an entity property and
 *   without `"x-apply": "handler"`; the handler writes everything else.
 */
import { type JsonSchema, type LoadedSpec, type SchemaFile, SpecError } from './load-spec.js';
import type { Output } from './output.js';
import { declaredProperties, follow, forEachSchema, isObject } from './schema-tools.js';

type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'null';

interface FieldShape {
  types: JsonType[];
  required: boolean;
  enum?: string[];
  const?: unknown;
  items?: JsonType[];
  default?: unknown;
}

interface StoredEntity {
  kind: string;
  file: SchemaFile;
  keys: string[];
  fields: Map<string, FieldShape>;
}

interface RequestModel {
  file: SchemaFile;
  mode: 'create' | 'update';
  entity: StoredEntity;
  /** plain fields in entity key order: request property name → the request's own `default` */
  plain: { name: string; requestDefault?: unknown; hasRequestDefault: boolean }[];
}

const JSON_TYPES: readonly JsonType[] = ['string', 'integer', 'number', 'boolean', 'array', 'object', 'null'];

/** The JSON types a (sub)schema admits, following `$ref`s; `[]` means "any". */
function typesOf(spec: LoadedSpec, node: unknown, from: string, doc: unknown): { types: JsonType[]; schema: JsonSchema } {
  const loc = follow(spec, { node, from, doc });
  const schema = isObject(loc.node) ? loc.node : {};
  // A property may add keywords beside its `$ref` (e.g. a `default`): the referenced schema gives the type.
  let types: JsonType[] = [];
  const declared = schema.type;
  if (typeof declared === 'string') types = [declared as JsonType];
  else if (Array.isArray(declared)) types = declared.filter((t): t is JsonType => JSON_TYPES.includes(t as JsonType));
  else if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === 'string')) types = ['string'];
  else if (typeof schema.const === 'string') types = ['string'];
  return { types, schema };
}

function fieldShape(spec: LoadedSpec, file: SchemaFile, name: string, node: unknown, required: boolean): FieldShape {
  const { types, schema } = typesOf(spec, node, file.relPath, file.schema);
  const shape: FieldShape = { types, required };
  if (Array.isArray(schema.enum)) shape.enum = schema.enum.map(String);
  if ('const' in schema) shape.const = schema.const;
  if (types.includes('array') && schema.items !== undefined) {
    const loc = follow(spec, { node: schema, from: file.relPath, doc: file.schema });
    const items = typesOf(spec, (loc.node as JsonSchema).items, loc.from, loc.doc);
    if (items.types.length > 0) shape.items = items.types;
  }
  // The property's own `default` wins over one on the referenced schema.
  if (isObject(node) && 'default' in node) shape.default = node.default;
  else if ('default' in schema) shape.default = schema.default;
  if (shape.default !== undefined && !valueFits(shape.default, shape)) {
    throw new SpecError(`${file.relPath}: the default of ${name} does not fit its own schema`);
  }
  return shape;
}

function valueFits(value: unknown, shape: FieldShape): boolean {
  if (shape.enum !== undefined && !shape.enum.includes(value as string)) return false;
  if (shape.types.length === 0) return true;
  return shape.types.some((t) => {
    switch (t) {
      case 'null':
        return value === null;
      case 'array':
        return Array.isArray(value);
      case 'object':
        return isObject(value);
      case 'integer':
        return Number.isInteger(value);
      default:
        return typeof value === t;
    }
  });
}

function storedEntities(spec: LoadedSpec): StoredEntity[] {
  const out: StoredEntity[] = [];
  for (const file of spec.schemas) {
    const kind = file.schema['x-stored-as'];
    if (kind === undefined) continue;
    if (typeof kind !== 'string' || !/^[a-z]+$/.test(kind)) throw new SpecError(`${file.relPath}: x-stored-as must be a lower-case word`);
    if (out.some((e) => e.kind === kind)) throw new SpecError(`${file.relPath}: x-stored-as "${kind}" is used twice`);
    const properties = isObject(file.schema.properties) ? file.schema.properties : {};
    const required = new Set(Array.isArray(file.schema.required) ? file.schema.required.map(String) : []);
    const fields = new Map<string, FieldShape>();
    for (const [name, node] of Object.entries(properties)) fields.set(name, fieldShape(spec, file, name, node, required.has(name)));
    out.push({ kind, file, keys: Object.keys(properties), fields });
  }
  return out.sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
}

function requestModels(spec: LoadedSpec, entities: StoredEntity[]): RequestModel[] {
  const out: RequestModel[] = [];
  for (const file of spec.schemas) {
    for (const mode of ['create', 'update'] as const) {
      const kind = file.schema[`x-${mode}-of`];
      if (kind === undefined) continue;
      const entity = entities.find((e) => e.kind === kind);
      if (!entity) throw new SpecError(`${file.relPath}: x-${mode}-of names "${String(kind)}", which no schema has as x-stored-as`);
      const declared = new Map(declaredProperties(file.schema).filter(([, node]) => isObject(node)) as [string, JsonSchema][]);
      const plain: RequestModel['plain'] = [];
      for (const key of entity.keys) {
        const node = declared.get(key);
        if (node === undefined) continue;
        const apply = node['x-apply'];
        if (apply === 'handler') continue;
        if (apply !== undefined && apply !== 'copy') throw new SpecError(`${file.relPath}: ${key} has x-apply "${String(apply)}" (use "handler", or leave it out)`);
        plain.push({ name: key, hasRequestDefault: 'default' in node, requestDefault: node.default });
      }
      out.push({ file, mode, entity, plain });
    }
  }
  return out;
}

const pascal = (kind: string): string => kind.charAt(0).toUpperCase() + kind.slice(1);
const literal = (value: unknown): string => JSON.stringify(value);
const quoteList = (values: readonly string[]): string => `[${values.map(literal).join(', ')}]`;

function enumBlock(spec: LoadedSpec): { lines: string[] } {
  const lines: string[] = ['// Enums (schemas/common/): every value, in schema order.'];
  for (const file of spec.schemas.filter((f) => f.relPath.startsWith('schemas/common/') && Array.isArray(f.schema.enum))) {
    const values = (file.schema.enum as unknown[]).map(String);
    lines.push(`/** ${file.title} values (${file.relPath}). */`);
    lines.push(`export const ${file.title}Values = ${quoteList(values)} as const;`);
    const groups = file.schema['x-value-groups'];
    if (groups === undefined) continue;
    if (!isObject(groups)) throw new SpecError(`${file.relPath}: x-value-groups must map a group name to a list of values`);
    lines.push(`/** Named subsets of ${file.title} (x-value-groups). */`);
    lines.push(`export const ${file.title}Groups = {`);
    for (const [group, members] of Object.entries(groups)) {
      if (!Array.isArray(members) || members.some((m) => !values.includes(String(m)))) {
        throw new SpecError(`${file.relPath}: x-value-groups.${group} must list values of the enum`);
      }
      lines.push(`  ${group}: ${quoteList(members.map(String))},`);
    }
    lines.push('} as const;');
  }
  return { lines };
}

function shapeLiteral(shape: FieldShape): string {
  const parts = [`types: ${quoteList(shape.types)}`, `required: ${shape.required}`];
  if (shape.enum) parts.push(`enum: ${quoteList(shape.enum)}`);
  if ('const' in shape) parts.push(`const: ${literal(shape.const)}`);
  if (shape.items) parts.push(`items: ${quoteList(shape.items)}`);
  if (shape.default !== undefined) parts.push(`default: ${literal(shape.default)}`);
  return `{ ${parts.join(', ')} }`;
}

function entityBlock(entities: StoredEntity[]): string[] {
  const lines: string[] = [
    '// Stored entities (schemas with x-stored-as).',
    '',
    '/** The JSON types a value may have; an empty list admits any value. */',
    "export type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'null';",
    '',
    '/** What the schema says about one key of a stored entity (for the load migrations). */',
    'export interface FieldShape {',
    '  readonly types: readonly JsonType[];',
    '  readonly required: boolean;',
    '  readonly enum?: readonly string[];',
    '  readonly const?: unknown;',
    '  /** element types of an array */',
    '  readonly items?: readonly JsonType[];',
    '  /** the value a missing (or unusable) key gets, at load and on create */',
    '  readonly default?: unknown;',
    '}',
    '',
    '/** The stored entity types by kind. */',
    'export interface StoredEntities {',
    ...entities.map((e) => `  ${e.kind}: ${e.file.title};`),
    '}',
    '',
    '/** The kinds of stored entity, one file each. */',
    'export type StoredKind = keyof StoredEntities;',
    '',
    `export const storedKinds = ${quoteList(entities.map((e) => e.kind))} as const satisfies readonly StoredKind[];`,
    '',
    '/** Every key the running spec knows, per kind, in schema order. */',
    'export const entityKeys = {',
    ...entities.map((e) => `  ${e.kind}: ${quoteList(e.keys)},`),
    '} as const satisfies { [K in StoredKind]: readonly (keyof StoredEntities[K])[] };',
    '',
    '/** The shape of every key, per kind. */',
    'export const entityFields: { readonly [K in StoredKind]: { readonly [P in keyof StoredEntities[K] & string]-?: FieldShape } } = {',
  ];
  for (const e of entities) {
    lines.push(`  ${e.kind}: {`);
    for (const key of e.keys) lines.push(`    ${key}: ${shapeLiteral(e.fields.get(key)!)},`);
    lines.push('  },');
  }
  lines.push('};', '');
  for (const e of entities) {
    const withDefault = e.keys.filter((k) => e.fields.get(k)!.default !== undefined);
    const type = withDefault.length > 0 ? `Pick<${e.file.title}, ${withDefault.map(literal).join(' | ')}>` : 'Record<string, never>';
    lines.push(`/** The schema defaults of ${e.file.title} (fresh objects on every call). */`);
    lines.push(`export function ${e.kind}Defaults(): ${type} {`);
    lines.push('  return {');
    for (const k of withDefault) lines.push(`    ${k}: ${literal(e.fields.get(k)!.default)},`);
    lines.push('  };');
    lines.push('}', '');
  }
  return lines;
}

function createFunction(model: RequestModel): string[] {
  const { entity, file } = model;
  const requestType = file.title;
  const plainNames = new Set(model.plain.map((p) => p.name));
  const keys: string[] = [];
  const body: string[] = [];
  const requestRequired = new Set(Array.isArray(file.schema.required) ? file.schema.required.map(String) : []);
  for (const key of entity.keys) {
    const shape = entity.fields.get(key)!;
    const plain = model.plain.find((p) => p.name === key);
    const fallback = plain?.hasRequestDefault ? plain.requestDefault : shape.default;
    if (plain) {
      keys.push(key);
      if (requestRequired.has(key)) body.push(`    ${key}: body.${key},`);
      else if (fallback !== undefined) body.push(`    ${key}: body.${key} ?? ${literal(fallback)},`);
      else if (!shape.required) body.push(`    ...(body.${key} !== undefined && { ${key}: body.${key} }),`);
      else {
        throw new SpecError(
          `${file.relPath}: ${key} is optional in the request but required in ${entity.file.relPath} and has no default: add a "default" to one of them`,
        );
      }
    } else if (shape.default !== undefined && !plainNames.has(key)) {
      keys.push(key);
      body.push(`    ${key}: ${literal(shape.default)},`);
    }
  }
  const type = keys.length > 0 ? `Pick<${entity.file.title}, ${keys.map(literal).join(' | ')}>` : 'Record<string, never>';
  return [
    `/** ${file.title} → the fields of a new ${entity.file.title} that follow from the schemas (${file.relPath}); the handler adds the rest. */`,
    `export function ${entity.kind}FromCreate(body: ${requestType}): ${type} {`,
    '  return {',
    ...body,
    '  };',
    '}',
    '',
  ];
}

function updateFunction(model: RequestModel): string[] {
  const { entity, file } = model;
  return [
    `/** Copies every plain field present in a ${file.title} onto a copy of the ${entity.file.title} (${file.relPath}). */`,
    `export function ${entity.kind}WithUpdate(current: ${entity.file.title}, body: ${file.title}): ${entity.file.title} {`,
    '  const next = { ...current };',
    ...model.plain.map((p) => `  if (body.${p.name} !== undefined) next.${p.name} = body.${p.name};`),
    '  return next;',
    '}',
    '',
  ];
}

/** Every titled object schema of schemas/requests/ (nested ones too) with the `default`s of its properties. */
function requestDefaultsBlock(spec: LoadedSpec): string[] {
  const entries: [string, [string, unknown][]][] = [];
  for (const file of spec.schemas.filter((f) => f.relPath.startsWith('schemas/requests/'))) {
    forEachSchema(file.schema, (node) => {
      if (typeof node.title !== 'string') return;
      const defaults = declaredProperties(node)
        .filter(([, sub]) => isObject(sub) && 'default' in sub)
        .map(([name, sub]) => [name, (sub as JsonSchema).default] as [string, unknown]);
      if (defaults.length > 0 && !entries.some(([t]) => t === node.title)) entries.push([node.title, defaults]);
    });
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    '/** The `default` of every request property that has one, by request schema title (the value an absent field means). */',
    'export const requestDefaults = {',
    ...entries.map(([title, defaults]) => `  ${title}: { ${defaults.map(([k, v]) => `${k}: ${literal(v)}`).join(', ')} },`),
    '} as const;',
    '',
  ];
}

export function emitModel(spec: LoadedSpec, out: Output): void {
  const entities = storedEntities(spec);
  const requests = requestModels(spec, entities);
  const enums = enumBlock(spec);
  const typeNames = [...new Set([...entities.map((e) => e.file.title), ...requests.map((r) => r.file.title)])].sort();
  // Every schema is a source: the entities and requests reference the common ones.
  const sources = spec.schemas;
  const lines = [
    `import type { ${typeNames.join(', ')} } from '../types/index.js';`,
    '',
    ...enums.lines,
    '',
    ...entityBlock(entities),
    ...requestDefaultsBlock(spec),
    '// Create and update requests (x-create-of / x-update-of): their plain fields.',
    '',
  ];
  for (const model of requests) lines.push(...(model.mode === 'create' ? createFunction(model) : updateFunction(model)));
  out.add('model/index.ts', sources, lines.join('\n'));
}
