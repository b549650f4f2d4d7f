/** Reading spec/openapi.yaml and the schema files for the tests of test/openapi/. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const specFile = path.join(repoRoot, 'spec', 'openapi.yaml');
export const specDir = path.dirname(specFile);
export const schemasDir = path.join(repoRoot, 'schemas');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface Operation {
  method: string;
  path: string;
  op: JsonObject;
}

export function loadSpec(): JsonObject {
  return parseYaml(readFileSync(specFile, 'utf8')) as JsonObject;
}

function allOperations(doc: JsonObject): Operation[] {
  const out: Operation[] = [];
  for (const [p, item] of Object.entries(doc.paths as JsonObject)) {
    for (const [method, op] of Object.entries(item as JsonObject)) {
      if ((HTTP_METHODS as readonly string[]).includes(method)) out.push({ method, path: p, op: op as JsonObject });
    }
  }
  return out;
}

/** The API operations: every operation but the static file routes (`x-static: true`, docs/spec-conventions.md §3). */
export function operations(doc: JsonObject): Operation[] {
  return allOperations(doc).filter((o) => o.op['x-static'] !== true);
}

/** The static file routes (`x-static: true`: /docs, /ui; docs/behaviour.md §14.3). */
export function staticOperations(doc: JsonObject): Operation[] {
  return allOperations(doc).filter((o) => o.op['x-static'] === true);
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Resolves a local JSON pointer (`#/components/...`) inside `doc`. */
export function resolvePointer(doc: Json, pointer: string): Json | undefined {
  if (pointer === '' || pointer === '#') return doc;
  if (!pointer.startsWith('#/')) throw new Error(`not a local pointer: ${pointer}`);
  let node: Json | undefined = doc;
  for (const raw of pointer.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node)) node = node[key];
    else return undefined;
  }
  return node;
}

/** Follows a local `$ref` object (responses, parameters) to its target in the OpenAPI document. */
export function deref(doc: JsonObject, node: Json): JsonObject {
  let current = node;
  for (let i = 0; i < 10 && isObject(current) && typeof current.$ref === 'string' && current.$ref.startsWith('#'); i++) {
    current = resolvePointer(doc, current.$ref) ?? null;
  }
  if (!isObject(current)) throw new Error(`unresolvable reference ${JSON.stringify(node)}`);
  return current;
}

/** Every `$ref` value found anywhere in `node`, with the JSON path where it sits. */
export function collectRefs(node: Json, at = '#'): Array<{ at: string; ref: string }> {
  const out: Array<{ at: string; ref: string }> = [];
  const walk = (n: Json, where: string): void => {
    if (Array.isArray(n)) n.forEach((v, i) => walk(v, `${where}/${i}`));
    else if (isObject(n)) {
      for (const [k, v] of Object.entries(n)) {
        // Example values are data, not schema: a "$ref" key inside one is not a reference.
        if (k === 'value' && where.includes('/examples/')) continue;
        if (k === '$ref' && typeof v === 'string') out.push({ at: where, ref: v });
        else walk(v, `${where}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      }
    }
  };
  walk(node, at);
  return out;
}

/** All schema files below schemas/, parsed, keyed by absolute path. */
export function loadSchemaFiles(): Map<string, JsonObject> {
  const files = new Map<string, JsonObject>();
  if (!existsSync(schemasDir)) return files;
  for (const entry of readdirSync(schemasDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
    const file = path.join(entry.parentPath, entry.name);
    files.set(file, JSON.parse(readFileSync(file, 'utf8')) as JsonObject);
  }
  return files;
}

/** Example values (`examples.*.value`) of a media type object. */
export function exampleValues(media: JsonObject | undefined): Array<{ name: string; value: Json }> {
  if (!media || !isObject(media.examples)) return [];
  return Object.entries(media.examples).map(([name, ex]) => ({ name, value: isObject(ex) ? (ex.value ?? null) : null }));
}
