/**
 * Schema helpers shared by the emitters: walking JSON Schema 2020-12 documents, following `$ref`s between
 * schema files, and the facts the router needs at codegen time (does a property allow null? how is its
 * type described in an error message? what TypeScript type names an OpenAPI schema?).
 */
import { type JsonSchema, type LoadedSpec, type SchemaFile, SpecError, derefLocal, refToSchemaPath } from './load-spec.js';

const SCHEMA_MAP_KEYS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'] as const;
const SCHEMA_KEYS = [
  'additionalProperties', 'items', 'contains', 'not', 'if', 'then', 'else', 'propertyNames',
  'unevaluatedProperties', 'unevaluatedItems', 'contentSchema',
] as const;
const SCHEMA_ARRAY_KEYS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Returns a deep copy of `schema` in which `visit` has transformed every (sub)schema, innermost first.
 * `depth` is 0 for the root.
 */
export function mapSchema(schema: unknown, visit: (node: JsonSchema, depth: number) => JsonSchema, depth = 0): unknown {
  if (!isObject(schema)) return schema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if ((SCHEMA_MAP_KEYS as readonly string[]).includes(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapSchema(v, visit, depth + 1)]));
    } else if ((SCHEMA_KEYS as readonly string[]).includes(key)) {
      out[key] = mapSchema(value, visit, depth + 1);
    } else if ((SCHEMA_ARRAY_KEYS as readonly string[]).includes(key) && Array.isArray(value)) {
      out[key] = value.map((v) => mapSchema(v, visit, depth + 1));
    } else {
      out[key] = structuredClone(value);
    }
  }
  return visit(out, depth);
}

/** Calls `visit` for every (sub)schema of `schema`. */
export function forEachSchema(schema: unknown, visit: (node: JsonSchema) => void): void {
  mapSchema(schema, (node) => {
    visit(node);
    return node;
  });
}

/** Every keyword starting with `x-` used anywhere in the schema files (Ajv must know them as annotations). */
export function extensionKeywords(spec: LoadedSpec): string[] {
  const found = new Set<string>();
  for (const file of spec.schemas) {
    forEachSchema(file.schema, (node) => {
      for (const key of Object.keys(node)) if (key.startsWith('x-')) found.add(key);
    });
  }
  return [...found].sort();
}

/** The schema files `file` references, directly or transitively (excluding itself), sorted by path. */
export function referencedFiles(spec: LoadedSpec, file: SchemaFile): SchemaFile[] {
  const seen = new Set<string>([file.relPath]);
  const queue = [file];
  while (queue.length > 0) {
    const current = queue.shift()!;
    forEachSchema(current.schema, (node) => {
      if (typeof node.$ref === 'string' && !node.$ref.startsWith('#')) {
        const target = schemaFileForRef(spec, current.relPath, node.$ref);
        if (!seen.has(target.relPath)) {
          seen.add(target.relPath);
          queue.push(target);
        }
      }
    });
  }
  seen.delete(file.relPath);
  return [...seen].sort().map((p) => spec.schemaByPath.get(p)!);
}

/** The schema file a relative `$ref` made from `fromRelPath` points at (no fragment allowed). */
export function schemaFileForRef(spec: LoadedSpec, fromRelPath: string, ref: string): SchemaFile {
  const { file, fragment } = refToSchemaPath(fromRelPath, ref);
  const target = spec.schemaByPath.get(file);
  if (!target) throw new SpecError(`${fromRelPath}: $ref ${ref} points at ${file}, which is not a schema file`);
  if (fragment !== '' && fragment !== '/') {
    throw new SpecError(`${fromRelPath}: $ref ${ref} points inside a file; reference whole schema files (spec-conventions §1)`);
  }
  return target;
}

export interface Located {
  node: unknown;
  /** the file the node lives in (for resolving its relative refs) */
  from: string;
  /** document used for local (`#/...`) refs */
  doc: unknown;
}

/** Follows `$ref`s (local and to schema files) until a schema without `$ref` siblings-only; returns the node. */
export function follow(spec: LoadedSpec, loc: Located): Located {
  let current = loc;
  for (let i = 0; i < 64; i++) {
    const node = current.node;
    if (!isObject(node) || typeof node.$ref !== 'string') return current;
    const ref = node.$ref;
    if (ref.startsWith('#')) {
      current = { node: derefLocal(current.doc, node), from: current.from, doc: current.doc };
    } else {
      const target = schemaFileForRef(spec, current.from, ref);
      current = { node: target.schema, from: target.relPath, doc: target.schema };
    }
  }
  throw new SpecError(`reference cycle near ${loc.from}`);
}

