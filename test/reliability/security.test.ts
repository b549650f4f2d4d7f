/**
 * Security (issue 6; docs/behaviour.md §6.2, §6.3, §3.3, §4.1, §5.6): loopback by default, no unauthenticated public bind,
 * the token on every route (from spec/openapi.yaml) and on the WebSocket upgrade, CORS allow-list, DNS-rebinding
 * Host guard, body and frame size limits, and ids with path characters that never reach the filesystem.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { WebSocket } from 'ws';
import { loadConfig } from '../../src/config.js';
import { call, type RawResponse, type Reply } from '../support/http.js';
import { killAllChildren, REPO_ROOT, spawnChild, startChild, startInProcess, waitReady, type InProcessOptions, type InProcessServer } from '../support/server.js';
import { listFiles, tempDir } from '../support/temp.js';
import { closeCode, openClient, refusedUpgrade } from '../support/ws.js';
import { figure } from './helpers.js';

afterAll(killAllChildren);

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * Every API operation of spec/openapi.yaml as [METHOD, path with its parameters filled in]. The static file
 * routes (`x-static`: /docs, /ui, no token by docs/behaviour.md §14.3) are tested in test/http/static.test.ts.
 */
function specOperations(fill: (param: string) => string = () => 'x'): Array<[string, string, string]> {
  const spec = parse(fs.readFileSync(path.join(REPO_ROOT, 'spec/openapi.yaml'), 'utf8')) as { paths: Record<string, Record<string, { operationId: string; 'x-static'?: boolean }>> };
  const ops: Array<[string, string, string]> = [];
  for (const [p, item] of Object.entries(spec.paths)) {
    for (const m of METHODS) {
      if (item[m] && item[m]['x-static'] !== true) ops.push([m.toUpperCase(), p.replace(/\{(\w+)\}/g, (_, name: string) => fill(name)), item[m].operationId]);
    }
  }
  return ops;
}

function expectErrorBody(res: RawResponse, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.json).toMatchObject({ error: true, code });
  expect(Object.keys(res.json as object).every((k) => ['error', 'code', 'message', 'details'].includes(k))).toBe(true);
}

let servers: InProcessServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
async function serve(options: InProcessOptions = {}): Promise<InProcessServer> {
  const s = await startInProcess(options);
  servers.push(s);
  return s;
}

describe('binding', () => {
  it('the default bind is loopback (127.0.0.1); not reachable on other interfaces', async () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    const root = tempDir('maestro-reliability-');
    const child = await spawnChild({ root, env: { LOG_LEVEL: 'info' } });
    try {
      await waitReady(child);
      expect(child.output()).toContain(`Server running at http://127.0.0.1:${child.port}`);
      const external = Object.values(os.networkInterfaces()).flat().filter((i) => i && i.family === 'IPv4' && !i.internal);
      for (const iface of external) {
        const reached = await new Promise<boolean>((resolve) => {
          const req = http.get({ host: iface!.address, port: child.port, path: '/health', timeout: 1000 }, () => resolve(true));
          req.on('error', () => resolve(false));
          req.on('timeout', () => {
            req.destroy();
            resolve(false);
          });
        });
        expect(reached, `reachable on ${iface!.address}`).toBe(false);
      }
    } finally {
      await child.kill('SIGTERM');
    }
  }, 30_000);

  it.each<[Record<string, string>, 1 | 'runs']>([
    [{ HOST: '0.0.0.0' }, 1],
    [{ HOST: '::' }, 1],
    [{ HOST: '0.0.0.0', MAESTRO_ALLOW_UNAUTHENTICATED: 'TRUE' }, 1], // only the exact string `true`
    [{ HOST: '0.0.0.0', MAESTRO_API_TOKEN: '' }, 1], // empty = unset
    [{ HOST: '0.0.0.0', MAESTRO_ALLOW_UNAUTHENTICATED: 'true' }, 'runs'],
    [{ HOST: '0.0.0.0', MAESTRO_API_TOKEN: 's3cret-token' }, 'runs'],
  ])('non-loopback bind %j → %s', async (extra, outcome) => {
    const root = tempDir('maestro-reliability-');
    const child = await spawnChild({ root, env: { LOG_LEVEL: 'info', ...extra } });
    if (outcome === 1) {
      const { code } = await child.exited;
      expect(code).toBe(1);
      expect(child.output()).toContain('CONFIG_ERROR');
      expect(child.output()).toContain('MAESTRO_API_TOKEN');
      expect(child.output()).not.toContain('Server running');
    } else {
      await waitReady(child);
      if (extra.MAESTRO_ALLOW_UNAUTHENTICATED) expect(child.output()).toMatch(/WARN/);
      await child.kill('SIGTERM');
    }
  }, 30_000);
});

