import net from 'node:net';
import { createLogger } from '../../src/log.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_CT, rawRequest as request } from '../support/http.js';
import { startTestServer } from './helpers.js';
import type { RunningServer } from '../../src/server.js';

type Started = Awaited<ReturnType<typeof startTestServer>>;
const servers: RunningServer[] = [];
async function start(env: Record<string, string> = {}, quarantined = 0): Promise<Started> {
  const s = await startTestServer(env, { quarantined });
  servers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

function expectError(res: { status: number; headers: Record<string, unknown>; json: unknown }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe(JSON_CT);
  const body = res.json as Record<string, unknown>;
  expect(body.error).toBe(true);
  expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  expect((body.message as string).length).toBeGreaterThan(0);
  for (const k of Object.keys(body)) expect(['error', 'code', 'message', 'details']).toContain(k);
  return body;
}

describe('health endpoints through the stand-in router', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start({}, 3);
  });

  it('GET /health has the §1.12 shape', async () => {
    const before = Date.now();
    const res = await request(s.port, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(JSON_CT);
    const body = res.json as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['status', 'storage', 'timestamp', 'uptime']);
    expect(body.status).toBe('ok');
    expect(Number.isInteger(body.timestamp)).toBe(true);
    expect(body.timestamp as number).toBeGreaterThanOrEqual(before);
    expect(body.uptime as number).toBeGreaterThan(0);
    expect(body.storage).toEqual({ quarantined: 3 });
  });

  it('GET /ws-status with no clients', async () => {
    const res = await request(s.port, 'GET', '/ws-status');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ connectedClients: 0, clients: [] });
  });
});

describe('host guard (docs/behaviour.md §6.2, §3.3 #0)', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
  });

  it.each(['evil.example.com', 'evil.example.com:3000', '192.168.1.10', '10.0.0.1:80', '[::2]:3000', 'localhost.evil.com', '127.0.0.1.nip.io', '128.0.0.1'])(
    'refuses Host: %s with 403 FORBIDDEN',
    async (host) => {
      const res = await request(s.port, 'GET', '/health', { headers: { Host: host } });
      const body = expectError(res, 403, 'FORBIDDEN');
      expect(body.message).toBe('Host not allowed');
    },
  );

  it('also refuses OPTIONS and unknown routes before anything else', async () => {
    expectError(await request(s.port, 'OPTIONS', '/api/ok', { headers: { Host: 'evil.test' } }), 403, 'FORBIDDEN');
    expectError(await request(s.port, 'GET', '/nope', { headers: { Host: 'evil.test' } }), 403, 'FORBIDDEN');
  });

  it.each(['localhost', 'LOCALHOST:3000', 'localhost:1', '127.0.0.1', '127.1.2.3:8080', '[::1]', '[::1]:3000'])(
    'allows Host: %s',
    async (host) => {
      const res = await request(s.port, 'GET', '/api/ok', { headers: { Host: host } });
      expect(res.status).toBe(200);
    },
  );

  it('is off when bound to a non-loopback address', async () => {
    const open = await start({ HOST: '0.0.0.0', MAESTRO_ALLOW_UNAUTHENTICATED: 'true' });
    const res = await request(open.port, 'GET', '/api/ok', { headers: { Host: 'maestro.lan:3000' } });
    expect(res.status).toBe(200);
  });
});

