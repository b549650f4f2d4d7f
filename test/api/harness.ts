/**
 * The real server for API tests: file store in a temp DATA_DIR, the generated router and handlers, a real port,
 * the generated HTTP client and a real WebSocket client that records every broadcast.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { createClient, type ApiClient } from '../../generated/client/index.js';
import { createEventSubscriber, type EventSubscriber } from '../../generated/client/events.js';
import type { AnyEventEnvelope } from '../../generated/events/index.js';
import type { Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { request, testConfig, type RawResponse } from '../server/helpers.js';

export interface Api {
  config: Config;
  server: RunningServer;
  client: ApiClient;
  events: EventSubscriber;
  /** Every envelope received since the last `takeEvents`/`expectEvents`. */
  received: AnyEventEnvelope[];
  raw(method: string, urlPath: string, options?: { headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse>;
  /** POST/PUT/PATCH with a JSON body, raw. */
  json(method: string, urlPath: string, body: unknown): Promise<RawResponse>;
  close(): Promise<void>;
}

/** Starts a server on `config` (default: a fresh temp folder). */
export async function startApi(config: Config = testConfig()): Promise<Api> {
  const server = await startServer(config, { logger: silentLogger() });
  const client = createClient({ baseUrl: server.url });
  const events = createEventSubscriber({ url: `ws://127.0.0.1:${server.port}/`, WebSocket: WebSocket as never });
  await events.ready;
  const received: AnyEventEnvelope[] = [];
  events.onAny((e) => received.push(e));
  return {
    config,
    server,
    client,
    events,
    received,
    raw: (method, urlPath, options = {}) => request(server.port, method, urlPath, options),
    json: (method, urlPath, body) =>
      request(server.port, method, urlPath, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
    async close() {
      events.close();
      await server.close();
    },
  };
}

/**
 * Waits until exactly `names` have arrived (in this order), checks that nothing else follows shortly after,
 * and returns them (the record is emptied).
 */
export async function expectEvents(api: Api, names: string[]): Promise<AnyEventEnvelope[]> {
  const deadline = Date.now() + 2000;
  while (api.received.length < names.length && Date.now() < deadline) await sleep(5);
  await sleep(40);
  const got = api.received.splice(0);
  expect(got.map((e) => e.event)).toEqual(names);
  for (const e of got) expect(e.type).toBe(e.event);
  return got;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The parsed JSON file at `DATA_DIR/relative`. */
export function readData(api: Api, relative: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(api.config.dataDir, relative), 'utf8'));
}

export function dataFileExists(api: Api, relative: string): boolean {
  return fs.existsSync(path.join(api.config.dataDir, relative));
}

/** Expects an error body as in docs/behaviour.md §3.1 with `code` (and `details.field` when given). */
export function expectError(res: RawResponse, status: number, code: string, field?: string): void {
  expect(res.status, JSON.stringify(res.json)).toBe(status);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  const body = res.json as Record<string, unknown>;
  expect(body.error).toBe(true);
  expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  expect(Object.keys(body).every((k) => ['error', 'code', 'message', 'details'].includes(k))).toBe(true);
  if (field !== undefined) expect(body.details).toEqual({ field });
}

/** Creates a project and a task through the API (and drops their events). */
export async function projectWithTask(api: Api, title = 'Task one') {
  const project = await api.client.createProject({ body: { name: 'Project', workingDir: '/tmp/project' } });
  const task = await api.client.createTask({ body: { projectId: project.id, title } });
  await expectEvents(api, ['project:created', 'task:created']);
  return { project, task };
}