/** Whether `null` passes the schema (spec-conventions §2 rule 2), decided at codegen time. */
export function allowsNull(spec: LoadedSpec, node: unknown, from: string, doc: unknown): boolean {
  if (node === true || node === undefined) return true;
  if (node === false || !isObject(node)) return false;
  if (typeof node.$ref === 'string') {
    const target = follow(spec, { node: { $ref: node.$ref }, from, doc });
    if (!allowsNull(spec, target.node, target.from, target.doc)) return false;
  }
  if ('type' in node) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (!types.includes('null')) return false;
  }
  if (Array.isArray(node.enum) && !node.enum.includes(null)) return false;
  if ('const' in node && node.const !== null) return false;
  if (Array.isArray(node.allOf) && !node.allOf.every((s) => allowsNull(spec, s, from, doc))) return false;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = node[key];
    if (Array.isArray(branches) && !branches.some((s) => allowsNull(spec, s, from, doc))) return false;
  }
  return true;
}

/**
 * For a property whose schema is an array of objects with declared properties: the item properties whose schema
 * does not allow null (a null there is "absent", docs/behaviour.md §0.5). Undefined for anything else.
 */
export function itemPropertiesNotAllowingNull(spec: LoadedSpec, node: unknown, from: string, doc: unknown): string[] | undefined {
  const loc = follow(spec, { node, from, doc });
  const schema = loc.node;
  if (!isObject(schema) || schema.type !== 'array' || !isObject(schema.items)) return undefined;
  const items = follow(spec, { node: schema.items, from: loc.from, doc: loc.doc });
  if (!isObject(items.node)) return undefined;
  const names = declaredProperties(items.node)
    .filter(([, sub]) => !allowsNull(spec, sub, items.from, items.doc))
    .map(([name]) => name);
  return names.length > 0 ? names : undefined;
}

const ARTICLE_TYPES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/** The "must be …" wording (docs/behaviour.md §3.4) for a wrong-type value of the given schema, e.g. "an array of strings". */
export function describeType(spec: LoadedSpec, node: unknown, from: string, doc: unknown): string | undefined {
  const loc = follow(spec, { node, from, doc });
  const schema = loc.node;
  if (!isObject(schema)) return undefined;
  const types = (Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type]).filter(
    (t): t is string => typeof t === 'string' && t !== 'null',
  );
  if (types.length === 1) {
    const type = types[0];
    if (type === 'array') {
      const items = describeType(spec, schema.items, loc.from, loc.doc);
      return items && items.startsWith('a') && !items.startsWith('an array') ? `an array of ${plural(items)}` : 'an array';
    }
    if (type === 'string' && schema.pattern === '\\S') return 'a non-empty string';
    return ARTICLE_TYPES[type];
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches)) {
      const described = branches
        .filter((b) => !(isObject(b) && b.type === 'null'))
        .map((b) => describeType(spec, b, loc.from, loc.doc))
        .filter((d): d is string => d !== undefined);
      if (described.length > 0) return described[0];
    }
  }
  return undefined;
}

function plural(described: string): string {
  // "a string" → "strings", "a non-empty string" → "non-empty strings", "an object" → "objects"
  return `${described.replace(/^an? /, '')}s`;
}

/** Collects TypeScript type names referenced by an emitted type expression. */
export class TypeImports {
  readonly names = new Set<string>();
  use(name: string): string {
    this.names.add(name);
    return name;
  }
  sorted(): string[] {
    return [...this.names].sort();
  }
}

/**
 * A TypeScript type expression naming the generated schema types for an OpenAPI schema object
 * (`$ref` to a schema file → its title; arrays of those → `Title[]`), or undefined when the schema is
 * inline (the caller then falls back to the openapi-typescript types).
 */
export function namedTsType(spec: LoadedSpec, node: unknown, from: string, doc: unknown, imports: TypeImports): string | undefined {
  if (!isObject(node)) return undefined;
  if (typeof node.$ref === 'string') {
    if (node.$ref.startsWith('#')) return namedTsType(spec, derefLocal(doc, node), from, doc, imports);
    const target = schemaFileForRef(spec, from, node.$ref);
    return imports.use(target.title);
  }
  if (node.type === 'array' && node.items !== undefined) {
    const inner = namedTsType(spec, node.items, from, doc, imports);
    return inner === undefined ? undefined : `${inner}[]`;
  }
  if (Array.isArray(node.allOf) && node.allOf.length === 1 && Object.keys(node).every((k) => ['allOf', 'description'].includes(k))) {
    return namedTsType(spec, node.allOf[0], from, doc, imports);
  }
  return undefined;
}

/**
 * The top-level properties a request schema declares, in order: its own `properties` first, then those
 * declared only inside `then` / `else` / `allOf` / `anyOf` / `oneOf` branches (E9 declares the user-sourced
 * fields in `else`). The first declaration of a name wins.
 */
export function declaredProperties(schema: unknown, branches: readonly string[] = ['allOf', 'anyOf', 'oneOf', 'then', 'else']): [string, unknown][] {
  const out = new Map<string, unknown>();
  const visit = (node: unknown, depth: number): void => {
    if (!isObject(node) || depth > 8) return;
    if (isObject(node.properties)) for (const [k, v] of Object.entries(node.properties)) if (!out.has(k)) out.set(k, v);
    for (const key of branches) {
      const value = node[key];
      if (Array.isArray(value)) for (const b of value) visit(b, depth + 1);
      else visit(value, depth + 1);
    }
  };
  visit(schema, 0);
  return [...out.entries()];
}
