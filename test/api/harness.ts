/**
 * API tests' view of the real server (test/support/server.ts, in process): the generated HTTP client, the
 * generated event subscriber, and an EventLog on the subscriber's socket that records every broadcast.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { createClient, type ApiClient } from '../../generated/client/index.js';
import { createEventSubscriber, type EventSubscriber } from '../../generated/client/events.js';
import type { AnyEventEnvelope } from '../../generated/events/index.js';
import type { Config } from '../../src/config.js';
import type { RunningServer } from '../../src/server.js';
import { call, rawRequest, type RawResponse } from '../support/http.js';
import { startInProcess, type InProcessOptions, type InProcessServer } from '../support/server.js';
import { EventLog, type MessageSocket } from '../support/ws.js';

export interface Api {
  config: Config;
  server: RunningServer;
  handle: InProcessServer;
  client: ApiClient;
  events: EventSubscriber;
  log: EventLog;
  /** Every envelope received since the last `expectEvents` (the log's record). */
  received: AnyEventEnvelope[];
  raw(method: string, urlPath: string, options?: { headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse>;
  /** A request with a JSON body. */
  json(method: string, urlPath: string, body: unknown): Promise<RawResponse>;
  close(): Promise<void>;
}

/** Starts a server (options of test/support/server.ts, or a whole config such as `testConfig()`). */
export async function startApi(options: InProcessOptions | Config = {}): Promise<Api> {
  const handle = await startInProcess('dataDir' in options ? { config: options } : options);
  const client = createClient({ baseUrl: handle.baseUrl });
  const events = createEventSubscriber({ url: handle.wsUrl, WebSocket: WebSocket as never });
  await events.ready;
  const log = new EventLog(events.socket as unknown as MessageSocket);
  return {
    config: handle.config,
    server: handle.server,
    handle,
    client,
    events,
    log,
    received: log.received as AnyEventEnvelope[],
    raw: (method, urlPath, options = {}) => rawRequest(handle.port, method, urlPath, options),
    json: (method, urlPath, body) => call(handle.port, method, urlPath, { body }),
    async close() {
      events.close();
      await handle.close();
    },
  };
}

/**
 * Waits until `names.length` events have arrived, settles the log (so anything else the answered requests sent
 * has arrived too), checks that exactly `names` came, in this order, and returns them (the record is emptied).
 */
export async function expectEvents(api: Api, names: string[]): Promise<AnyEventEnvelope[]> {
  const got = (await api.log.take(names.length)) as AnyEventEnvelope[];
  expect(got.map((e) => e.event)).toEqual(names);
  for (const e of got) expect(e.type).toBe(e.event);
  return got;
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
