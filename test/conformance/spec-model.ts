/**
 * The spec documents as the conformance suite sees them, read at test time: spec/openapi.yaml,
 * spec/asyncapi.yaml and every file of schemas/ registered under its `$id` (https://maestro.local/schemas/…,
 * mapped to the local file; nothing is fetched). Validation is Ajv 2020 + ajv-formats compiled here, in the
 * test, so that a bug in codegen or in generated/ cannot hide itself (docs/conformance.md).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCHEMA_BASE = 'https://maestro.local/schemas/';
/** Base URI of spec/*.yaml: `../schemas/x.json` relative to it is exactly the `$id` of schemas/x.json. */
const SPEC_BASE = 'https://maestro.local/spec/';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ResponseSpec {
  status: string;
  schema: Json | undefined;
  /** Error codes this response documents (`code.enum` of its narrowed ErrorResponse), if any. */
  codes: string[] | undefined;
  examples: Array<{ name: string; value: Json }>;
  headers: JsonObject;
  /** the documented media types (`application/json`; the static routes' `text/html`, `application/yaml`, …) */
  contentTypes: string[];
}

export interface OperationSpec {
  operationId: string;
  method: string;
  path: string;
  emits: string[];
  emitsNote: string | undefined;
  validateAfterLookup: boolean;
  requestSchema: Json | undefined;
  requestRef: string | undefined;
  requestExamples: Array<{ name: string; value: Json }>;
  params: Array<{ name: string; in: string; schema: Json }>;
  responses: Map<string, ResponseSpec>;
}

export interface SpecModel {
  openapi: JsonObject;
  asyncapi: JsonObject;
  /** The API operations: every operation but the static file routes. */
  operations: OperationSpec[];
  /** The static file routes (`x-static: true`: /docs, /ui; docs/behaviour.md §14.3), checked by static-routes.ts. */
  staticOperations: OperationSpec[];
  /** Both kinds. */
  byId: Map<string, OperationSpec>;
  /** Event name → validator of the whole envelope (AsyncAPI message payload). */
  eventValidators: Map<string, ValidateFunction>;
  pongValidator: ValidateFunction;
  ajv: Ajv2020;
  /** Validator for the response body of (operation, status). */
  responseValidator(operationId: string, status: string): ValidateFunction | undefined;
  /** Validator of an operation's request body schema (as documented, before any null stripping). */
  requestValidator(operationId: string): ValidateFunction | undefined;
  /** The parsed request schema file of an operation (to read properties, required, x-* keywords). */
  requestSchemaFile(operationId: string): JsonObject | undefined;
  schemaFile(id: string): JsonObject;
}

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv2020) => Ajv2020;

function loadSchemaFiles(): JsonObject[] {
  const dir = path.join(repoRoot, 'schemas');
  const out: JsonObject[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const schema = JSON.parse(readFileSync(file, 'utf8')) as JsonObject;
    const rel = path.relative(dir, file).split(path.sep).join('/');
    // The $id must be the file's own location: that is what makes `$id` → local file mapping sound.
    if (schema.$id !== SCHEMA_BASE + rel) throw new Error(`schemas/${rel}: $id ${String(schema.$id)} is not ${SCHEMA_BASE + rel}`);
    out.push(schema);
  }
  return out;
}

function collectXKeywords(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) node.forEach((n) => collectXKeywords(n, into));
  else if (isObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k.startsWith('x-')) into.add(k);
      else collectXKeywords(v, into);
    }
  }
}

