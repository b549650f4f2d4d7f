/**
 * Every example of spec/openapi.yaml validates against its schema (Ajv 2020 + ajv-formats, strict mode, schema files
 * registered under their `$id`), and ids and timestamps in examples look like the server's (docs/behaviour.md §0.1, §0.2).
 */
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  deref,
  exampleValues,
  isObject,
  loadSchemaFiles,
  loadSpec,
  operations,
  specDir,
  type Json,
  type JsonObject,
} from './spec-helpers.js';

const addFormats = addFormatsModule.default;
const doc = loadSpec();
const schemaFiles = loadSchemaFiles();

function createAjv(): InstanceType<typeof Ajv2020> {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTypes: false, logger: false });
  addFormats(ajv);
  // Extension keywords (spec-conventions §2.7) are annotations: register every x-* key the schema files use.
  const keywords = new Set<string>();
  const walk = (n: Json): void => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (isObject(n)) for (const [k, v] of Object.entries(n)) (k.startsWith('x-') ? keywords.add(k) : walk(v));
  };
  schemaFiles.forEach(walk);
  for (const k of keywords) ajv.addKeyword(k);
  for (const schema of schemaFiles.values()) ajv.addSchema(schema);
  return ajv;
}

/** `../schemas/entities/task.json` (relative to spec/) → the `$id` of that file. */
function toIds(node: Json): Json {
  if (Array.isArray(node)) return node.map(toIds);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) {
      const file = path.resolve(specDir, v.split('#')[0]!);
      const schema = schemaFiles.get(file);
      if (!schema) throw new Error(`schema file missing: ${v}`);
      out[k] = String(schema.$id);
    } else out[k] = toIds(v);
  }
  return out;
}

interface Case {
  where: string;
  schema: Json;
  examples: Array<{ name: string; value: Json }>;
}

function cases(): Case[] {
  const out: Case[] = [];
  const add = (where: string, media: Json | undefined): void => {
    if (isObject(media)) out.push({ where, schema: media.schema ?? null, examples: exampleValues(media) });
  };
  for (const { method, path: p, op } of operations(doc)) {
    const where = `${String(op.operationId)} (${method.toUpperCase()} ${p})`;
    if (op.requestBody) add(`${where} request`, (deref(doc, op.requestBody).content as JsonObject)['application/json']);
    for (const [status, r] of Object.entries(op.responses as JsonObject)) {
      add(`${where} ${status}`, (deref(doc, r).content as JsonObject)['application/json']);
    }
  }
  return out;
}

const ID = /^(proj|task|sess|evt|tmpl)_[0-9]+_[0-9a-z]{9}$/;
const TIME_KEYS = new Set(['createdAt', 'updatedAt', 'startedAt', 'completedAt', 'lastActivity', 'addedAt', 'timestamp']);

/** Strings that look like server ids must match the id pattern; stamps must be integer milliseconds. */
function shapeProblems(value: Json, at: string, out: string[]): void {
  if (typeof value === 'string' && /^(proj|task|sess|evt|tmpl)_[0-9]/.test(value) && !ID.test(value)) out.push(`${at}: ${value}`);
  if (Array.isArray(value)) value.forEach((v, i) => shapeProblems(v, `${at}[${i}]`, out));
  else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      // Client-sent event data may carry ISO strings (docs/behaviour.md §11.10); the server's own stamps are integers.
      if (TIME_KEYS.has(k) && typeof v === 'number' && !(Number.isInteger(v) && v > 1e12)) out.push(`${at}.${k}: ${v}`);
      shapeProblems(v, `${at}.${k}`, out);
    }
  }
}

describe('spec/openapi.yaml examples', () => {
  const all = cases();
  const ajv = createAjv();

  it('has the schema files it needs', () => {
    expect(schemaFiles.size).toBeGreaterThan(0);
    expect(all.length).toBeGreaterThan(44 * 3);
  });

  it.each(all.map((c) => [c.where, c] as const))('%s: every example validates', (_where, c) => {
    expect(c.examples.length).toBeGreaterThan(0);
    const validate = ajv.compile(toIds(c.schema) as object);
    for (const { name, value } of c.examples) {
      const ok = validate(value);
      expect(ok ? [] : validate.errors, name).toEqual([]);
    }
  });

  it('uses realistic ids and integer millisecond timestamps', () => {
    const problems: string[] = [];
    for (const c of all) for (const { name, value } of c.examples) shapeProblems(value, `${c.where} ${name}`, problems);
    expect(problems).toEqual([]);
  });

  it('rejects an example that breaks its schema (the check is not vacuous)', () => {
    const task = all.find((c) => c.where.startsWith('getTask') && c.where.endsWith(' 200'))!;
    const validate = ajv.compile(toIds(task.schema) as object);
    const good = task.examples[0]!.value as JsonObject;
    expect(validate(good)).toBe(true);
    expect(validate({ ...good, status: 'pending' })).toBe(false);
    expect(validate({ ...good, unknownKey: 1 })).toBe(false);
    const error = all.find((c) => c.where.startsWith('getTask') && c.where.endsWith(' 404'))!;
    const validateError = ajv.compile(toIds(error.schema) as object);
    expect(validateError({ error: true, code: 'NOT_FOUND', message: 'Task not found' })).toBe(false);
    expect(validateError({ error: true, code: 'TASK_NOT_FOUND', message: 'Task not found' })).toBe(true);
  });
});
