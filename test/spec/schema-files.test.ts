/**
 * Structure of schemas/: the file set of docs/spec-conventions.md §1, ids, titles, references, strict-mode
 * compilation, and the "server-produced objects are closed / request bodies are open" rules.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAjv, ID_BASE, loadSchemaFiles, MODEL_KEYWORDS, repoRoot, schemasDir, walk, X_KEYWORDS } from './schema-kit.js';

const files = loadSchemaFiles();

/** `folder/file.json` → title, as listed in the table of docs/spec-conventions.md §1. */
function documentedFiles(): Map<string, string> {
  const doc = readFileSync(path.join(repoRoot, 'docs', 'spec-conventions.md'), 'utf8');
  const out = new Map<string, string>();
  for (const line of doc.split('\n')) {
    const row = /^\| `schemas\/([a-z]+)\/` \|[^|]*\| (.*) \|$/.exec(line);
    if (!row) continue;
    for (const m of row[2]!.matchAll(/`([a-z-]+\.json)` \[([A-Za-z]+)/g)) out.set(`${row[1]}/${m[1]}`, m[2]!);
  }
  return out;
}

/** Objects that are free-form by definition (their keys are the client's or the request's). */
const FREE_FORM = new Set([
  'entities/session-metadata.json#',
  'entities/session-timeline-event.json#/properties/metadata',
  'responses/error.json#/properties/details',
  'responses/spawn-response.json#/properties/session/allOf/1/properties/metadata/properties/context',
  'events/spawn-request-event.json#/properties/session/allOf/1/properties/metadata/properties/context',
  'events/ping.json#',
  'manifest/spawn-manifest.json#/properties/tasks/items/properties/metadata',
  // cli mode: the CLI's manifest, every key as the CLI wrote it (docs/behaviour.md §8.5, §1.11)
  'manifest/cli-manifest.json#',
  'manifest/cli-manifest.json#/properties/manifestVersion/anyOf/3',
  'manifest/cli-manifest.json#/properties/role/anyOf/3',
  'manifest/spawn-manifest.json#/properties/context/properties/custom',
  'manifest/spawn-manifest.json#/properties/context/properties/codebaseContext',
  'manifest/spawn-manifest.json#/properties/context/properties/projectStandards',
]);

describe('schema files', () => {
  it('are exactly the files of docs/spec-conventions.md §1, with the documented titles', () => {
    const documented = documentedFiles();
    expect(documented.size).toBe(73);
    expect(files.map((f) => f.rel).sort()).toEqual([...documented.keys()].sort());
    for (const f of files) expect(f.schema.title, f.rel).toBe(documented.get(f.rel));
  });

  it('declare JSON Schema 2020-12, their own $id, a PascalCase title and a description citing docs/behaviour.md', () => {
    for (const { rel, schema } of files) {
      expect(schema.$schema, rel).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id, rel).toBe(ID_BASE + rel);
      expect(schema.title, rel).toMatch(/^[A-Z][A-Za-z0-9]*$/);
      expect(schema.description, rel).toMatch(/docs\/behaviour\.md §\d/);
    }
  });

  it('use unique titles, nested titles included', () => {
    const seen = new Map<string, string>();
    for (const { rel, schema } of files) {
      walk(schema, (node, pointer) => {
        if (typeof node.title !== 'string') return;
        const where = `${rel}#${pointer}`;
        expect(seen.get(node.title), `${node.title} at ${where}`).toBeUndefined();
        seen.set(node.title, where);
      });
    }
  });

  it('reference other files by relative path, whole files only, and every target exists', () => {
    const known = new Set(files.map((f) => f.rel));
    for (const { rel, schema } of files) {
      walk(schema, (node) => {
        if (node.$ref === undefined) return;
        const ref = String(node.$ref);
        expect(ref, `${rel}: ${ref}`).toMatch(/^\.\.?\/[a-z-/]+\.json$/);
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), ref));
        expect(known.has(target), `${rel}: ${ref} → ${target}`).toBe(true);
      });
    }
  });

  it('all compile with Ajv 2020 in strict mode (x-* keywords registered as annotations)', () => {
    const ajv = createAjv(files);
    for (const { rel } of files) {
      expect(() => ajv.getSchema(ID_BASE + rel), rel).not.toThrow();
      expect(ajv.getSchema(ID_BASE + rel), rel).toBeTypeOf('function');
    }
  });

  it('fail to compile under strict mode when an x-* keyword is not registered (the keywords are really used)', async () => {
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    const ajv = new Ajv2020({ strict: true });
    for (const f of files) ajv.addSchema(f.schema);
    expect(() => ajv.getSchema(ID_BASE + 'requests/spawn-request.json')).toThrow(/x-validation-order/);
  });

  it('close every server-produced object (additionalProperties: false) except the free-form ones', () => {
    for (const { rel, schema } of files) {
      if (rel.startsWith('requests/') || rel.startsWith('common/')) continue;
      walk(schema, (node, pointer) => {
        if (node.type !== 'object') return;
        const where = `${rel}#${pointer}`;
        const isAllOfNarrowing = /\/allOf\/\d+$/.test(pointer);
        if (FREE_FORM.has(where) || isAllOfNarrowing) {
          // open: absent, or `true` where declared properties need the generated type's index signature (CliManifest)
          expect([undefined, ...(FREE_FORM.has(where) ? [true] : [])], where).toContain(node.additionalProperties);
        } else {
          expect(node.additionalProperties, where).toBe(false);
        }
        // every always-present key is required and declared
        for (const key of node.required ?? []) expect(node.properties?.[key], `${where} required ${key}`).toBeDefined();
      });
    }
  });

  it('leave request bodies open (unknown fields are ignored, docs/behaviour.md §0.5) and carry a validation order', () => {
    for (const { rel, schema } of files.filter((f) => f.rel.startsWith('requests/'))) {
      expect(schema.type, rel).toBe('object');
      // Open: no restriction; `true` only says so explicitly (EmptyObjectRequest, which declares no property).
      expect([undefined, true], rel).toContain(schema.additionalProperties);
      expect(schema.unevaluatedProperties, rel).toBeUndefined();
      expect(Array.isArray(schema['x-validation-order']), rel).toBe(true);
    }
  });

  it('name only declared fields in x-validation-order, x-error-codes and x-error-messages', () => {
    for (const { rel, schema } of files.filter((f) => f.rel.startsWith('requests/'))) {
      const declared = new Set<string>();
      walk(schema, (node, pointer) => {
        // top-level fields: root properties and those of root-level then/else/anyOf branches
        if (!/^(|\/(then|else)|\/(then\/)?anyOf\/\d+)$/.test(pointer)) return;
        for (const k of Object.keys(node.properties ?? {})) declared.add(k);
      });
      const order: string[] = schema['x-validation-order'];
      expect(new Set(order).size, `${rel} duplicates`).toBe(order.length);
      const entries = [...order, ...Object.keys(schema['x-error-codes'] ?? {}), ...Object.keys(schema['x-error-messages'] ?? {})];
      for (const entry of entries) {
        const [field, keyword, extra] = entry.split('/');
        expect(declared.has(field!), `${rel}: ${entry}`).toBe(true);
        expect(extra, `${rel}: ${entry}`).toBeUndefined();
        if (keyword !== undefined) expect(keyword, `${rel}: ${entry}`).toMatch(/^[a-zA-Z]+$/);
      }
      // every declared field has a place in the order
      for (const field of declared) {
        expect(order.some((e) => e === field || e.startsWith(`${field}/`)), `${rel}: ${field} not ordered`).toBe(true);
      }
    }
  });

  it('use the x-* keywords only on request schema roots', () => {
    for (const { rel, schema } of files) {
      walk(schema, (node, pointer) => {
        for (const k of X_KEYWORDS) {
          if (k in node) expect(rel.startsWith('requests/') && pointer === '', `${rel}#${pointer} ${k}`).toBe(true);
        }
      });
    }
  });

  it('use the generated-model keywords only where generated/model reads them', () => {
    let seen = 0;
    for (const { rel, schema } of files) {
      walk(schema, (node, pointer) => {
        for (const [k, allowed] of Object.entries(MODEL_KEYWORDS)) {
          if (!(k in node)) continue;
          seen++;
          expect(allowed(rel, pointer), `${rel}#${pointer} ${k}`).toBe(true);
        }
      });
    }
    expect(seen).toBeGreaterThan(10);
  });

  it('list no legacy enum value outside the *-input enums', () => {
    for (const { rel, schema } of files) {
      if (rel.endsWith('-input.json')) continue;
      walk(schema, (node) => {
        for (const v of node.enum ?? []) expect(['pending', 'running'], `${rel}`).not.toContain(v);
      });
    }
    const read = (rel: string) => JSON.parse(readFileSync(path.join(schemasDir, rel), 'utf8'));
    expect(read('common/task-status-input.json').enum).toContain('pending');
    expect(read('common/session-status-input.json').enum).toContain('running');
  });
});