function resolvePointer(doc: Json, pointer: string): Json {
  let node: Json | undefined = doc;
  for (const raw of pointer.replace(/^#\//, '').split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = Array.isArray(node) ? node[Number(key)] : isObject(node) ? node[key] : undefined;
  }
  if (node === undefined) throw new Error(`unresolvable pointer ${pointer}`);
  return node;
}

function deref(doc: JsonObject, node: Json): JsonObject {
  let cur = node;
  while (isObject(cur) && typeof cur.$ref === 'string' && cur.$ref.startsWith('#')) cur = resolvePointer(doc, cur.$ref);
  if (!isObject(cur)) throw new Error(`bad reference ${JSON.stringify(node)}`);
  return cur;
}

function examplesOf(media: JsonObject | undefined): Array<{ name: string; value: Json }> {
  if (!media || !isObject(media.examples)) return [];
  return Object.entries(media.examples).map(([name, ex]) => ({ name, value: isObject(ex) ? (ex.value as Json) : null }));
}

let cached: SpecModel | undefined;

export function loadSpecModel(): SpecModel {
  if (cached) return cached;
  const openapi = parseYaml(readFileSync(path.join(repoRoot, 'spec', 'openapi.yaml'), 'utf8')) as JsonObject;
  const asyncapi = parseYaml(readFileSync(path.join(repoRoot, 'spec', 'asyncapi.yaml'), 'utf8')) as JsonObject;
  const files = loadSchemaFiles();
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTypes: false, logger: false });
  addFormats(ajv);
  const xKeywords = new Set<string>();
  collectXKeywords(files, xKeywords);
  collectXKeywords(openapi.paths, xKeywords);
  for (const k of xKeywords) ajv.addKeyword({ keyword: k });
  // Informational OpenAPI keywords that may appear inside schema objects of the spec.
  if (!ajv.getKeyword('example')) ajv.addKeyword({ keyword: 'example' });
  for (const f of files) ajv.addSchema(f);
  const fileById = new Map(files.map((f) => [String(f.$id), f]));

  let n = 0;
  const compileInline = (schema: Json, doc: string): ValidateFunction => {
    // An inline spec schema gets an $id under SPEC_BASE so its relative $refs resolve to schema $ids.
    const id = `${SPEC_BASE}${doc}-inline-${n++}.json`;
    return ajv.compile({ ...(schema as JsonObject), $id: id });
  };

  const operations: OperationSpec[] = [];
  const staticOperations: OperationSpec[] = [];
  const responseValidators = new Map<string, ValidateFunction>();
  const requestValidators = new Map<string, ValidateFunction>();
  const requestFiles = new Map<string, JsonObject>();
  for (const [p, item] of Object.entries(openapi.paths as JsonObject)) {
    for (const [method, raw] of Object.entries(item as JsonObject)) {
      if (!['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'].includes(method)) continue;
      const op = raw as JsonObject;
      const operationId = String(op.operationId);
      const responses = new Map<string, ResponseSpec>();
      for (const [status, r] of Object.entries(op.responses as JsonObject)) {
        const resp = deref(openapi, r);
        const media = isObject(resp.content) ? (resp.content['application/json'] as JsonObject | undefined) : undefined;
        const schema = media?.schema;
        let codes: string[] | undefined;
        if (isObject(schema) && Array.isArray(schema.allOf)) {
          for (const part of schema.allOf) {
            const e = isObject(part) && isObject(part.properties) && isObject(part.properties.code) ? part.properties.code.enum : undefined;
            if (Array.isArray(e)) codes = e.map(String);
          }
        }
        const contentTypes = isObject(resp.content) ? Object.keys(resp.content) : [];
        responses.set(status, { status, schema, codes, examples: examplesOf(media), headers: isObject(resp.headers) ? resp.headers : {}, contentTypes });
        if (schema !== undefined) responseValidators.set(`${operationId} ${status}`, compileInline(schema, `openapi-${operationId}-${status}`));
      }
      let requestSchema: Json | undefined;
      let requestRef: string | undefined;
      let requestExamples: Array<{ name: string; value: Json }> = [];
      if (op.requestBody) {
        const rb = deref(openapi, op.requestBody);
        const media = (rb.content as JsonObject)['application/json'] as JsonObject;
        requestSchema = media.schema;
        requestExamples = examplesOf(media);
        requestValidators.set(operationId, compileInline(requestSchema, `openapi-${operationId}-request`));
        if (isObject(requestSchema) && typeof requestSchema.$ref === 'string') {
          requestRef = new URL(requestSchema.$ref, SPEC_BASE).href;
          requestFiles.set(operationId, fileById.get(requestRef)!);
        }
      }
      const params = ((op.parameters as Json[] | undefined) ?? []).map((x) => {
        const prm = deref(openapi, x);
        return { name: String(prm.name), in: String(prm.in), schema: prm.schema ?? {} };
      });
      (op['x-static'] === true ? staticOperations : operations).push({
        operationId,
        method: method.toUpperCase(),
        path: p,
        emits: ((op['x-emits'] as Json[] | undefined) ?? []).map(String),
        emitsNote: op['x-emits-note'] as string | undefined,
        validateAfterLookup: op['x-validate-body'] === 'after-lookup',
        requestSchema,
        requestRef,
        requestExamples,
        params,
        responses,
      });
    }
  }

  // AsyncAPI: one validator per broadcast message, keyed by the event name.
  const eventValidators = new Map<string, ValidateFunction>();
  let pongValidator: ValidateFunction | undefined;
  const messages = ((asyncapi.components as JsonObject).messages ?? {}) as JsonObject;
  const receive = ((asyncapi.operations as JsonObject).receiveEvents as JsonObject).messages as Json[];
  for (const ref of receive) {
    const key = String((ref as JsonObject).$ref).split('/').pop()!;
    const msg = deref(asyncapi, (((asyncapi.channels as JsonObject).events as JsonObject).messages as JsonObject)[key]!);
    eventValidators.set(String(msg.name), compileInline(msg.payload, `asyncapi-${key}`));
  }
  pongValidator = compileInline((messages.pong as JsonObject).payload, 'asyncapi-pong');

  cached = {
    openapi,
    asyncapi,
    operations,
    staticOperations,
    byId: new Map([...operations, ...staticOperations].map((o) => [o.operationId, o])),
    eventValidators,
    pongValidator,
    ajv,
    responseValidator: (id, status) => responseValidators.get(`${id} ${status}`),
    requestValidator: (id) => requestValidators.get(id),
    requestSchemaFile: (id) => requestFiles.get(id),
    schemaFile: (id) => {
      const f = fileById.get(id.startsWith('http') ? id : SCHEMA_BASE + id);
      if (!f) throw new Error(`no schema ${id}`);
      return f;
    },
  };
  return cached;
}

/** Ajv errors in one readable line. */
export function errorsText(v: ValidateFunction): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`).join('; ');
}
