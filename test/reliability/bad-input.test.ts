/**
 * Bad-input sweep (issue 6; docs/behaviour.md §0.5, §3.3, §12 robustness): malformed requests on every operation of
 * spec/openapi.yaml — wrong types and huge values in every known body field, protocol-level garbage (broken
 * JSON, invalid UTF-8, other encodings, deep nesting, prototype-pollution keys), odd content types, query and
 * path tricks, malformed HTTP. Against the real entry point as a child process: zero 5xx, the process never
 * exits, every answer is JSON in the error format when it is an error, no prototype pollution, nothing
 * written outside DATA_DIR.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { call, type Reply } from '../support/http.js';
import { killAllChildren, REPO_ROOT, startChild } from '../support/server.js';
import { listFiles, tempDir } from '../support/temp.js';
import { figure, snapshot } from './helpers.js';

afterAll(killAllChildren);

type Spec = { paths: Record<string, Record<string, { operationId: string; requestBody?: { content: Record<string, { schema: { $ref?: string } }> } }>> };

/** The top-level properties of an operation's request schema (plus the ones declared in sub-schemas of E9). */
function bodyFields(op: Spec['paths'][string][string]): string[] {
  const ref = op.requestBody?.content['application/json']?.schema.$ref;
  if (!ref) return [];
  const schema = JSON.parse(fs.readFileSync(path.resolve(REPO_ROOT, 'spec', ref), 'utf8')) as { properties?: Record<string, unknown> };
  const fields = Object.keys(schema.properties ?? {});
  if (op.operationId === 'updateTask') {
    fields.push('title', 'description', 'status', 'priority', 'sessionIds', 'skillIds', 'agentIds', 'dependencies', 'model', 'dueDate');
  }
  return fields;
}

const nest = (depth: number, open: string, close: string, inner = '1') => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

/** Wrong-typed, extreme and hostile values, as JSON text (so that `__proto__` stays an own key). */
const VALUES: string[] = [
  'null', '0', '-1', '1.5', '1e308', '-1e308', '123456789012345678901234567890', 'true', 'false',
  '[]', '{}', '[null]', '[1]', '[[]]', '[""]', '["  "]', '{"a":1}',
  '""', '"   "', '"\\u0000"', '"\\ud800"', '"\\u202e\\u0000\\uffff"', '"../../../etc/passwd"', '"__proto__"', '"constructor"',
  JSON.stringify('x'.repeat(200_000)), JSON.stringify(Array.from({ length: 5000 }, (_, i) => `e${i}`)),
  '{"__proto__":{"polluted":"yes"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}',
  nest(100, '[', ']'), nest(600, '{"a":', '}'), '"2024-02-30"', '"NaN"', '{"$ne":null}',
];

/** Bodies the protocol checks must refuse (or, for the valid-but-odd ones, take without harm). */
const RAW_BODIES: Array<[string, string | Buffer]> = [
  ['truncated', '{"name":'],
  ['trailing comma', '{"a":1,}'],
  ['single quotes', "{'a':1}"],
  ['null', 'null'],
  ['array', '[]'],
  ['string', '"s"'],
  ['number overflow', '1e999'],
  ['NaN', 'NaN'],
  ['two objects', '{"a":1}{"b":2}'],
  ['BOM', '\uFEFF{"name":"bom"}'],
  ['UTF-16LE', Buffer.from('{"name":"utf16"}', 'utf16le')],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ['overlong UTF-8 slash', Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])],
  ['lone surrogate', '{"name":"\\ud800"}'],
  ['deep array', nest(100_000, '[', ']')],
  ['deep object', `{"data":${nest(50_000, '{"a":', '}')},"type":"t","name":"n","message":"m"}`],
  ['proto key', '{"__proto__":{"polluted":"yes"},"name":"p","title":"t","type":"t","message":"m","content":"c","role":"worker"}'],
  ['constructor key', '{"constructor":{"prototype":{"polluted":"yes"}},"name":"p","title":"t","type":"t","message":"m"}'],
  ['duplicate keys', '{"name":"a","name":"b"}'],
  ['NUL byte', '\u0000'],
  ['whitespace only', ' '.repeat(1000)],
  ['huge number key', `{"${'k'.repeat(100_000)}":1}`],
  ['many keys', JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])))],
];

const CONTENT_TYPES = ['text/plain', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'APPLICATION/JSON; charset=latin1'];

