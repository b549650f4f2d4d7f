/**
 * Test kit for schemas/: loads every schema file into one Ajv 2020 instance (strict mode, all errors,
 * ajv-formats) and picks "the" error of a request the way docs/spec-conventions.md §2 describes, so the tests
 * can check that each request schema yields docs/behaviour.md's field, code and message.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const schemasDir = path.join(repoRoot, 'schemas');
export const ID_BASE = 'https://maestro.local/schemas/';
export const X_KEYWORDS = ['x-validation-order', 'x-error-codes', 'x-error-messages'] as const;
/**
 * The keywords generated/model reads (docs/spec-conventions.md): where each may appear, as a test on the schema
 * file and the JSON pointer of the node.
 */
export const MODEL_KEYWORDS: Record<string, (rel: string, pointer: string) => boolean> = {
  'x-stored-as': (rel, pointer) => rel.startsWith('entities/') && pointer === '',
  'x-create-of': (rel, pointer) => rel.startsWith('requests/') && pointer === '',
  'x-update-of': (rel, pointer) => rel.startsWith('requests/') && pointer === '',
  'x-apply': (rel, pointer) => rel.startsWith('requests/') && /^(\/else)?\/properties\/[^/]+$/.test(pointer),
  'x-value-groups': (rel, pointer) => rel.startsWith('common/') && pointer === '',
};

export interface SchemaFile {
  /** `folder/file.json`, relative to schemas/ */
  rel: string;
  schema: Record<string, any>;
}

export function loadSchemaFiles(): SchemaFile[] {
  const out: SchemaFile[] = [];
  for (const folder of readdirSync(schemasDir).sort()) {
    for (const file of readdirSync(path.join(schemasDir, folder)).sort()) {
      if (!file.endsWith('.json')) continue;
      const rel = `${folder}/${file}`;
      out.push({ rel, schema: JSON.parse(readFileSync(path.join(schemasDir, rel), 'utf8')) });
    }
  }
  return out;
}

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext resolution.
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

export function createAjv(files: SchemaFile[] = loadSchemaFiles()): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'x-validation-order', schemaType: 'array' });
  ajv.addKeyword({ keyword: 'x-error-codes', schemaType: 'object' });
  ajv.addKeyword({ keyword: 'x-error-messages', schemaType: 'object' });
  ajv.addKeyword({ keyword: 'x-stored-as', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-create-of', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-update-of', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-apply', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-value-groups', schemaType: 'object' });
  for (const f of files) ajv.addSchema(f.schema);
  return ajv;
}

let shared: { ajv: Ajv2020; files: SchemaFile[] } | undefined;
function kit() {
  if (!shared) {
    const files = loadSchemaFiles();
    shared = { ajv: createAjv(files), files };
  }
  return shared;
}

export function validator(rel: string): ValidateFunction {
  const v = kit().ajv.getSchema(ID_BASE + rel);
  if (!v) throw new Error(`no schema ${rel}`);
  return v;
}

export function schemaOf(rel: string): Record<string, any> {
  const f = kit().files.find((x) => x.rel === rel);
  if (!f) throw new Error(`no schema file ${rel}`);
  return f.schema;
}

/** True when `value` is valid against the schema file `rel`. */
export function isValid(rel: string, value: unknown): boolean {
  return validator(rel)(value) as boolean;
}

export interface PickedError {
  field: string;
  keyword: string;
  code: string;
  message: string;
}

function fieldOf(e: ErrorObject): string | undefined {
  // A nested error belongs to its top-level field (events[0].type → "events").
  const first = e.instancePath.split('/')[1];
  if (first !== undefined && first !== '') return first.replace(/~1/g, '/').replace(/~0/g, '~');
  if (e.keyword === 'required') return (e.params as { missingProperty: string }).missingProperty;
  return undefined;
}

/**
 * Reference reading of docs/spec-conventions.md §2: strip nulls the schema does not allow at the top level,
 * validate, then pick the error whose `x-validation-order` entry comes first (`field/keyword` before `field`),
 * and resolve its code and message from `x-error-codes` / `x-error-messages`.
 */
export function firstError(rel: string, body: Record<string, unknown>): PickedError | null {
  const schema = schemaOf(rel);
  const stripped = stripNulls(schema, body);
  const validate = validator(rel);
  if (validate(stripped)) return null;
  const order: string[] = schema['x-validation-order'] ?? Object.keys(schema.properties ?? {});
  const codes: Record<string, string> = schema['x-error-codes'] ?? {};
  const messages: Record<string, string> = schema['x-error-messages'] ?? {};
  const rank = (field: string, keyword: string): number => {
    const exact = order.indexOf(`${field}/${keyword}`);
    if (exact >= 0) return exact;
    const plain = order.indexOf(field);
    return plain >= 0 ? plain + 0.5 : Number.MAX_SAFE_INTEGER;
  };
  const candidates = (validate.errors ?? [])
    .map((e) => ({ e, field: fieldOf(e) }))
    .filter((c): c is { e: ErrorObject; field: string } => c.field !== undefined);
  if (candidates.length === 0) throw new Error(`no error with a field for ${rel}: ${JSON.stringify(validate.errors)}`);
  candidates.sort((a, b) => rank(a.field, a.e.keyword) - rank(b.field, b.e.keyword));
  const { e, field } = candidates[0]!;
  const pick = (map: Record<string, string>) => map[`${field}/${e.keyword}`] ?? map[field];
  return {
    field,
    keyword: e.keyword,
    code: pick(codes) ?? 'VALIDATION_ERROR',
    message: pick(messages) ?? `${field} ${e.message ?? 'is invalid'}`,
  };
}

/** The property schema of a top-level key, looking into `then`/`else`/`anyOf` branches too. */
function propertySchemas(schema: Record<string, any>, key: string): any[] {
  const found: any[] = [];
  const visit = (s: any) => {
    if (!s || typeof s !== 'object') return;
    if (s.properties && key in s.properties) found.push(s.properties[key]);
    for (const k of ['then', 'else']) visit(s[k]);
    for (const k of ['anyOf', 'allOf', 'oneOf']) for (const sub of s[k] ?? []) visit(sub);
  };
  visit(schema);
  return found;
}

function allowsNull(propSchema: any): boolean {
  const t = propSchema?.type;
  return t === 'null' || (Array.isArray(t) && t.includes('null'));
}

export function stripNulls(schema: Record<string, any>, body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (v === null && !propertySchemas(schema, k).some(allowsNull)) continue;
    out[k] = v;
  }
  return out;
}

/** Every subschema object of a schema (depth-first), with its JSON pointer. */
export function walk(schema: unknown, visit: (node: Record<string, any>, pointer: string) => void, pointer = ''): void {
  if (!schema || typeof schema !== 'object') return;
  if (Array.isArray(schema)) {
    schema.forEach((s, i) => walk(s, visit, `${pointer}/${i}`));
    return;
  }
  const node = schema as Record<string, any>;
  visit(node, pointer);
  for (const [k, v] of Object.entries(node)) {
    if (k === 'properties' || k === '$defs' || k === 'patternProperties') {
      for (const [name, sub] of Object.entries(v as object)) walk(sub, visit, `${pointer}/${k}/${name}`);
    } else if (['items', 'additionalProperties', 'if', 'then', 'else', 'not', 'contains', 'propertyNames'].includes(k)) {
      walk(v, visit, `${pointer}/${k}`);
    } else if (['anyOf', 'allOf', 'oneOf', 'prefixItems'].includes(k)) {
      walk(v, visit, `${pointer}/${k}`);
    }
  }
}
