/**
 * generated/reference/documents.ts: what `/docs` serves (docs/behaviour.md §14.3), computed from the committed
 * spec at codegen time so that the running server needs no YAML parser and no dev dependency:
 *
 * - `openapiYaml`, `asyncapiYaml`: spec/openapi.yaml and spec/asyncapi.yaml **bundled**: every schema file a
 *   `$ref` names (directly or through another schema file) becomes `components.schemas.<title>` and every `$ref`
 *   becomes local (`#/components/schemas/<title>`), so the served copy resolves on its own. Schema `$id`s are
 *   dropped (an `$id` would move the base the local refs resolve against).
 * - `eventCatalogue`: every event of the AsyncAPI document (name, summary, the schema of its `data`, fully
 *   inlined) for the event catalogue page (src/static/events-page.ts renders it).
 */
import path from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { type LoadedSpec, type SchemaFile, derefLocal } from './load-spec.js';
import type { Output } from './output.js';
import { readEvents } from './events-model.js';
import { isObject, schemaFileForRef } from './schema-tools.js';

const isExternal = (ref: unknown): ref is string => typeof ref === 'string' && !ref.startsWith('#');

/** A schema file's content with `$id`/`$schema` dropped. */
function schemaBody(file: SchemaFile): Record<string, unknown> {
  const { $id: _id, $schema: _schema, ...rest } = file.schema;
  return rest;
}

/** Copies `node` (read from `from`), turning every external `$ref` into `#/components/schemas/<title>`. */
function localise(spec: LoadedSpec, node: unknown, from: string, components: Map<string, Record<string, unknown>>): unknown {
  if (Array.isArray(node)) return node.map((n) => localise(spec, n, from, components));
  if (!isObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && isExternal(value)) {
      const file = schemaFileForRef(spec, from, value);
      if (!components.has(file.title)) {
        components.set(file.title, {}); // placeholder first: a cycle stops here
        components.set(file.title, localise(spec, schemaBody(file), file.relPath, components) as Record<string, unknown>);
      }
      out.$ref = `#/components/schemas/${file.title}`;
    } else {
      out[key] = localise(spec, value, from, components);
    }
  }
  return out;
}

function bundle(spec: LoadedSpec, doc: Record<string, unknown>, from: string): string {
  const components = new Map<string, Record<string, unknown>>();
  const bundled = localise(spec, doc, from, components) as Record<string, unknown>;
  const existing = isObject(bundled.components) ? bundled.components : {};
  const schemas = { ...(isObject(existing.schemas) ? existing.schemas : {}) };
  for (const name of [...components.keys()].sort()) {
    if (name in schemas) throw new Error(`codegen: ${from} already has components.schemas.${name}`);
    schemas[name] = components.get(name);
  }
  bundled.components = { ...existing, schemas };
  return stringifyYaml(bundled, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** The schema with every `$ref` (file or local to it) replaced by the schema it names, for reading. */
function inline(spec: LoadedSpec, node: unknown, from: string, depth = 0): unknown {
  if (depth > 32) return node;
  if (Array.isArray(node)) return node.map((n) => inline(spec, n, from, depth + 1));
  if (!isObject(node)) return node;
  if (isExternal(node.$ref)) {
    const file = schemaFileForRef(spec, from, node.$ref);
    const { $ref: _ref, ...siblings } = node;
    const target = inline(spec, schemaBody(file), file.relPath, depth + 1) as Record<string, unknown>;
    return Object.keys(siblings).length === 0 ? target : { ...target, ...(inline(spec, siblings, from, depth + 1) as object) };
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, inline(spec, v, from, depth + 1)]));
}

export function emitReference(spec: LoadedSpec, out: Output): void {
  const openapiYaml = bundle(spec, spec.openapi, spec.openapiSource.relPath);
  const asyncapiYaml = bundle(spec, spec.asyncapi, spec.asyncapiSource.relPath);
  const { events } = readEvents(spec);
  const doc = spec.asyncapi;
  const channels = isObject(doc.channels) ? doc.channels : {};
  const messages = new Map<string, Record<string, unknown>>();
  for (const channel of Object.values(channels)) {
    const c = derefLocal(doc, channel);
    for (const [key, m] of Object.entries(isObject(c.messages) ? c.messages : {})) messages.set(key, derefLocal(doc, m));
  }
  const catalogue = events.map((e) => {
    const m = messages.get(e.messageKey) ?? {};
    return {
      name: e.name,
      summary: typeof m.summary === 'string' ? m.summary : '',
      description: typeof m.description === 'string' ? m.description : '',
      payloadTitle: e.payload.title,
      payloadFile: path.posix.relative('schemas', e.payload.relPath),
      payloadSchema: inline(spec, schemaBody(e.payload), e.payload.relPath),
    };
  });
  const body = [
    '/* The bundled spec documents and the event catalogue served under /docs (docs/behaviour.md §14.3). */',
    'export interface CatalogueEvent {',
    '  readonly name: string;',
    '  readonly summary: string;',
    '  readonly description: string;',
    '  readonly payloadTitle: string;',
    '  readonly payloadFile: string;',
    '  readonly payloadSchema: unknown;',
    '}',
    '',
    `export const openapiYaml: string = ${JSON.stringify(openapiYaml)};`,
    '',
    `export const asyncapiYaml: string = ${JSON.stringify(asyncapiYaml)};`,
    '',
    `export const eventCatalogue: readonly CatalogueEvent[] = ${JSON.stringify(catalogue, null, 2)};`,
  ].join('\n');
  out.add('reference/documents.ts', [spec.openapiSource, spec.asyncapiSource, ...spec.schemas], body);
}