const QUERY_TRICKS = [
  '/api/tasks?status[]=todo', '/api/tasks?projectId[$ne]=1', '/api/tasks?parentId=__proto__', '/api/tasks?parentId=null&parentId=x',
  '/api/sessions?active=true&active=false', '/api/sessions?taskId=../../x', '/api/tasks?%zz=1', '/api/tasks?status=%', `/api/tasks?projectId=${'x'.repeat(8000)}`,
  '/api/projects?__proto__[polluted]=yes', '/api/tasks?constructor[prototype][polluted]=yes', '/api/sessions?status=running&status=bogus',
  '/api/projects/%', '/api/projects/%%30', '/api//projects', '/api/projects/../tasks', '/api/./projects', '/%2e%2e/etc/passwd', '/api/projects;x',
  '/api/tasks/%00', '/api/tasks/%C0%AE%C0%AE', '/api/skills/..%2F..%2F..%2Fetc', '/api/templates/role/__proto__', '/api/templates/default/constructor',
  '/api/skills/role/toString', '/api/sessions/hasOwnProperty', '/api/tasks/__proto__', '/api/projects/constructor', '/api/sessions/__proto__/queue',
  '/api/tasks/valueOf/children', '/api/projects/%F0%9F%92%A9', '/api/tasks/%EF%BF%BD', '/health?x=%', '/ws-status/%2e',
];

/** Raw HTTP the node client would refuse to build. */
const RAW_HTTP = [
  'GET /api/tasks/../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'POST /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'POST /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n',
  'POST /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n',
  'POST /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
  'GET /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: a\u0000b\r\n\r\n',
  `GET /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`,
  'GET /api/projects HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n',
  'BREW /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'GET http://evil.example/api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'GET * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'GET /api/projects\r\n\r\n',
  '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003', // a TLS ClientHello on the plain port
  'POST /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\n{"name":"z"}',
  'POST /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 12\r\n\r\n{"name":"e"}',
];

function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
    let data = '';
    socket.on('data', (c) => (data += c.toString('latin1')));
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
    setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, 3000);
  });
}

