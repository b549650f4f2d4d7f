/**
 * The guards middleware (src/http/guards.ts) through the real server: the order of docs/behaviour.md §3.3 when several
 * guards could answer (Host → OPTIONS/CORS → token), the request log's line for the guards' own answers
 * (§6.5), the log's levels, and the drain of ignored bodies (§0.5) on a kept-alive connection.
 */
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { RunningServer } from '../../src/server.js';
import { startTestServer } from '../server/helpers.js';
import { rawRequest } from '../support/http.js';

const TOKEN = 'guard-token';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const ORIGIN = 'http://localhost:5173';

const servers: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function start(env: Record<string, string>, level: 'debug' | 'info' | 'warn' | 'error' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ format: 'json', level, stream: { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) } });
  const s = await startTestServer(env, { logger });
  servers.push(s);
  const requestLines = () => lines.filter((r) => r.msg === 'request').map((r) => [r.method, r.url, r.status]);
  return { s, lines, requestLines };
}

describe('guard order (docs/behaviour.md §3.3 #0–#2)', () => {
  it('a foreign Host is refused before OPTIONS, CORS and the token: 403, no CORS headers', async () => {
    const { s } = await start({ MAESTRO_API_TOKEN: TOKEN });
    for (const method of ['GET', 'OPTIONS', 'POST', 'HEAD']) {
      const res = await rawRequest(s.port, method, '/api/ok', { headers: { Host: 'evil.example', Origin: ORIGIN } });
      expect(res.status, method).toBe(403);
      expect(res.headers['access-control-allow-origin'], method).toBeUndefined();
      expect(res.headers['www-authenticate'], method).toBeUndefined();
      if (method !== 'HEAD') expect(res.json).toMatchObject({ error: true, code: 'FORBIDDEN' });
    }
  });

  it('OPTIONS needs no token: 204 with the CORS headers', async () => {
    const { s } = await start({ MAESTRO_API_TOKEN: TOKEN });
    const res = await rawRequest(s.port, 'OPTIONS', '/api/ok', { headers: { Origin: ORIGIN } });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST, PUT, PATCH, DELETE, OPTIONS');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('CORS runs before the token check: a 401 carries the CORS headers (a browser can read it)', async () => {
    const { s } = await start({ MAESTRO_API_TOKEN: TOKEN });
    const res = await rawRequest(s.port, 'GET', '/api/ok', { headers: { Origin: ORIGIN } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(res.headers.vary).toBe('Origin');
    const ok = await rawRequest(s.port, 'GET', '/api/ok', { headers: { Origin: ORIGIN, ...AUTH } });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(ORIGIN);
  });

  it('the token exemption is GET/HEAD /health (one trailing slash too) only', async () => {
    const { s } = await start({ MAESTRO_API_TOKEN: TOKEN });
    expect((await rawRequest(s.port, 'GET', '/health/')).status).toBe(200);
    expect((await rawRequest(s.port, 'HEAD', '/health')).status).toBe(200);
    expect((await rawRequest(s.port, 'GET', '/health?x=1')).status).toBe(200);
    expect((await rawRequest(s.port, 'GET', '/Health')).status).toBe(401);
    expect((await rawRequest(s.port, 'DELETE', '/health')).status).toBe(401);
    expect((await rawRequest(s.port, 'GET', '/health//')).status).toBe(401);
  });

  it('without a token and with a loopback Host every guard lets the request through', async () => {
    const { s } = await start({});
    const res = await rawRequest(s.port, 'GET', '/api/ok', { headers: { Host: '127.0.0.1:1234', Origin: 'http://evil.example' } });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('request log (docs/behaviour.md §6.5) through the guards', () => {
  it('the guards’ own 403, 204 and 401 answers get their line, in order; non-/api paths none', async () => {
    const { s, requestLines } = await start({ MAESTRO_API_TOKEN: TOKEN });
    await rawRequest(s.port, 'GET', '/api/ok', { headers: { Host: 'evil.example' } });
    await rawRequest(s.port, 'OPTIONS', '/api/ok');
    await rawRequest(s.port, 'GET', '/api/ok?q=1');
    await rawRequest(s.port, 'GET', '/api/ok', { headers: AUTH });
    await rawRequest(s.port, 'GET', '/api/nope', { headers: AUTH });
    await rawRequest(s.port, 'GET', '/health');
    await rawRequest(s.port, 'GET', '/apix', { headers: AUTH });
    await rawRequest(s.port, 'GET', '/api', { headers: AUTH });
    expect(requestLines()).toEqual([
      ['GET', '/api/ok', 403],
      ['OPTIONS', '/api/ok', 204],
      ['GET', '/api/ok?q=1', 401],
      ['GET', '/api/ok', 200],
      ['GET', '/api/nope', 404],
      ['GET', '/api', 404],
    ]);
  });

  it('LOG_LEVEL=warn: only the 5xx answers get a line (at warn)', async () => {
    const { s, lines, requestLines } = await start({}, 'warn');
    await rawRequest(s.port, 'GET', '/api/ok');
    await rawRequest(s.port, 'GET', '/api/boom');
    await rawRequest(s.port, 'GET', '/api/contract-error');
    expect(requestLines()).toEqual([['GET', '/api/boom', 500]]);
    expect(lines.find((l) => l.msg === 'request')?.level).toBe(40);
  });

  it('LOG_LEVEL=error: no request line at all, and the answers are unchanged', async () => {
    const { s, lines } = await start({ MAESTRO_API_TOKEN: TOKEN }, 'error');
    expect((await rawRequest(s.port, 'GET', '/api/ok', { headers: AUTH })).status).toBe(200);
    expect((await rawRequest(s.port, 'GET', '/api/ok')).status).toBe(401);
    expect((await rawRequest(s.port, 'GET', '/api/boom', { headers: AUTH })).status).toBe(500);
    expect(lines.filter((l) => l.msg === 'request')).toEqual([]);
    // the 500 itself is still logged by the error handler, at error level
    expect(lines.some((l) => l.level === 50)).toBe(true);
  });

  it('a client that goes away before the answer gets a line with status 0', async () => {
    const { s, requestLines } = await start({});
    await new Promise<void>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: s.port, path: '/api/slow', agent: false });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    for (let i = 0; i < 100 && requestLines().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(requestLines()).toEqual([['GET', '/api/slow', 0]]);
  });
});

describe('ignored bodies (docs/behaviour.md §0.5)', () => {
  it('a GET/DELETE with a body is answered and the kept-alive connection keeps working', async () => {
    const { s } = await start({});
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      for (const [method, body] of [
        ['GET', 'not json at all'],
        ['DELETE', 'x'.repeat(70_000)],
        ['GET', ''],
      ] as const) {
        const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = http.request(
            { host: '127.0.0.1', port: s.port, method, path: '/api/ok', agent, headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } },
            (r) => {
              sockets.add(r.socket);
              let text = '';
              r.on('data', (c: Buffer) => (text += c.toString()));
              r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
        expect(res.status, method).toBe(method === 'GET' ? 200 : 404);
      }
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });
});