describe('CORS (docs/behaviour.md §6.3)', () => {
  let def: Started;
  beforeAll(async () => {
    def = await start();
  });

  it.each(['http://localhost:5173', 'http://localhost', 'https://127.0.0.1:8443', 'http://127.9.9.9', 'http://[::1]:3000', 'tauri://localhost', 'HTTP://LOCALHOST:1'])(
    'default list allows %s',
    async (origin) => {
      const res = await request(def.port, 'GET', '/api/ok', { headers: { Origin: origin } });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers['vary']).toBe('Origin');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    },
  );

  it.each(['http://evil.example.com', 'http://localhost.evil.com', 'null', 'http://192.168.1.1:3000', 'ftp://localhost', 'tauri://other'])(
    'default list disallows %s: no CORS headers, request still processed',
    async (origin) => {
      const res = await request(def.port, 'GET', '/api/ok', { headers: { Origin: origin } });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ ok: true });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['vary']).toBeUndefined();
    },
  );

  it('no Origin → no CORS headers', async () => {
    const res = await request(def.port, 'GET', '/api/ok');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('preflight: 204, no body, methods and default headers', async () => {
    const res = await request(def.port, 'OPTIONS', '/api/projects', { headers: { Origin: 'http://localhost:5173' } });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(res.headers['content-type']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST, PUT, PATCH, DELETE, OPTIONS');
    expect(res.headers['access-control-allow-headers']).toBe('Content-Type, Authorization');
  });

  it('preflight echoes the requested headers', async () => {
    const res = await request(def.port, 'OPTIONS', '/anything/at/all', {
      headers: { Origin: 'http://localhost', 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'content-type, x-custom' },
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-headers']).toBe('content-type, x-custom');
  });

  it('preflight from a disallowed origin: 204 without CORS headers', async () => {
    const res = await request(def.port, 'OPTIONS', '/api/ok', { headers: { Origin: 'http://evil.test' } });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('CORS_ORIGINS replaces the default list; scheme and host compare case-insensitively', async () => {
    const s = await start({ CORS_ORIGINS: 'https://app.example.com, http://other.test:8080' });
    const ok = await request(s.port, 'GET', '/api/ok', { headers: { Origin: 'HTTPS://App.Example.com' } });
    expect(ok.headers['access-control-allow-origin']).toBe('HTTPS://App.Example.com');
    const ok2 = await request(s.port, 'GET', '/api/ok', { headers: { Origin: 'http://other.test:8080' } });
    expect(ok2.headers['access-control-allow-origin']).toBe('http://other.test:8080');
    const wrongPort = await request(s.port, 'GET', '/api/ok', { headers: { Origin: 'http://other.test:8081' } });
    expect(wrongPort.headers['access-control-allow-origin']).toBeUndefined();
    const local = await request(s.port, 'GET', '/api/ok', { headers: { Origin: 'http://localhost:5173' } });
    expect(local.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('* allows every origin with the value *', async () => {
    const s = await start({ CORS_ORIGINS: '*' });
    const res = await request(s.port, 'GET', '/api/ok', { headers: { Origin: 'http://anything.example' } });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['vary']).toBe('Origin');
  });

  it('credentials: origin echoed (never *) and Allow-Credentials true', async () => {
    const s = await start({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' });
    const res = await request(s.port, 'GET', '/api/ok', { headers: { Origin: 'http://anything.example' } });
    expect(res.headers['access-control-allow-origin']).toBe('http://anything.example');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const pre = await request(s.port, 'OPTIONS', '/api/ok', { headers: { Origin: 'http://anything.example' } });
    expect(pre.headers['access-control-allow-credentials']).toBe('true');
    expect(pre.headers['access-control-allow-origin']).toBe('http://anything.example');
  });

  it('CORS_ENABLED=false: no CORS headers, OPTIONS still 204', async () => {
    const s = await start({ CORS_ENABLED: 'false' });
    const res = await request(s.port, 'GET', '/api/ok', { headers: { Origin: 'http://localhost:5173' } });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const pre = await request(s.port, 'OPTIONS', '/api/ok', { headers: { Origin: 'http://localhost:5173' } });
    expect(pre.status).toBe(204);
    expect(pre.text).toBe('');
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    expect(pre.headers['access-control-allow-methods']).toBeUndefined();
  });
});

describe('bearer token (docs/behaviour.md §6.2, §3.3 #2)', () => {
  const TOKEN = 'tok-3f9a/+=x';
  let s: Started;
  beforeAll(async () => {
    s = await start({ MAESTRO_API_TOKEN: TOKEN });
  });

  it.each([
    ['no header', {}],
    ['wrong token', { Authorization: 'Bearer nope' }],
    ['token prefix', { Authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['token plus suffix', { Authorization: `Bearer ${TOKEN}x` }],
    ['other scheme', { Authorization: `Basic ${TOKEN}` }],
    ['scheme only', { Authorization: 'Bearer' }],
    ['raw token', { Authorization: TOKEN }],
  ])('%s → 401 UNAUTHORIZED with WWW-Authenticate: Bearer', async (_name, headers) => {
    const res = await request(s.port, 'GET', '/api/ok', { headers: headers as Record<string, string> });
    const body = expectError(res, 401, 'UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.stringify(body)).not.toContain(TOKEN);
  });

  it('protects unknown routes, /ws-status and POST /health too', async () => {
    expectError(await request(s.port, 'GET', '/no/such/route'), 401, 'UNAUTHORIZED');
    expectError(await request(s.port, 'GET', '/ws-status'), 401, 'UNAUTHORIZED');
    expectError(await request(s.port, 'POST', '/health'), 401, 'UNAUTHORIZED');
  });

  it.each([`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER   ${TOKEN}`, `Bearer ${TOKEN}  `])('accepts %j', async (auth) => {
    const res = await request(s.port, 'GET', '/api/ok', { headers: { Authorization: auth } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ok: true });
  });

  it('exempts GET /health, HEAD /health and OPTIONS', async () => {
    expect((await request(s.port, 'GET', '/health')).status).toBe(200);
    const head = await request(s.port, 'HEAD', '/health');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect((await request(s.port, 'OPTIONS', '/api/ok')).status).toBe(204);
  });

  it('without a token configured nothing is required', async () => {
    const open = await start();
    expect((await request(open.port, 'GET', '/api/ok')).status).toBe(200);
  });
});

describe('unknown routes (docs/behaviour.md §2.0.1, §3.3 #3)', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
  });

  it.each([
    ['GET', '/api/nope'],
    ['POST', '/api/ok'],
    ['PUT', '/api/ok'],
    ['PATCH', '/whatever'],
    ['DELETE', '/'],
    ['GET', '/API/OK'],
    ['PROPFIND', '/api/ok'],
  ])('%s %s → 404 NOT_FOUND JSON', async (method, p) => {
    const res = await request(s.port, method, p);
    const body = expectError(res, 404, 'NOT_FOUND');
    expect(body.message).toBe(`Route not found: ${method} ${p}`);
  });

  it('the message has the path without the query string', async () => {
    const res = await request(s.port, 'GET', '/api/missing?x=1');
    expect((res.json as { message: string }).message).toBe('Route not found: GET /api/missing');
  });

  it('HEAD on an unknown route: 404 without body', async () => {
    const res = await request(s.port, 'HEAD', '/api/nope');
    expect(res.status).toBe(404);
    expect(res.text).toBe('');
  });
});

describe('error handler (docs/behaviour.md §3.1, §3.2)', () => {
  let dev: Started;
  let prod: Started;
  beforeAll(async () => {
    dev = await start();
    prod = await start({ NODE_ENV: 'production' });
  });

  it('renders a ContractError with its status and body', async () => {
    const res = await request(dev.port, 'GET', '/api/contract-error');
    expect(expectError(res, 404, 'TASK_NOT_FOUND')).toEqual({ error: true, code: 'TASK_NOT_FOUND', message: 'Task not found' });
  });

  it('an unexpected error → 500 INTERNAL_ERROR with its message, no stack', async () => {
    for (const p of ['/api/boom', '/api/async-boom']) {
      const res = await request(dev.port, 'GET', p);
      const body = expectError(res, 500, 'INTERNAL_ERROR');
      expect(body.message).toContain('kaboom');
      expect(res.text).not.toMatch(/\bat .*\.ts:\d+/);
      expect(res.text).not.toContain('stack');
    }
  });

  it('production hides the exception text', async () => {
    for (const p of ['/api/boom', '/api/async-boom', '/api/internal']) {
      const res = await request(prod.port, 'GET', p);
      expect(expectError(res, 500, 'INTERNAL_ERROR')).toEqual({ error: true, code: 'INTERNAL_ERROR', message: 'Internal server error' });
    }
    const notFound = await request(prod.port, 'GET', '/api/contract-error');
    expect((notFound.json as { message: string }).message).toBe('Task not found');
  });

  it('maps body-parser errors to the protocol codes', async () => {
    const bad = await request(dev.port, 'POST', '/api/echo', { headers: { 'Content-Type': 'application/json' }, body: '{"a":' });
    expect(expectError(bad, 400, 'VALIDATION_ERROR').message).toBe('Invalid JSON body');
    const big = await request(dev.port, 'POST', '/api/echo', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ a: 'x'.repeat(2_000_000) }),
    });
    expect(expectError(big, 413, 'PAYLOAD_TOO_LARGE').message).toBe('Request body exceeds 1048576 bytes');
    const ok = await request(dev.port, 'POST', '/api/echo', { headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' });
    expect(ok.status).toBe(201);
    expect(ok.json).toEqual({ a: 1 });
  });

  it('the server keeps answering after errors', async () => {
    expect((await request(dev.port, 'GET', '/api/ok')).status).toBe(200);
  });
});

describe('request log (docs/behaviour.md §6.5) and parser errors', () => {
  it('one line per /api request with method, url, status and ms; none for /health; no token', async () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', level: 'info', stream: { write: (l: string) => lines.push(l) }, secret: 'log-secret' });
    const s = await startTestServer({ MAESTRO_API_TOKEN: 'log-secret' }, { logger });
    servers.push(s);
    const auth = { Authorization: 'Bearer log-secret' };
    await request(s.port, 'GET', '/api/ok?x=1', { headers: auth });
    await request(s.port, 'GET', '/api/contract-error', { headers: auth });
    await request(s.port, 'DELETE', '/api/nope', { headers: auth });
    await request(s.port, 'GET', '/api/ok');
    await request(s.port, 'GET', '/health');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === 'request');
    expect(records.map((r) => [r.method, r.url, r.status])).toEqual([
      ['GET', '/api/ok?x=1', 200],
      ['GET', '/api/contract-error', 404],
      ['DELETE', '/api/nope', 404],
      ['GET', '/api/ok', 401],
    ]);
    for (const r of records) expect(typeof r.ms).toBe('number');
    expect(lines.join('')).not.toContain('log-secret');
  });

  it('malformed HTTP and oversized headers get JSON errors; the server keeps answering', async () => {
    const s = await start();
    const raw = (payload: string) =>
      new Promise<string>((resolve, reject) => {
        const sock = net.connect(s.port, '127.0.0.1', () => sock.write(payload));
        let out = '';
        sock.on('data', (c: Buffer) => (out += c.toString()));
        sock.on('end', () => resolve(out));
        sock.on('error', reject);
      });
    const garbage = await raw('THIS IS NOT HTTP\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(garbage).toContain('Content-Type: application/json; charset=utf-8');
    expect(JSON.parse(garbage.split('\r\n\r\n')[1]!)).toMatchObject({ error: true, code: 'VALIDATION_ERROR' });
    const huge = await raw(`GET /api/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect((await request(s.port, 'GET', '/api/ok')).status).toBe(200);
  });
});