describe('bad-input sweep', () => {
  it('≥500 malformed requests across every endpoint: zero 5xx, no crash, no pollution, nothing outside DATA_DIR', async () => {
    const root = tempDir('maestro-reliability-');
    const base = path.join(root, 'l1', 'l2');
    const dataDir = path.join(base, 'data');
    const child = await startChild({ root: base });
    const port = child.port;
    const ok = async (p: string, body: unknown) => {
      const r = await call(port, 'POST', p, { body });
      expect(r.status, r.text).toBe(201);
      return r.json as { id: string };
    };
    const project = await ok('/api/projects', { name: 'P' });
    const task = await ok('/api/tasks', { projectId: project.id, title: 'T' });
    const session = await ok('/api/sessions', { id: 'sweep', projectId: project.id, taskIds: [task.id], strategy: 'queue' });
    const template = await ok('/api/templates', { name: 'n', role: 'worker', content: 'c' });
    const fill = (p: string) =>
      p
        .replace(/\/api\/projects\/\{id\}/, `/api/projects/${project.id}`)
        .replace(/\/api\/tasks\/\{id\}/, `/api/tasks/${task.id}`)
        .replace(/\/api\/sessions\/\{id\}/, `/api/sessions/${session.id}`)
        .replace(/\/api\/templates\/\{id\}/, `/api/templates/${template.id}`)
        .replace('{taskId}', task.id)
        .replace('{role}', 'worker')
        .replace('{id}', 'maestro-worker');
    /** A body that passes validation, so that one bad field at a time is what is tested. */
    const valid: Record<string, Record<string, unknown>> = {
      createProject: { name: 'n' }, updateProject: { name: 'n' }, createTask: { projectId: project.id, title: 't' }, updateTask: { title: 't' },
      addTaskTimelineEntry: { message: 'm', sessionId: session.id }, createSession: { projectId: project.id, taskIds: [] }, updateSession: {},
      addSessionEvent: { type: 't' }, addSessionTimelineEntry: { message: 'm' }, spawnSession: { projectId: project.id, taskIds: [task.id], spawnSource: 'ui' },
      pushQueueItem: { taskId: task.id }, failQueueItem: {}, createTemplate: { name: 'n', role: 'worker', content: 'c' }, updateTemplate: { name: 'n' },
    };

    const spec = parse(fs.readFileSync(path.join(REPO_ROOT, 'spec/openapi.yaml'), 'utf8')) as Spec;
    const ops: Array<{ method: string; url: string; operationId: string; fields: string[] }> = [];
    for (const [p, item] of Object.entries(spec.paths)) {
      for (const m of ['get', 'post', 'put', 'patch', 'delete'] as const) {
        // the API operations; the static file routes (x-static) are tested in test/http/static.test.ts
        if (item[m] && (item[m] as { 'x-static'?: boolean })['x-static'] !== true) ops.push({ method: m.toUpperCase(), url: fill(p), operationId: item[m].operationId, fields: bodyFields(item[m]) });
      }
    }
    expect(ops).toHaveLength(44);

    let requests = 0;
    const fiveHundreds: string[] = [];
    const badFormat: string[] = [];
    const check = (what: string, res: Reply) => {
      requests++;
      if (res.status >= 500) fiveHundreds.push(`${what} → ${res.status} ${res.text.slice(0, 200)}`);
      if (res.status >= 400 && !what.startsWith('HEAD ')) {
        const body = res.json as Record<string, unknown> | undefined;
        const good = res.headers['content-type'] === 'application/json; charset=utf-8' && body?.error === true && typeof body.code === 'string' && typeof body.message === 'string';
        if (!good) badFormat.push(`${what} → ${res.status} ${res.text.slice(0, 100)}`);
      }
    };
    const send = async (what: string, method: string, url: string, options: Parameters<typeof call>[3] = {}) => {
      let res: Reply;
      try {
        res = await call(port, method, url, { timeoutMs: 10_000, ...options });
      } catch (err) {
        throw new Error(`${what}: ${method} ${url}: ${(err as Error).message}`);
      }
      check(what, res);
      return res;
    };
    const json = { 'Content-Type': 'application/json' };

    // 1. Every known body field of every operation, one bad value at a time (DELETE excluded: it would remove
    //    the fixtures; bodies of other methods are ignored anyway).
    for (const op of ops.filter((o) => o.fields.length > 0)) {
      for (const field of op.fields) {
        for (const value of VALUES) {
          const others = JSON.stringify({ ...valid[op.operationId] }).slice(1, -1);
          const raw = `{${others}${others ? ',' : ''}${JSON.stringify(field)}:${value}}`;
          await send(`${op.operationId}.${field}=${value.slice(0, 40)}`, op.method, op.url, { raw, headers: json });
        }
      }
    }
    // 2. Protocol-level garbage and odd content types on every operation that reads a body (and on GETs, which
    //    must ignore a body), DELETE excluded as above.
    for (const op of ops.filter((o) => o.method !== 'DELETE')) {
      for (const [label, body] of RAW_BODIES) await send(`${op.operationId} ${label}`, op.method, op.url, { raw: body, headers: json });
      for (const ct of CONTENT_TYPES) await send(`${op.operationId} ${ct}`, op.method, op.url, { raw: '{"name":"x"}', headers: { 'Content-Type': ct } });
      await send(`${op.operationId} no content type`, op.method, op.url, { raw: '{"name":"x"}' });
    }
    // 3. Query and path tricks, on GET and on every method.
    for (const url of QUERY_TRICKS) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']) await send(`${method} ${url}`, method, url);
    }
    // 4. Malformed HTTP: the parser's answer must not be a 5xx, and the server must survive it.
    for (const text of RAW_HTTP) {
      const answer = await rawHttp(port, text);
      requests++;
      if (/^HTTP\/1\.[01] 5\d\d/.test(answer)) fiveHundreds.push(`raw ${JSON.stringify(text.slice(0, 60))} → ${answer.slice(0, 100)}`);
    }
    // 5. The DELETEs, last: path tricks and unknown ids, then the real ones with garbage bodies.
    for (const op of ops.filter((o) => o.method === 'DELETE')) {
      for (const [label, body] of RAW_BODIES.slice(0, 5)) await send(`${op.operationId} ${label}`, 'DELETE', op.url.replace(/\/[^/]+$/, '/%2e%2e%2f'), { raw: body, headers: json });
    }

    // Still alive, same process, and nothing polluted.
    expect(child.proc.exitCode).toBeNull();
    expect(child.proc.signalCode).toBeNull();
    const health = await call(port, 'GET', '/health');
    expect(health.status).toBe(200);
    const fresh = await call(port, 'POST', '/api/projects', { body: { name: 'after the sweep' } });
    expect(fresh.status).toBe(201);
    // `polluted` may be stored as data inside free-form fields (metadata, context, data): that is fine. It must
    // never show up as a key of objects the server builds itself (Object.prototype untouched).
    expect(Object.keys(fresh.json as object)).not.toContain('polluted');
    const freshSession = await call(port, 'POST', '/api/sessions', { body: { projectId: project.id, taskIds: [] } });
    expect(Object.keys(freshSession.json as object)).not.toContain('polluted');
    expect(Object.keys((freshSession.json as { env: object }).env)).toEqual([]);
    for (const url of ['/api/projects', '/api/tasks', '/api/sessions', '/api/templates']) {
      for (const entity of (await call(port, 'GET', url)).json as Array<Record<string, unknown>>) {
        expect(Object.keys(entity), url).not.toContain('polluted');
        expect(Object.keys(entity), url).not.toContain('__proto__');
      }
    }
    expect(child.output()).not.toMatch(/uncaught|unhandled/i);
    // Whatever odd values were accepted and stored, a restart serves them identically and quarantines nothing.
    const shown = await snapshot(port);
    expect((await child.kill('SIGTERM')).code).toBe(0);
    const again = await startChild({ root: base });
    expect(((await call(again.port, 'GET', '/health')).json as { storage: { quarantined: number } }).storage.quarantined).toBe(0);
    expect(await snapshot(again.port)).toEqual(shown);
    await again.kill('SIGTERM');

    // Nothing outside DATA_DIR (SESSION_DIR holds only spawn manifests of generated ids).
    const strays = listFiles(root).filter((f) => {
      const rel = f.split(path.sep).join('/');
      if (rel.startsWith('l1/l2/data/')) {
        const inData = rel.slice('l1/l2/data/'.length);
        return !(inData === '.lock' || /^(projects|sessions|queues|templates)\/[A-Za-z0-9._-]+\.json$/.test(inData) || /^tasks\/[a-z0-9_]+\/[a-z0-9_]+\.json$/.test(inData));
      }
      return !/^l1\/l2\/sessions\/sess_[0-9]+_[0-9a-z]{9}\/manifest\.json$/.test(rel);
    });
    expect(strays).toEqual([]);

    figure(`bad-input: requests ${requests}, 5xx ${fiveHundreds.length}`);
    expect(fiveHundreds.slice(0, 20), fiveHundreds.slice(0, 20).join('\n')).toEqual([]);
    expect(badFormat.slice(0, 20), badFormat.slice(0, 20).join('\n')).toEqual([]);
    expect(requests).toBeGreaterThanOrEqual(500);
    fs.rmSync(root, { recursive: true, force: true });
  }, 180_000);
});