describe('token', () => {
  const TOKEN = 'correct-horse-battery-staple-42';

  it('every operation of the spec and the WS upgrade need the token; GET /health and OPTIONS do not', async () => {
    const server = await serve({ env: { MAESTRO_API_TOKEN: TOKEN } });
    const port = server.port;
    const ops = specOperations();
    expect(ops.length).toBe(44);
    const wrong = {
      missing: {},
      'same length': { Authorization: `Bearer ${TOKEN.slice(0, -1)}X` },
      shorter: { Authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      longer: { Authorization: `Bearer ${TOKEN}0` },
      prefix: { Authorization: `Bearer ${TOKEN.slice(0, 3)}` },
      'other scheme': { Authorization: `Basic ${TOKEN}` },
      'token without scheme': { Authorization: TOKEN },
      'empty bearer': { Authorization: 'Bearer ' },
    } as Record<string, Record<string, string>>;
    let refused = 0;
    for (const [method, p, operationId] of ops) {
      const exempt = operationId === 'getHealth';
      for (const [label, headers] of Object.entries(wrong)) {
        const res = await call(port, method, p, { headers, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
        if (exempt) {
          expect(res.status, `${method} ${p} (${label})`).toBe(200);
          continue;
        }
        expectErrorBody(res, 401, 'UNAUTHORIZED');
        expect(res.headers['www-authenticate'], `${method} ${p}`).toBe('Bearer');
        refused++;
      }
      // The query parameter is for WebSocket upgrades only.
      if (!exempt) expect((await call(port, method, `${p}?token=${TOKEN}`)).status).toBe(401);
      // The right token (scheme case-insensitive) passes authentication: whatever the answer, it is not 401.
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const res = await call(port, method, p, { headers: { Authorization: `${scheme} ${TOKEN}` }, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
        expect(res.status, `${method} ${p} with the token`).not.toBe(401);
      }
      // OPTIONS is never authenticated.
      expect((await call(port, 'OPTIONS', p)).status).toBe(204);
      expect((await call(port, 'OPTIONS', p, { headers: { Origin: 'http://localhost:5173', 'Access-Control-Request-Method': method } })).status).toBe(204);
    }
    // HEAD /health too, and an unknown route is 401 before 404 (nothing about the API is revealed).
    expect((await call(port, 'HEAD', '/health')).status).toBe(200);
    expectErrorBody(await call(port, 'GET', '/api/does-not-exist'), 401, 'UNAUTHORIZED');

    // WebSocket upgrade.
    for (const headers of Object.values(wrong)) {
      const res = await refusedUpgrade(port, { headers });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body).toMatchObject({ error: true, code: 'UNAUTHORIZED' });
    }
    expect((await refusedUpgrade(port, { path: `/?token=${TOKEN}x` })).status).toBe(401);
    (await openClient(port, { headers: { Authorization: `Bearer ${TOKEN}` } })).close();
    (await openClient(port, { path: `/?token=${encodeURIComponent(TOKEN)}` })).close();
    figure(`security: token required on ${ops.length - 1}/${ops.length - 1} protected operations + WS upgrade (${refused} refused requests), exempt: GET /health, OPTIONS (and the static /docs and /ui files, test/http/static.test.ts)`);
  }, 60_000);

  it('the token never appears in responses, files or logs (child process, LOG_LEVEL=debug)', async () => {
    const root = tempDir('maestro-reliability-');
    const child = await startChild({ root, env: { MAESTRO_API_TOKEN: TOKEN, LOG_LEVEL: 'debug', NODE_ENV: 'development' } });
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const texts: string[] = [];
    texts.push((await call(child.port, 'GET', `/api/projects?token=${TOKEN}`, { headers: { Authorization: `Bearer ${TOKEN}x` } })).text);
    const p = await call(child.port, 'POST', '/api/projects', { headers: auth, body: { name: 'p' } });
    texts.push(p.text);
    const t = await call(child.port, 'POST', '/api/tasks', { headers: auth, body: { projectId: (p.json as { id: string }).id, title: 't' } });
    texts.push(t.text);
    const spawned = await call(child.port, 'POST', '/api/sessions/spawn', {
      headers: auth,
      body: { projectId: (p.json as { id: string }).id, taskIds: [(t.json as { id: string }).id], spawnSource: 'ui' },
    });
    texts.push(spawned.text, (await call(child.port, 'GET', '/api/sessions', { headers: auth })).text);
    await child.kill('SIGTERM');
    for (const text of texts) expect(text).not.toContain(TOKEN);
    expect(child.output()).not.toContain(TOKEN);
    for (const f of listFiles(root)) expect(fs.readFileSync(path.join(root, f), 'utf8'), f).not.toContain(TOKEN);
    fs.rmSync(root, { recursive: true, force: true });
  }, 30_000);
});

describe('CORS, Host guard and size limits', () => {
  it('CORS answers only allowed origins (default list and CORS_ORIGINS); WS upgrades from other origins get 403', async () => {
    const def = await serve();
    for (const origin of ['http://localhost:5173', 'https://127.0.0.1', 'http://[::1]:8080', 'tauri://localhost', 'HTTP://LOCALHOST:3000']) {
      const res = await call(def.port, 'GET', '/api/projects', { headers: { Origin: origin } });
      expect(res.headers['access-control-allow-origin'], origin).toBe(origin);
      const pre = await call(def.port, 'OPTIONS', '/api/projects', { headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-methods']).toContain('POST');
      (await openClient(def.port, { headers: { Origin: origin } })).close();
    }
    for (const origin of ['http://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.evil.example', 'null', 'file://', 'https://localhost@evil.example', 'http://localhost:5173/path']) {
      const res = await call(def.port, 'GET', '/api/projects', { headers: { Origin: origin } });
      expect(res.status).toBe(200); // still processed, just no CORS headers
      expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
      const pre = await call(def.port, 'OPTIONS', '/api/projects', { headers: { Origin: origin, 'Access-Control-Request-Method': 'DELETE' } });
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      expect(pre.headers['access-control-allow-methods']).toBeUndefined();
      const ws = await refusedUpgrade(def.port, { headers: { Origin: origin } });
      expect(ws.status).toBe(403);
      expect(ws.body).toMatchObject({ error: true, code: 'FORBIDDEN' });
    }
    const listed = await serve({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    expect((await call(listed.port, 'GET', '/health', { headers: { Origin: 'https://app.example.com' } })).headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect((await call(listed.port, 'GET', '/health', { headers: { Origin: 'http://localhost:5173' } })).headers['access-control-allow-origin']).toBeUndefined();
    expect((await call(listed.port, 'GET', '/health', { headers: { Origin: 'https://app.example.com.evil' } })).headers['access-control-allow-origin']).toBeUndefined();
  });

  it('while bound to loopback, a non-loopback Host header gets 403 (HTTP on every route, and the WS upgrade)', async () => {
    const server = await serve();
    const bad = ['evil.example', 'evil.example:80', 'localhost.evil.example', '127.0.0.1.nip.io', 'attacker.localhost', '0.0.0.0', '[::]', '10.0.0.1', '192.168.1.1:3000', '[::ffff:7f00:1]x', '127.0.0.256'];
    const good = ['localhost', 'LOCALHOST:3000', '127.0.0.1', '127.1.2.3:9', '[::1]', '[::1]:3000'];
    for (const host of bad) {
      for (const [method, p] of [...specOperations().map(([m, q]) => [m, q] as const), ['OPTIONS', '/api/projects'] as const]) {
        expectErrorBody(await call(server.port, method, p, { headers: { Host: host } }), 403, 'FORBIDDEN');
      }
      const ws = await refusedUpgrade(server.port, { headers: { Host: host } });
      expect(ws.status, host).toBe(403);
      expect(ws.body).toMatchObject({ code: 'FORBIDDEN' });
    }
    for (const host of good) {
      expect((await call(server.port, 'GET', '/api/projects', { headers: { Host: host } })).status, host).toBe(200);
      (await openClient(server.port, { headers: { Host: host } })).close();
    }
    // Bound to a non-loopback address (token set), the guard is off: the token protects the server instead.
    const open = await serve({ env: { HOST: '0.0.0.0', MAESTRO_API_TOKEN: 't' } });
    expect((await call(open.port, 'GET', '/api/projects', { headers: { Host: 'maestro.lan', Authorization: 'Bearer t' } })).status).toBe(200);
  }, 60_000);

  it('body limit: 413 by Content-Length and while streaming; WebSocket frames over 64 KiB: close 1009', async () => {
    const server = await serve({ env: { MAESTRO_MAX_BODY_BYTES: '1024' } });
    const big = JSON.stringify({ name: 'x'.repeat(2000) });
    expectErrorBody(await call(server.port, 'POST', '/api/projects', { raw: big, headers: { 'Content-Type': 'application/json' } }), 413, 'PAYLOAD_TOO_LARGE');
    // Chunked, no Content-Length: the limit is enforced while reading.
    const streamed = await new Promise<RawResponse>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/projects', headers: { 'Content-Type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.write('{"name":"');
      let sent = 0;
      const pump = () => {
        if (sent > 64 * 1024 || req.destroyed) return req.end('"}');
        sent += 512;
        req.write('y'.repeat(512), () => setImmediate(pump));
      };
      pump();
    });
    expectErrorBody(streamed, 413, 'PAYLOAD_TOO_LARGE');
    // A body just under the limit is fine, and the server still answers.
    expect((await call(server.port, 'POST', '/api/projects', { body: { name: 'x'.repeat(900) } })).status).toBe(201);
    expect(((await call(server.port, 'GET', '/api/projects')).json as unknown[]).length).toBe(1);

    const ws = await openClient(server.port);
    const closed = closeCode(ws);
    ws.send('x'.repeat(64 * 1024 + 1));
    expect((await closed).code).toBe(1009);
    const ok = await openClient(server.port); // the server keeps accepting clients
    const pong = new Promise<unknown>((resolve) => ok.once('message', (d) => resolve(JSON.parse(String(d)))));
    ok.send(JSON.stringify({ type: 'ping' }));
    expect(await pong).toMatchObject({ type: 'pong' });
    ok.close();
  });
});

describe('ids with path characters never reach the filesystem', () => {
  it('a barrage of path-like ids on every route and in bodies leaves no stray file anywhere around DATA_DIR', async () => {
    // DATA_DIR three levels down, so that `../..` lands inside the folder this test walks.
    const root = tempDir('maestro-reliability-');
    const base = path.join(root, 'l1', 'l2');
    fs.writeFileSync(path.join(root, 'secret.json'), JSON.stringify({ id: 'secret', name: 'outside' }));
    let server = await serve({ root: base, skills: { 'maestro-worker': { name: 'maestro-worker', version: '1.0.0', description: 'd' } } });
    const port = server.port;
    const p = (await call(port, 'POST', '/api/projects', { body: { name: 'P' } })).json as { id: string };
    const t = (await call(port, 'POST', '/api/tasks', { body: { projectId: p.id, title: 'T' } })).json as { id: string };

    const raw = ['..', '.', '../x', '../../x', '../../../secret', '..\\..\\x', '/etc/passwd', 'a/b', 'a\\b', 'a\u0000b', 'C:\\x', '~', '~/x', '....//x', 'x/..', '%', '../data/.lock', 'ü', ''];
    const encoded = [...raw.map(encodeURIComponent), '%2e%2e', '%2E%2E%2F%2E%2E%2Fsecret', '..%2f..%2fsecret', '%252e%252e%252f', '%c0%ae%c0%ae%2f', '..%c0%af', '%00', 'x%00.json'];
    let requests = 0;
    const send = async (method: string, url: string, body?: unknown) => {
      const res = await call(port, method, url, { body });
      requests++;
      expect(res.status, `${method} ${url} ${JSON.stringify(body)} → ${res.text}`).toBeLessThan(500);
      return res;
    };
    for (const id of encoded) {
      for (const [method, url] of specOperations((param) => (param === 'role' ? 'worker' : id))) {
        await send(method, url, method === 'GET' || method === 'DELETE' ? undefined : { name: 'n', content: 'c', taskId: t.id, message: 'm', type: 't', sessionId: 's' });
      }
      await send('POST', `/api/sessions/${id}/tasks/${t.id}`);
      await send('DELETE', `/api/sessions/x/tasks/${id}`);
      await send('GET', `/api/skills/${id}`);
      await send('GET', `/api/templates/role/${id}`);
      await send('GET', `/api/templates/default/${id}`);
    }
    for (const id of raw) {
      // Any other reference is looked up and unknown (404); a blank one may also be refused as missing (400).
      const unknown = (res: Reply) => expect(id === '' ? [400, 404] : [404], `${id}: ${res.text}`).toContain(res.status);
      expect((await send('POST', '/api/sessions', { id, projectId: p.id, taskIds: [] })).status).toBe(400);
      unknown(await send('POST', '/api/tasks', { projectId: id, title: 'x' }));
      unknown(await send('POST', '/api/tasks', { projectId: p.id, title: 'x', parentId: id }));
      unknown(await send('POST', '/api/sessions', { projectId: id, taskIds: [] }));
      unknown(await send('POST', '/api/sessions', { projectId: p.id, taskIds: [id] }));
      unknown(await send('PATCH', `/api/tasks/${t.id}`, { sessionIds: [id] }));
      unknown(await send('POST', '/api/sessions/spawn', { projectId: id, taskIds: [t.id], spawnSource: 'ui' }));
      unknown(await send('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [id], spawnSource: 'ui' }));
      unknown(await send('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], spawnSource: 'session', sessionId: id }));
      await send('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], spawnSource: 'ui', skills: [id], role: 'worker' });
    }
    // Odd but valid client session ids are files inside sessions/ only, and survive a restart.
    const oddValid = ['...', '.hidden', '-rf', 'x.tmp', '.s.1.abc.tmp', 'a..b', 'CON', 'evil.json', '.lock', 'x'.repeat(128)];
    for (const id of oddValid) expect((await send('POST', '/api/sessions', { id, projectId: p.id, taskIds: [t.id], strategy: 'queue' })).status).toBe(201);

    servers = servers.filter((s) => s !== server);
    server = await server.restart();
    servers.push(server);
    for (const id of oddValid) expect((await call(server.port, 'GET', `/api/sessions/${encodeURIComponent(id)}/queue`)).status, id).toBe(200);
    expect(((await call(server.port, 'GET', '/health')).json as { storage: { quarantined: number } }).storage.quarantined).toBe(0);

    const strays = listFiles(root).filter((f) => {
      if (f === 'secret.json' || f.startsWith(path.join('l1', 'l2', 'skills') + path.sep)) return false;
      const inData = f.startsWith(path.join('l1', 'l2', 'data') + path.sep) ? f.slice(path.join('l1', 'l2', 'data').length + 1) : undefined;
      if (inData !== undefined) return !(inData === '.lock' || /^(projects|sessions|queues|templates)\/[A-Za-z0-9._-]+\.json$/.test(inData) || /^tasks\/[a-z0-9_]+\/[a-z0-9_]+\.json$/.test(inData));
      const inSessions = f.startsWith(path.join('l1', 'l2', 'sessions') + path.sep) ? f.slice(path.join('l1', 'l2', 'sessions').length + 1) : undefined;
      return !(inSessions !== undefined && /^sess_[0-9]+_[0-9a-z]{9}\/manifest\.json$/.test(inSessions));
    });
    expect(strays).toEqual([]);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'secret.json'), 'utf8'))).toEqual({ id: 'secret', name: 'outside' });
    for (const f of ['/etc/passwd.json', '/x.json', path.join(os.tmpdir(), 'x.json')]) expect(fs.existsSync(f), f).toBe(false);
    figure(`security: path-like ids ${raw.length + encoded.length}, requests ${requests}, 5xx 0, stray files 0`);
    fs.rmSync(root, { recursive: true, force: true });
  }, 120_000);
});
