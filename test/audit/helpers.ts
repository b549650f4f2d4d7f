/**
 * Audit helpers (checks against docs/behaviour.md): the real server (file store, generated router, handlers, hub) with an injectable
 * clock, plus raw JSON requests and a WebSocket recorder. Reuses test/api/harness.ts and test/server/helpers.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import type { Clock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import type { SpawnHooks } from '../../src/handlers/spawn.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { JSON_CT, openClient, request, testConfig, waitFor, type RawResponse } from '../server/helpers.js';

export { JSON_CT, waitFor, testConfig };

export interface Envelope {
  type: string;
  event: string;
  data: any;
  timestamp: number;
}

export interface AuditServer {
  config: Config;
  server: RunningServer;
  port: number;
  /** Every envelope the default WS client received (not emptied automatically). */
  received: Envelope[];
  ws: WebSocket;
  raw(method: string, urlPath: string, options?: { headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse>;
  /** A request with a JSON body (`undefined` = no body). Answers the parsed body as `any` for brevity. */
  call(method: string, urlPath: string, body?: unknown): Promise<RawResponse & { body: any }>;
  /** Like `call`, but fails the test unless the status is `status`. */
  ok(method: string, urlPath: string, body?: unknown, status?: number): Promise<any>;
  /**
   * Returns (and clears) the recorded envelopes: waits until `expected` have arrived (then a short grace period
   * for anything extra), or 40 ms when `expected` is not given.
   */
  drain(expected?: number): Promise<Envelope[]>;
  readData(relative: string): any;
  close(): Promise<void>;
}

export async function startAudit(
  options: { config?: Config; clock?: Clock; logger?: Logger; validateEvents?: boolean; spawnHooks?: SpawnHooks } = {},
): Promise<AuditServer> {
  const config = options.config ?? testConfig();
  const server = await startServer(config, {
    logger: options.logger ?? silentLogger(),
    clock: options.clock,
    ...(options.validateEvents !== undefined && { validateEvents: options.validateEvents }),
    ...(options.spawnHooks !== undefined && { spawnHooks: options.spawnHooks }),
  });
  const ws = await openClient(server.port);
  const received: Envelope[] = [];
  ws.on('message', (data) => received.push(JSON.parse(String(data)) as Envelope));
  const raw: AuditServer['raw'] = (method, urlPath, opts = {}) => request(server.port, method, urlPath, opts);
  const call: AuditServer['call'] = async (method, urlPath, body) => {
    const res =
      body === undefined
        ? await raw(method, urlPath)
        : await raw(method, urlPath, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return Object.assign(res, { body: res.json as any });
  };
  return {
    config,
    server,
    port: server.port,
    received,
    ws,
    raw,
    call,
    async ok(method, urlPath, body, status) {
      const res = await call(method, urlPath, body);
      const expected = status ?? (method === 'POST' && /^\/api\/(projects|tasks|sessions|sessions\/spawn|templates)$/.test(urlPath) ? 201 : 200);
      expect(res.status, `${method} ${urlPath} → ${res.text}`).toBe(expected);
      return res.body;
    },
    async drain(expected) {
      if (expected === undefined) await sleep(40);
      else {
        const end = Date.now() + 2000;
        while (received.length < expected && Date.now() < end) await sleep(2);
        await sleep(10);
      }
      return received.splice(0);
    },
    readData(relative) {
      return JSON.parse(fs.readFileSync(path.join(config.dataDir, relative), 'utf8'));
    },
    async close() {
      ws.terminate();
      await server.close();
    },
  };
}

/** Every file under `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Every file under `dir` (but the lock) with its content: to check that a failed request changed nothing. */
export function fileContents(dir: string): Record<string, string> {
  return Object.fromEntries(
    listFiles(dir)
      .filter((f) => f !== '.lock')
      .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
  );
}

/** What the API shows of the stored entities. */
export async function apiState(a: AuditServer) {
  return {
    projects: await a.ok('GET', '/api/projects'),
    tasks: await a.ok('GET', '/api/tasks'),
    sessions: await a.ok('GET', '/api/sessions'),
    templates: await a.ok('GET', '/api/templates'),
  };
}

/** Writes `value` as a JSON file at `dir/relative`, creating folders. */
export function writeJson(dir: string, relative: string, value: unknown): void {
  const file = path.join(dir, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