describe('regressions found by the sweep', () => {
  it('a body nested deeper than the limit is 400 VALIDATION_ERROR (was 500: JSON.stringify overflowed the stack)', async () => {
    const { startApi } = await import('../api/harness.js');
    const api = await startApi();
    try {
      const p = (await api.json('POST', '/api/projects', { name: 'p' })).json as { id: string };
      expect((await api.json('POST', '/api/sessions', { id: 's', projectId: p.id, taskIds: [] })).status).toBe(201);
      const headers = { 'Content-Type': 'application/json' };
      for (const depth of [600, 5_000, 100_000]) {
        for (const [url, body] of [
          ['/api/sessions/s/events', `{"type":"t","data":${nest(depth, '[', ']')}}`],
          ['/api/sessions/s/timeline', `{"message":"m","metadata":${nest(depth, '{"a":', '}')}}`],
          ['/api/sessions', `{"projectId":"${p.id}","taskIds":[],"metadata":${nest(depth, '{"a":', '}')}}`],
        ] as const) {
          const res = await api.raw('POST', url, { headers, body });
          expect(res.status, `${url} depth ${depth}: ${res.text}`).toBe(400);
          expect(res.json).toMatchObject({ error: true, code: 'VALIDATION_ERROR' });
        }
      }
      // Reasonable nesting is still stored and served as sent.
      const ok = await api.raw('POST', '/api/sessions/s/events', { headers, body: `{"type":"t","data":${nest(200, '[', ']')}}` });
      expect(ok.status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('a GET or DELETE with a large ignored body still gets its whole answer on a `Connection: close` request', async () => {
    const { startApi } = await import('../api/harness.js');
    const api = await startApi();
    try {
      const port = api.server.port;
      for (let i = 0; i < 10; i++) expect((await call(port, 'POST', '/api/projects', { body: { name: 'x'.repeat(200_000) } })).status).toBe(201);
      const body = JSON.stringify({ pad: 'y'.repeat(600_000) });
      for (let i = 0; i < 5; i++) {
        // `call` uses no agent: every request carries `Connection: close`.
        const list = await call(port, 'GET', '/api/projects', { raw: body, headers: { 'Content-Type': 'application/json' } });
        expect(list.status).toBe(200);
        expect((list.json as unknown[]).length).toBe(10);
        expect((await call(port, 'DELETE', '/api/projects/nope', { raw: body, headers: { 'Content-Type': 'application/json' } })).status).toBe(404);
      }
    } finally {
      await api.close();
    }
  });
});
