/**
 * $ref resolution over a spec tree.
 *
 * - Relative file refs (`../schemas/entities/task.json`, `../common/task-status.json#/$defs/x`) resolve against
 *   the referring file's `$id` when it has one (JSON Schema) and against its path otherwise; a root `$id` of any
 *   schema file can also be referenced by its absolute URI.
 * - Fragments are JSON pointers (`#/components/schemas/Task`, `#/$defs/x`, with ~0 ~1 and %-escapes) or
 *   `$anchor` names.
 * - `deref` follows a chain of Reference Objects (OpenAPI/AsyncAPI objects) and merges sibling keys.
 * - `schema` returns a normalised, fully inlined copy of a schema: `$ref` + siblings and `allOf` are merged,
 *   `type` is a sorted array (`nullable: true` adds "null"), `const` becomes a one-value `enum`. A `$ref` that
 *   re-enters a schema already being expanded becomes `{ $circular: "<file>#<pointer>" }`, so cycles terminate.
 */
import { LoadError, type SpecTree } from './types.js';

export interface Ctx {
  file: string;
  base: string;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Schema = { [key: string]: any };

const FILE_SCHEME = 'file:///';

export function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deterministic JSON (sorted keys) for comparing values. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function decodePointer(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return pointer === '/' ? [''] : [];
  if (!pointer.startsWith('/')) throw new LoadError(`not a JSON pointer: #${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function findAnchor(node: unknown, anchor: string, path: string[]): string[] | null {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const found = findAnchor(node[i], anchor, [...path, String(i)]);
      if (found) return found;
    }
  } else if (isObject(node)) {
    if (node.$anchor === anchor) return path;
    for (const key of Object.keys(node)) {
      if (key === 'enum' || key === 'const' || key === 'examples' || key === 'example' || key === 'default') continue;
      const found = findAnchor(node[key], anchor, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions']);
const SCHEMA_VALUES = new Set([
  'items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
  'unevaluatedProperties', 'unevaluatedItems', 'additionalItems',
]);
const SCHEMA_ARRAYS = new Set(['prefixItems', 'anyOf', 'oneOf', 'allOf']);
const DROPPED = new Set(['$schema', '$id', '$defs', 'definitions', '$comment', '$anchor', '$dynamicAnchor']);
const UPPER = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties', 'maxContains'];
const LOWER = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties', 'minContains'];

function intersectTypes(a: string[], b: string[]): string[] {
  const out = new Set<string>();
  for (const t of a) {
    if (b.includes(t)) out.add(t);
    else if (t === 'integer' && b.includes('number')) out.add('integer');
  }
  for (const t of b) if (t === 'integer' && a.includes('number')) out.add('integer');
  return [...out].sort();
}

/** allOf semantics, approximated keyword by keyword (enough to compare two versions of a spec). */
export function mergeSchemas(a: Schema, b: Schema): Schema {
  const out: Schema = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    if (prev === undefined) {
      out[key] = value;
      continue;
    }
    if (key === 'type') out.type = intersectTypes(prev, value);
    else if (key === 'enum') {
      const keep = new Set(value.map(canonical));
      out.enum = prev.filter((v: unknown) => keep.has(canonical(v)));
    } else if (key === 'required') out.required = [...new Set([...prev, ...value])].sort();
    else if (key === 'properties' || key === 'patternProperties') {
      const merged: Schema = { ...prev };
      for (const [name, schema] of Object.entries(value as Schema)) {
        merged[name] = merged[name] === undefined ? schema : mergeSchemas(merged[name], schema as Schema);
      }
      out[key] = merged;
    } else if (key === 'additionalProperties') {
      if (prev === false || value === false) out[key] = false;
      else if (prev === true) out[key] = value;
      else if (value !== true) out[key] = mergeSchemas(prev, value);
    } else if (key === 'items' && isObject(prev) && isObject(value)) out.items = mergeSchemas(prev, value);
    else if (UPPER.includes(key)) out[key] = Math.min(prev, value);
    else if (LOWER.includes(key)) out[key] = Math.max(prev, value);
    else out[key] = value;
  }
  return out;
}

export class Resolver {
  private readonly ids = new Map<string, string>();

  constructor(readonly tree: SpecTree) {
    for (const [path, doc] of tree.files) {
      if (isObject(doc) && typeof doc.$id === 'string') {
        try {
          this.ids.set(new URL(doc.$id).href.replace(/#.*$/, ''), path);
        } catch {
          // a relative or malformed $id: the file is still reachable by its path
        }
      }
    }
  }

  has(file: string): boolean {
    return this.tree.files.has(file);
  }

  /** The context for the root of a file: its $id is the base URI when it has one. */
  ctxFor(file: string): Ctx {
    const doc = this.tree.files.get(file);
    let base = FILE_SCHEME + file;
    if (isObject(doc) && typeof doc.$id === 'string') {
      try {
        base = new URL(doc.$id).href;
      } catch {
        // keep the file URI
      }
    }
    return { file, base };
  }

  root(file: string): unknown {
    return this.tree.files.get(file);
  }

  /** Locates `ref` as seen from `ctx`: the target file and the JSON pointer segments. */
  locate(ref: string, ctx: Ctx): { file: string; segments: string[]; key: string } {
    const candidates: string[] = [];
    for (const base of [ctx.base, FILE_SCHEME + ctx.file]) {
      let url: URL;
      try {
        url = new URL(ref, base);
      } catch {
        continue;
      }
      const fragment = decodeURIComponent(url.hash.replace(/^#/, ''));
      url.hash = '';
      const href = url.href;
      let file = this.ids.get(href);
      if (!file && href.startsWith(FILE_SCHEME)) file = decodeURIComponent(href.slice(FILE_SCHEME.length));
      if (file && this.tree.files.has(file)) {
        let segments: string[];
        if (fragment === '' || fragment.startsWith('/')) segments = decodePointer(fragment);
        else {
          const found = findAnchor(this.tree.files.get(file), fragment, []);
          if (!found) throw new LoadError(`${ctx.file}: $ref ${ref}: no $anchor "${fragment}" in ${file}`);
          segments = found;
        }
        return { file, segments, key: `${file}#/${segments.join('/')}` };
      }
      if (file) candidates.push(file);
    }
    throw new LoadError(
      `${ctx.file}: cannot resolve $ref "${ref}"${candidates.length ? ` (no file ${candidates[0]} in ${this.tree.label})` : ''}`,
    );
  }

  private fetch(file: string, segments: string[], ref: string, from: Ctx): unknown {
    let node: unknown = this.tree.files.get(file);
    for (const segment of segments) {
      if (Array.isArray(node) && /^\d+$/.test(segment)) node = node[Number(segment)];
      else if (isObject(node) && segment in node) node = node[segment];
      else throw new LoadError(`${from.file}: $ref "${ref}" points to nothing in ${file}`);
    }
    return node;
  }

  /** Resolves every $ref of every file once, so a broken ref is a load error even where nothing is compared. */
  checkAll(): void {
    const visit = (node: unknown, ctx: Ctx): void => {
      if (Array.isArray(node)) node.forEach((item) => visit(item, ctx));
      else if (isObject(node)) {
        if (typeof node.$ref === 'string') {
          const target = this.locate(node.$ref, ctx);
          this.fetch(target.file, target.segments, node.$ref, ctx);
        }
        for (const [key, value] of Object.entries(node)) {
          if (key === 'enum' || key === 'const' || key === 'default' || key === 'example') continue;
          if (key === 'examples' && Array.isArray(value)) continue; // JSON Schema examples are values
          visit(value, ctx);
        }
      }
    };
    for (const file of this.tree.files.keys()) visit(this.tree.files.get(file), this.ctxFor(file));
  }

  /** Follows Reference Objects until a non-reference; sibling keys of a reference override the target's. */
  deref(node: unknown, ctx: Ctx): { node: unknown; ctx: Ctx } {
    const seen = new Set<string>();
    let siblings: Record<string, unknown> = {};
    while (isObject(node) && typeof node.$ref === 'string') {
      const { $ref, ...rest } = node;
      siblings = { ...rest, ...siblings };
      const target = this.locate($ref, ctx);
      if (seen.has(target.key)) throw new LoadError(`${ctx.file}: $ref cycle through ${target.key}`);
      seen.add(target.key);
      node = this.fetch(target.file, target.segments, $ref, ctx);
      ctx = { ...this.ctxFor(target.file) };
    }
    if (Object.keys(siblings).length > 0 && isObject(node)) node = { ...node, ...siblings };
    return { node, ctx };
  }

  /** A normalised, inlined copy of the schema `node` (see the module comment). */
  schema(node: unknown, ctx: Ctx, stack: string[] = []): Schema {
    if (node === undefined || node === true) return {};
    if (node === false) return { not: {} };
    if (!isObject(node)) return {};
    let result: Schema | null = null;
    if (typeof node.$ref === 'string') {
      const target = this.locate(node.$ref, ctx);
      if (stack.includes(target.key)) result = { $circular: target.key };
      else {
        const targetNode = this.fetch(target.file, target.segments, node.$ref, ctx);
        result = this.schema(targetNode, this.ctxFor(target.file), [...stack, target.key]);
      }
    }
    const local: Schema = {};
    let allOf: Schema[] = [];
    let nullable = false;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' || DROPPED.has(key)) continue;
      if (key === 'nullable') nullable = value === true;
      else if (key === 'type') local.type = [...new Set(Array.isArray(value) ? value : [value])].sort();
      else if (key === 'const') local.enum = [value];
      else if (key === 'required' && Array.isArray(value)) local.required = [...new Set(value)].sort();
      else if (key === 'allOf' && Array.isArray(value)) allOf = value.map((v) => this.schema(v, ctx, stack));
      else if (SCHEMA_MAPS.has(key) && isObject(value)) {
        const map: Schema = {};
        for (const [name, sub] of Object.entries(value)) map[name] = this.schema(sub, ctx, stack);
        local[key] = map;
      } else if (SCHEMA_VALUES.has(key)) {
        local[key] = key === 'additionalProperties' && typeof value === 'boolean' ? value : this.schema(value, ctx, stack);
      } else if (SCHEMA_ARRAYS.has(key) && Array.isArray(value)) local[key] = value.map((v) => this.schema(v, ctx, stack));
      else local[key] = structuredClone(value);
    }
    if (nullable && local.type && !local.type.includes('null')) local.type = [...local.type, 'null'].sort();
    let merged = result ? mergeSchemas(result, local) : local;
    for (const part of allOf) merged = mergeSchemas(merged, part);
    return merged;
  }
}
