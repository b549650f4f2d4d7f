/**
 * Audit helpers (checks against docs/behaviour.md): the real server of test/support/server.ts (in process, with an
 * injectable clock and spawn hooks) as seen by one recording WebSocket client, plus JSON calls and state snapshots.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { WebSocket } from 'ws';
import type { Clock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import type { SpawnHooks } from '../../src/handlers/spawn.js';
import type { Logger } from '../../src/log.js';
import type { RunningServer } from '../../src/server.js';
import { call, rawRequest, type RawResponse, type Reply } from '../support/http.js';
import { startInProcess, type InProcessServer } from '../support/server.js';
import { listFiles } from '../support/temp.js';
import { EventLog, type Envelope } from '../support/ws.js';

export interface AuditServer {
  config: Config;
  server: RunningServer;
  handle: InProcessServer;
  port: number;
  /** Every envelope the default WS client received and `drain` has not taken yet. */
  received: Envelope[];
  ws: WebSocket;
  log: EventLog;
  raw(method: string, urlPath: string, options?: { headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse>;
  /** A request with a JSON body (`undefined` = no body). */
  call(method: string, urlPath: string, body?: unknown): Promise<Reply>;
  /** Like `call`, but fails the test unless the status is `status` (default: 201 for creates, else 200). */
  ok(method: string, urlPath: string, body?: unknown, status?: number): Promise<any>;
  /**
   * Returns (and clears) the recorded envelopes once the log has settled: exactly what every answered request
   * sent. `expected`: first wait for that many (for events that do not follow an answer).
   */
  drain(expected?: number): Promise<Envelope[]>;
  readData(relative: string): any;
  close(): Promise<void>;
}

export async function startAudit(
  options: { config?: Config; clock?: Clock; logger?: Logger; validateEvents?: boolean; spawnHooks?: SpawnHooks } = {},
): Promise<AuditServer> {
  const handle = await startInProcess({
    config: options.config,
    deps: {
      ...(options.logger !== undefined && { logger: options.logger }),
      clock: options.clock,
      ...(options.validateEvents !== undefined && { validateEvents: options.validateEvents }),
      ...(options.spawnHooks !== undefined && { spawnHooks: options.spawnHooks }),
    },
  });
  const log = await EventLog.open(handle.port);
  const callJson: AuditServer['call'] = (method, urlPath, body) => call(handle.port, method, urlPath, { body });
  return {
    config: handle.config,
    server: handle.server,
    handle,
    port: handle.port,
    received: log.received,
    ws: log.ws,
    log,
    raw: (method, urlPath, opts = {}) => rawRequest(handle.port, method, urlPath, opts),
    call: callJson,
    async ok(method, urlPath, body, status) {
      const res = await callJson(method, urlPath, body);
      const expected = status ?? (method === 'POST' && /^\/api\/(projects|tasks|sessions|sessions\/spawn|templates)$/.test(urlPath) ? 201 : 200);
      expect(res.status, `${method} ${urlPath} → ${res.text}`).toBe(expected);
      return res.body;
    },
    drain: (expected) => log.take(expected),
    readData(relative) {
      return JSON.parse(fs.readFileSync(path.join(handle.config.dataDir, relative), 'utf8'));
    },
    async close() {
      log.ws.terminate();
      await handle.close();
    },
  };
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
