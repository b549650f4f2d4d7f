/**
 * Request ids (issue 20): every response carries `X-Request-Id` (a sane incoming one, else a generated one), on
 * every path through the pipeline (guards, router, 404, error handler), and the request log line and the 500
 * log carry the same id. Through a real server on a real port.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { RunningServer } from '../../src/server.js';
import { startTestServer } from './helpers.js';
import { rawRequest as request } from '../support/http.js';
import { startApi } from '../api/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const servers: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** A server whose log lines (JSON) are kept. */
async function loggedServer(env: Record<string, string> = {}): Promise<{ s: RunningServer; records: () => Record<string, unknown>[] }> {
  const lines: string[] = [];
  const logger = createLogger({ format: 'json', level: 'info', stream: { write: (l: string) => lines.push(l) } });
  const s = await startTestServer(env, { logger });
  servers.push(s);
  return { s, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('X-Request-Id', () => {
  it('is generated when the request has none: a fresh UUID per request', async () => {
    const { s } = await loggedServer();
    const a = await request(s.port, 'GET', '/api/ok');
    const b = await request(s.port, 'GET', '/api/ok');
    expect(a.status).toBe(200);
    expect(a.headers['x-request-id']).toMatch(UUID);
    expect(b.headers['x-request-id']).toMatch(UUID);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  it('a sane incoming id is echoed and is in the request log line', async () => {
    const { s, records } = await loggedServer();
    const ids = ['a', 'req-42', 'trace:01HZX.abc_DEF-9', 'x'.repeat(128)];
    for (const id of ids) {
      const res = await request(s.port, 'GET', `/api/ok?n=${id.length}`, { headers: { 'X-Request-Id': id } });
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toBe(id);
    }
    const lines = records().filter((r) => r.msg === 'request');
    expect(lines.map((r) => [r.url, r.requestId])).toEqual(ids.map((id) => [`/api/ok?n=${id.length}`, id]));
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['a space', 'two words'],
    ['a quote', 'a"b'],
    ['a slash', 'a/b'],
    ['non-ASCII', 'caf\u00e9'.normalize('NFC')],
    ['an equals sign', 'k=v'],
  ])('an incoming id with %s is replaced by a generated one (and the log has the replacement)', async (_what, bad) => {
    const { s, records } = await loggedServer();
    // node:http refuses non-Latin-1 header values client side; send the bytes as Latin-1 like a raw client could
    const header = Buffer.from(bad, 'utf8').toString('latin1');
    const res = await request(s.port, 'GET', '/api/ok', { headers: { 'X-Request-Id': header } });
    expect(res.status).toBe(200);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(UUID);
    const line = records().find((r) => r.msg === 'request');
    expect(line?.requestId).toBe(id);
    expect(JSON.stringify(records())).not.toContain(JSON.stringify(bad).slice(1, -1));
  });

  it('an id sent twice (joined with ", " by the HTTP layer) is replaced', async () => {
    const { s } = await loggedServer();
    const res = await request(s.port, 'GET', '/api/ok', { headers: { 'X-Request-Id': ['one', 'two'] as unknown as string } });
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it('is on every answer: host guard 403, token 401, OPTIONS 204, 404, ContractError, 500', async () => {
    const { s } = await loggedServer({ MAESTRO_API_TOKEN: 'rid-token' });
    const auth = { Authorization: 'Bearer rid-token' };
    const cases: Array<[number, string, string, Record<string, string>]> = [
      [403, 'GET', '/api/ok', { Host: 'evil.test' }],
      [401, 'GET', '/api/ok', {}],
      [204, 'OPTIONS', '/api/ok', {}],
      [404, 'GET', '/no/such/route', auth],
      [404, 'GET', '/api/contract-error', auth],
      [500, 'GET', '/api/boom', auth],
      [500, 'GET', '/api/async-boom', auth],
      [200, 'GET', '/health', {}],
    ];
    for (const [status, method, url, headers] of cases) {
      const id = `case-${status}-${method}-${url.length}`;
      const res = await request(s.port, method, url, { headers: { ...headers, 'X-Request-Id': id } });
      expect(res.status, `${method} ${url}`).toBe(status);
      expect(res.headers['x-request-id'], `${method} ${url}`).toBe(id);
    }
  });

  it('is on the answers the HTTP parser gives before any request exists (malformed, headers too large)', async () => {
    const { s } = await loggedServer();
    const raw = (payload: string) =>
      new Promise<string>((resolve, reject) => {
        const sock = net.connect(s.port, '127.0.0.1', () => sock.write(payload));
        let out = '';
        sock.on('data', (c: Buffer) => (out += c.toString()));
        sock.on('end', () => resolve(out));
        sock.on('error', reject);
      });
    const garbage = await raw('THIS IS NOT HTTP\r\n\r\n');
    const huge = await raw(`GET /api/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    const ids = [garbage, huge].map((text) => /\r\nX-Request-Id: ([^\r]*)\r\n/.exec(text.split('\r\n\r\n')[0]!)?.[1]);
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(ids[0]).toMatch(UUID);
    expect(ids[1]).toMatch(UUID);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('the 500 log line carries the request id (and so does the request line)', async () => {
    const { s, records } = await loggedServer();
    const res = await request(s.port, 'GET', '/api/boom', { headers: { 'X-Request-Id': 'boom-1' } });
    expect(res.status).toBe(500);
    const failed = records().filter((r) => String(r.msg).startsWith('request failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ requestId: 'boom-1', url: '/api/boom', level: 50 });
    expect((failed[0]!.err as { message?: string }).message).toContain('kaboom');
    const line = records().find((r) => r.msg === 'request');
    expect(line).toMatchObject({ requestId: 'boom-1', status: 500 });
    // a generated id is logged the same way
    const gen = await request(s.port, 'GET', '/api/async-boom');
    const id = gen.headers['x-request-id'];
    expect(id).toMatch(UUID);
    await expect.poll(() => records().filter((r) => String(r.msg).startsWith('request failed')).map((r) => r.requestId)).toEqual([
      'boom-1',
      id,
    ]);
  });

  it('through the generated router and the file store: a GET by id and its 404', async () => {
    const api = await startApi();
    servers.push(api);
    const created = await api.json('POST', '/api/projects', { name: 'rid' });
    expect(created.status).toBe(201);
    expect(created.headers['x-request-id']).toMatch(UUID);
    const id = (created.json as { id: string }).id;
    const got = await api.raw('GET', `/api/projects/${id}`, { headers: { 'X-Request-Id': 'get-by-id' } });
    expect(got.status).toBe(200);
    expect(got.headers['x-request-id']).toBe('get-by-id');
    const missing = await api.raw('GET', '/api/tasks/task_nope', { headers: { 'X-Request-Id': 'missing' } });
    expect(missing.status).toBe(404);
    expect(missing.headers['x-request-id']).toBe('missing');
  });
});

describe('CORS exposes X-Request-Id to browser scripts (only where CORS headers are sent at all)', () => {
  it('an allowed origin gets Access-Control-Expose-Headers: X-Request-Id; a preflight does not', async () => {
    const { s } = await loggedServer();
    const res = await request(s.port, 'GET', '/api/ok', { headers: { Origin: 'http://localhost:5173' } });
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(res.headers['access-control-expose-headers']).toBe('X-Request-Id');
    const pre = await request(s.port, 'OPTIONS', '/api/ok', { headers: { Origin: 'http://localhost:5173' } });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-expose-headers']).toBeUndefined();
  });

  it('a disallowed origin, no origin, or CORS_ENABLED=false: no CORS header at all (docs/behaviour.md §6.3)', async () => {
    const { s } = await loggedServer();
    for (const headers of [{ Origin: 'https://evil.example' }, {}] as Record<string, string>[]) {
      const res = await request(s.port, 'GET', '/api/ok', { headers });
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect(res.headers['access-control-expose-headers']).toBeUndefined();
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
    const { s: off } = await loggedServer({ CORS_ENABLED: 'false' });
    const res = await request(off.port, 'GET', '/api/ok', { headers: { Origin: 'http://localhost:5173' } });
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
});
