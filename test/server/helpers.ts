/**
 * Server-folder helpers: a stand-in router and store for tests of the server shell (app, hub, close) without the
 * file store. Starting servers, HTTP and WebSocket helpers live in test/support.
 */
import express, { type RequestHandler } from 'express';
import type { Config } from '../../src/config.js';
import { ContractError } from '../../src/contract-error.js';
import type { HandlerMap, RunningServer, ServerDeps, StoreHandle } from '../../src/server.js';
import { startInProcess } from '../support/server.js';

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

let slowStarted = 0;

/** How many `/api/slow` requests have reached the stand-in router (a test waits for this, not for a sleep). */
export function slowRequestsStarted(): number {
  return slowStarted;
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
    slowStarted++;
    await new Promise((resolve) => setTimeout(resolve, 300));
    res.status(200).json({ slow: true });
  });
  r.post('/api/echo', express.json({ limit: options.maxBodyBytes }), (req, res) => {
    res.status(201).json(req.body);
  });
  return r;
}

/** An in-process server with the stand-in router and store; `close()` also removes its folders. */
export async function startTestServer(
  env: Record<string, string> = {},
  extra: Partial<ServerDeps> & { quarantined?: number } = {},
): Promise<RunningServer & { config: Config; standIn: StandInStore }> {
  const standIn = standInStore(extra.quarantined ?? 0);
  const { quarantined: _quarantined, ...deps } = extra;
  const s = await startInProcess({
    env,
    deps: { openStore: async () => standIn, createApiRouter: standInRouter, validateEvents: false, ...deps },
  });
  // A copy of the running server whose close() is the handle's (which closes the server, then removes the folders).
  return { ...s.server, config: s.config, standIn, close: s.close };
}
