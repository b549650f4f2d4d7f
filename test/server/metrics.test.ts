/**
 * `GET /metrics` (issue 20; docs/operations.md): off by default (the usual 404), Prometheus text with
 * MAESTRO_METRICS=true, behind the token when one is set; the counters move by exactly what the requests did.
 * Real servers on real ports, the generated router and the file store in temp folders.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { HubEvent } from '../../src/ws/hub.js';
import { startApi, type Api } from '../api/harness.js';
import { startTestServer } from './helpers.js';
import { rawRequest as request } from '../support/http.js';
import { testConfig } from '../support/server.js';
import { openClient } from '../support/ws.js';

const apis: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(apis.map((a) => a.close()));
});

async function api(env: Record<string, string> = {}): Promise<Api> {
  const a = await startApi(testConfig(env));
  apis.push(a);
  return a;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format's sample lines (`name{a="b",…} value`); comments are skipped. */
function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample `name` with (at least) these labels; 0 when there is none yet. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

async function scrape(port: number, headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await request(port, 'GET', '/metrics', { headers });
  expect(res.status).toBe(200);
  return parseSamples(res.text);
}

describe('GET /metrics is off by default', () => {
  it('without MAESTRO_METRICS (or with anything but "true") it is the usual 404', async () => {
    for (const env of [{}, { MAESTRO_METRICS: 'false' }, { MAESTRO_METRICS: '1' }] as Record<string, string>[]) {
      const a = await api(env);
      const res = await a.raw('GET', '/metrics');
      expect(res.status).toBe(404);
      expect(res.json).toEqual({ error: true, code: 'NOT_FOUND', message: 'Route not found: GET /metrics' });
    }
  });
});

