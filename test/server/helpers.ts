/** Test helpers for the server tests: configs, a stand-in router and store, a raw HTTP client. */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import express, { type RequestHandler } from 'express';
import { WebSocket } from 'ws';
import { loadConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { ContractError } from '../../src/contract-error.js';
import { rawRequest, type RawResponse } from '../support/http.js';
import { startServer, type HandlerMap, type RunningServer, type ServerDeps, type StoreHandle } from '../../src/server.js';

export function tempDir(prefix = 'maestro-server-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A validated config from `env`, listening on an ephemeral port. */
export function testConfig(env: Record<string, string> = {}): Config {
  const dir = tempDir();
  const config = loadConfig({
    DATA_DIR: path.join(dir, 'data'),
    SESSION_DIR: path.join(dir, 'sessions'),
    SKILLS_DIR: path.join(dir, 'skills'),
    NODE_ENV: 'test',
    ...env,
  });
  return { ...config, port: 0 };
}

export interface StandInStore extends StoreHandle {
  quarantinedCount: number;
  closed: boolean;
}

export function standInStore(quarantined = 0): StandInStore {
  return {
    quarantinedCount: quarantined,
    closed: false,
    async close() {
      this.closed = true;
    },
  };
}

/**
 * A hand-made stand-in for the generated router: /health and /ws-status through the handlers, plus a few
 * /api routes that succeed, throw a ContractError, throw an unexpected error or parse a JSON body.
 */
export function standInRouter(handlers: HandlerMap, options: { maxBodyBytes: number }): RequestHandler {
  const r = express.Router({ caseSensitive: true });
  const call = (name: string): RequestHandler => async (_req, res) => {
    const h = (handlers as Record<string, (input: unknown) => Promise<unknown>>)[name]!;
    res.status(200).json(await h({ params: {}, query: {}, body: {} }));
  };
  r.get('/health', call('getHealth'));
  r.get('/ws-status', call('getWsStatus'));
  r.get('/api/ok', (_req, res) => {
    res.status(200).json({ ok: true });
  });
  r.get('/api/contract-error', () => {
    throw new ContractError(404, 'TASK_NOT_FOUND', 'Task not found');
  });
  r.get('/api/boom', () => {
    throw new Error('kaboom: disk on fire');
  });
  r.get('/api/async-boom', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    throw new Error('async kaboom');
  });
  r.get('/api/internal', () => {
    throw new ContractError(500, 'INTERNAL_ERROR', 'write failed: EIO');
  });
  r.get('/api/slow', async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    res.status(200).json({ slow: true });
  });
  r.post('/api/echo', express.json({ limit: options.maxBodyBytes }), (req, res) => {
    res.status(201).json(req.body);
  });
  return r;
}

export async function startTestServer(
  env: Record<string, string> = {},
  extra: Partial<ServerDeps> & { quarantined?: number } = {},
): Promise<RunningServer & { config: Config; standIn: StandInStore }> {
  const config = testConfig(env);
  const standIn = standInStore(extra.quarantined ?? 0);
  const running = await startServer(config, {
    logger: silentLogger(),
    openStore: async () => standIn,
    createApiRouter: standInRouter,
    validateEvents: false,
    ...extra,
  });
  return Object.assign(running, { config, standIn });
}

export type { RawResponse } from '../support/http.js';

/** A plain node:http request, so that Host, Origin and friends can be set freely. */
export function request(
  port: number,
  method: string,
  urlPath: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<RawResponse> {
  return rawRequest(port, method, urlPath, options);
}

/** Opens a WebSocket client and waits for `open`. */
export function openClient(port: number, options: { path?: string; headers?: Record<string, string> } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/'}`, { headers: options.headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

/** Attempts an upgrade that the server should refuse; resolves with the HTTP answer. */
export function refusedUpgrade(
  port: number,
  options: { path?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/'}`, { headers: options.headers });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('upgrade unexpectedly accepted'));
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    ws.once('error', () => undefined);
  });
}

/** Collects the parsed messages a client receives. */
export function collect(ws: WebSocket): unknown[] {
  const got: unknown[] = [];
  ws.on('message', (data) => got.push(JSON.parse(String(data))));
  return got;
}

export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function closeCode(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

export const JSON_CT = 'application/json; charset=utf-8';
