/**
 * Against the real spec: every operation of spec/openapi.yaml and every message of spec/asyncapi.yaml has
 * its type, validator, route, Handlers method, client method / subscriber entry in the committed generated/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { apiRoutes as routeOperations } from '../../generated/routes/router.js';
import { createClient } from '../../generated/client/index.js';
import { eventNames, eventValidators, eventMessages } from '../../generated/events/index.js';
import { validators, schemaTitles } from '../../generated/validators/index.js';
import { REPO } from './helpers.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const openapi = parse(fs.readFileSync(path.join(REPO, 'spec/openapi.yaml'), 'utf8')) as Doc;
const asyncapi = parse(fs.readFileSync(path.join(REPO, 'spec/asyncapi.yaml'), 'utf8')) as Doc;
const read = (rel: string) => fs.readFileSync(path.join(REPO, 'generated', rel), 'utf8');
const handlersText = read('routes/handlers.ts');
const typesIndex = read('types/index.ts');
const openapiTypes = read('types/openapi.ts');
const subscriberText = read('client/events.ts');

function deref(doc: Doc, node: Doc): Doc {
  let current = node;
  while (current && typeof current.$ref === 'string' && current.$ref.startsWith('#/')) {
    current = current.$ref.slice(2).split('/').reduce((n: Doc, k: string) => n[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return current;
}

const specOperations: { operationId: string; method: string; path: string; op: Doc }[] = [];
/** The static file routes (`x-static: true`): no route, no Handlers method, no client method. */
const staticOperationIds: string[] = [];
for (const [p, item] of Object.entries(openapi.paths as Doc)) {
  for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
    const op = (deref(openapi, item as Doc) as Doc)[method];
    if (op && op['x-static'] !== true) specOperations.push({ operationId: op.operationId, method, path: p, op });
    else if (op) staticOperationIds.push(op.operationId);
  }
}

const messages: { key: string; name: string }[] = [];
for (const channel of Object.values(asyncapi.channels as Doc)) {
  for (const [key, m] of Object.entries(deref(asyncapi, channel as Doc).messages as Doc)) messages.push({ key, name: deref(asyncapi, m as Doc).name });
}
const events = messages.filter((m) => m.name.includes(':'));

const schemaFiles = (function list(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? list(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : []));
})(path.join(REPO, 'schemas'));

describe('spec/openapi.yaml operations', () => {
  it('the catalogue has the 44 operations of docs/behaviour.md §2.1', () => {
    expect(specOperations).toHaveLength(44);
  });

  it('the static file routes (x-static) get no route, no Handlers method and no client method', () => {
    expect(staticOperationIds.sort()).toEqual(['getAsyncApiDocument', 'getBoardAsset', 'getBoardPage', 'getDocsAsset', 'getDocsPage', 'getOpenApiDocument']);
    const client = createClient({ baseUrl: 'http://127.0.0.1:1' }) as unknown as Record<string, unknown>;
    for (const id of staticOperationIds) {
      expect(routeOperations.find((r) => r.operationId === id), id).toBeUndefined();
      expect(handlersText).not.toContain(`\n  ${id}(input: `);
      expect(client[id], id).toBeUndefined();
    }
  });

  const client = createClient({ baseUrl: 'http://127.0.0.1:1' }) as unknown as Record<string, unknown>;
  it.each(specOperations.map((o) => [o.operationId, o] as const))('%s: route, Handlers method, types, validator, client method', (operationId, o) => {
    const route = routeOperations.find((r) => r.operationId === operationId);
    expect(route, 'route').toBeDefined();
    expect(route!.method).toBe(o.method);
    expect(route!.path).toBe(o.path);
    const success = Object.keys(o.op.responses).filter((c) => /^2/.test(c)).map(Number).sort()[0];
    expect(route!.successStatus).toBe(success);
    expect(route!.emits).toEqual(o.op['x-emits']);
    expect(handlersText).toContain(`\n  ${operationId}(input: `);
    expect(openapiTypes).toContain(`    ${operationId}: {`);
    expect(typeof client[operationId]).toBe('function');
    const bodyRef = o.op.requestBody ? deref(openapi, o.op.requestBody).content['application/json'].schema.$ref : undefined;
    if (bodyRef) {
      const rel = path.posix.normalize(path.posix.join('spec', bodyRef));
      expect(route!.body?.schema).toBe(rel);
      const title = schemaTitles[rel];
      expect(title, `schema title of ${rel}`).toBeDefined();
      expect(typeof validators[title]).toBe('function');
      expect(route!.validateBody).toBe(o.op['x-validate-body'] === 'after-lookup' ? 'after-lookup' : 'before-handler');
    } else {
      expect(route!.body).toBeNull();
      expect(route!.validateBody).toBe('none');
    }
  });

  it('success statuses: 201 for E2, E7, E14, E20, E38, else 200 (docs/behaviour.md §0.6)', () => {
    const created = routeOperations.filter((r) => r.successStatus === 201).map((r) => r.operationId).sort();
    expect(created).toEqual(['createProject', 'createSession', 'createTask', 'createTemplate', 'spawnSession']);
    expect(routeOperations.every((r) => r.successStatus === 200 || r.successStatus === 201)).toBe(true);
  });
});

describe('spec/asyncapi.yaml messages', () => {
  it('23 events plus ping/pong', () => {
    expect(events).toHaveLength(23);
    expect(messages.map((m) => m.name).sort()).toEqual([...events.map((e) => e.name), 'ping', 'pong'].sort());
  });

  it.each(events.map((e) => [e.name, e] as const))('%s: EventName, payload type, validator, subscriber entry', (name, e) => {
    expect(eventNames).toContain(name);
    expect(typeof eventValidators[name as keyof typeof eventValidators]).toBe('function');
    expect(eventMessages[name as keyof typeof eventMessages].message).toBe(e.key);
    expect(read('events/index.ts')).toContain(`  '${name}': `);
    expect(subscriberText).toContain(`  '${name}',`);
  });
});

describe('schemas/', () => {
  it('every schema file has its type (exported by title) and validator', () => {
    expect(schemaFiles.length).toBeGreaterThan(60);
    for (const file of schemaFiles) {
      const rel = path.relative(REPO, file).split(path.sep).join('/');
      const title = (JSON.parse(fs.readFileSync(file, 'utf8')) as { title: string }).title;
      expect(schemaTitles[rel]).toBe(title);
      expect(typesIndex).toContain(`export type { ${title} } from`);
      expect(typeof validators[title as keyof typeof validators]).toBe('function');
    }
  });

  it('the named types the handlers need exist', () => {
    for (const title of ['Project', 'Task', 'Session', 'QueueState', 'Template', 'SpawnManifest', 'ErrorResponse', 'TaskCreateRequest']) {
      expect(typesIndex).toContain(`export type { ${title} } from`);
    }
  });

  it('validators accept and reject (smoke, no run-time compilation)', () => {
    expect(validators.Role('worker')).toBe(true);
    expect(validators.Role('boss')).toBe(false);
    expect(validators.Role.errors?.[0]).toMatchObject({ keyword: 'enum' });
    expect(validators.DateString('2024-02-29')).toBe(true);
    expect(validators.DateString('2023-02-29')).toBe(false);
  });
});