describe('GET /metrics with MAESTRO_METRICS=true', () => {
  it('answers the Prometheus text format with the server metrics and the process metrics', async () => {
    const a = await api({ MAESTRO_METRICS: 'true' });
    const res = await a.raw('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    for (const [name, type] of [
      ['maestro_http_requests_total', 'counter'],
      ['maestro_http_request_duration_seconds', 'histogram'],
      ['maestro_store_commit_rounds_total', 'counter'],
      ['maestro_store_round_mutations', 'histogram'],
      ['maestro_store_fsync_duration_seconds', 'histogram'],
      ['maestro_store_entities', 'gauge'],
      ['maestro_ws_clients', 'gauge'],
      ['maestro_ws_slow_consumer_drops_total', 'counter'],
      ['process_cpu_user_seconds_total', 'counter'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ]) {
      expect(res.text, name).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(() => parseSamples(res.text)).not.toThrow();
    // other methods on /metrics are not a route: 404, no 405
    expect((await a.raw('POST', '/metrics')).status).toBe(404);
    expect((await a.raw('GET', '/metrics/x')).status).toBe(404);
  });

  it('counts requests by operation, method and status, exactly, and their latency by operation', async () => {
    const a = await api({ MAESTRO_METRICS: 'true' });
    const project = (await a.json('POST', '/api/projects', { name: 'm' })).json as { id: string };
    const task = (await a.json('POST', '/api/tasks', { projectId: project.id, title: 't' })).json as { id: string };
    const before = await scrape(a.server.port);
    const ok = { operation: 'getTask', method: 'GET', status: '200' };
    const missing = { operation: 'getTask', method: 'GET', status: '404' };
    for (let i = 0; i < 7; i++) expect((await a.raw('GET', `/api/tasks/${task.id}`)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await a.raw('GET', '/api/tasks/task_missing')).status).toBe(404);
    expect((await a.raw('GET', '/no/such/route')).status).toBe(404);
    const after = await scrape(a.server.port);
    expect(valueOf(after, 'maestro_http_requests_total', ok) - valueOf(before, 'maestro_http_requests_total', ok)).toBe(7);
    expect(valueOf(after, 'maestro_http_requests_total', missing) - valueOf(before, 'maestro_http_requests_total', missing)).toBe(2);
    const none = { operation: 'none', method: 'GET', status: '404' };
    expect(valueOf(after, 'maestro_http_requests_total', none) - valueOf(before, 'maestro_http_requests_total', none)).toBe(1);
    const count = (s: Sample[]) => valueOf(s, 'maestro_http_request_duration_seconds_count', { operation: 'getTask' });
    expect(count(after) - count(before)).toBe(9);
    const infBucket = valueOf(after, 'maestro_http_request_duration_seconds_bucket', { operation: 'getTask', le: '+Inf' });
    expect(infBucket).toBe(count(after));
    expect(valueOf(after, 'maestro_http_request_duration_seconds_sum', { operation: 'getTask' })).toBeGreaterThan(0);
    // the POSTs were counted under their own operations, with their success status
    expect(valueOf(after, 'maestro_http_requests_total', { operation: 'createTask', method: 'POST', status: '201' })).toBe(1);
    // the first scrape is counted (as `metrics`) once it has been answered
    expect(valueOf(after, 'maestro_http_requests_total', { operation: 'metrics', method: 'GET', status: '200' })).toBe(1);
  });

  it('a POST moves the commit round counter, the mutations-per-round and fsync histograms, and the store sizes', async () => {
    const a = await api({ MAESTRO_METRICS: 'true' });
    const before = await scrape(a.server.port);
    expect(valueOf(before, 'maestro_store_entities', { kind: 'project' })).toBe(0);
    const created = await a.json('POST', '/api/projects', { name: 'durable' });
    expect(created.status).toBe(201);
    const after = await scrape(a.server.port);
    const rounds = (s: Sample[]) => valueOf(s, 'maestro_store_commit_rounds_total', { result: 'ok' });
    // one mutation, nothing else writing: exactly one round
    expect(rounds(after) - rounds(before)).toBe(1);
    expect(valueOf(after, 'maestro_store_commit_rounds_total', { result: 'failed' })).toBe(0);
    const perRound = (s: Sample[]) => valueOf(s, 'maestro_store_round_mutations_sum');
    expect(perRound(after) - perRound(before)).toBe(1);
    // the project file's fsync and its folder's
    const fsyncs = (s: Sample[]) => valueOf(s, 'maestro_store_fsync_duration_seconds_count');
    expect(fsyncs(after) - fsyncs(before)).toBeGreaterThanOrEqual(2);
    expect(valueOf(after, 'maestro_store_fsync_duration_seconds_sum')).toBeGreaterThan(0);
    expect(valueOf(after, 'maestro_store_entities', { kind: 'project' })).toBe(1);
    expect(valueOf(after, 'maestro_store_entities', { kind: 'task' })).toBe(0);
    // seeded default templates are counted too
    expect(valueOf(after, 'maestro_store_entities', { kind: 'template' })).toBeGreaterThan(0);
  });

  it('the WebSocket clients gauge follows a connect and a disconnect', async () => {
    const a = await api({ MAESTRO_METRICS: 'true' });
    const clients = async () => valueOf(await scrape(a.server.port), 'maestro_ws_clients');
    const base = await clients(); // the harness's own event subscriber
    expect(base).toBe(a.server.hub.size);
    const ws = await openClient(a.server.port);
    await expect.poll(clients).toBe(base + 1);
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
    await expect.poll(clients).toBe(base);
  });

  it('with a token set, /metrics needs it like every protected route', async () => {
    // the stand-in router: the API harness's event subscriber has no token to connect with
    const s = await startTestServer({ MAESTRO_METRICS: 'true', MAESTRO_API_TOKEN: 'metrics-token' });
    apis.push(s);
    const a = { raw: (method: string, url: string, options = {}) => request(s.port, method, url, options) };
    const none = await a.raw('GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect((none.json as { code: string }).code).toBe('UNAUTHORIZED');
    expect((await a.raw('GET', '/metrics', { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await a.raw('GET', '/metrics', { headers: { Authorization: 'Bearer metrics-token' } });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('# TYPE maestro_http_requests_total counter');
    expect(ok.text).not.toContain('metrics-token');
    // the refused scrapes were counted, as matched by no operation
    const samples = parseSamples(ok.text);
    expect(valueOf(samples, 'maestro_http_requests_total', { operation: 'none', method: 'GET', status: '401' })).toBe(2);
  });
});

describe('slow-consumer drops', () => {
  it('count the clients closed with 1008', async () => {
    const s = await startTestServer(
      { MAESTRO_METRICS: 'true' },
      { validateEvents: false, hubOptions: { maxBufferedBytes: 1024, slowConsumerGraceMs: 50 } },
    );
    apis.push(s);
    const drops = async () => valueOf(await scrape(s.port), 'maestro_ws_slow_consumer_drops_total');
    expect(await drops()).toBe(0);
    const ws: WebSocket = await openClient(s.port);
    await expect.poll(() => s.hub.size).toBe(1);
    ws.pause();
    for (let i = 0; i < 2000 && s.hub.status().clients.every((c) => c.readyState === 1); i++) {
      s.hub.broadcast([{ name: 'task:updated', data: { filler: 'z'.repeat(64 * 1024) } }] as unknown as HubEvent[]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await drops()).toBe(1);
    ws.terminate();
  });
});
