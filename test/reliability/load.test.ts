/**
 * Load (issue 6; docs/behaviour.md §4.1, §4.5, §12): 50 WebSocket clients stay connected to the real server (child
 * process) while mixed HTTP traffic runs — 60 s in CI, 10 min with MAESTRO_SOAK=1 (MAESTRO_LOAD_SECONDS
 * overrides). Checks: zero 5xx, zero dropped events for the 49 clients that keep reading (each one received
 * exactly the number of events the acknowledged writes emitted, in the same order), resident memory at start
 * and end (child /proc/<pid>/status VmRSS), and one client that never reads (its socket paused) is cut off
 * with 1008 ("slow consumer") without slowing the others (their p99 delivery lag is printed: envelope
 * timestamp → receive time).
 */
import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { call } from '../support/http.js';
import { killAllChildren, startChild } from '../support/server.js';
import { tempDir } from '../support/temp.js';
import { sleep, waitFor } from '../support/wait.js';
import { SOAK, figure, percentile, prng } from './helpers.js';

afterAll(killAllChildren);

const SECONDS = Number(process.env.MAESTRO_LOAD_SECONDS ?? (SOAK ? 600 : 60));
const CLIENTS = 50;
const WRITERS = 8;
/** Big project descriptions make the never-reading client pass the 8 MiB limit well within the run. */
const BIG = 16 * 1024;

interface Reader {
  ws: WebSocket;
  count: number;
  /** Rolling hash of the event names in arrival order: equal hashes = same events in the same order. */
  hash: number;
  lags: number[];
  closed?: number;
  /** Pongs received (not counted as events). */
  pongs: number;
}

function openReader(port: number): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    const r: Reader = { ws, count: 0, hash: 2166136261, lags: [], pongs: 0 };
    ws.on('message', (data: Buffer) => {
      const now = Date.now();
      // Cheap parse: the envelope starts with {"type":"<name>" and ends with "timestamp":<ms>}.
      const head = data.subarray(0, 64).toString('latin1');
      const tail = data.subarray(Math.max(0, data.length - 40)).toString('latin1');
      const name = /^\{"type":"([^"]+)"/.exec(head)?.[1] ?? '?';
      const ts = Number(/"timestamp":(\d+)\}$/.exec(tail)?.[1]);
      if (name === 'pong') {
        r.pongs++;
        return;
      }
      r.count++;
      for (let i = 0; i < name.length; i++) r.hash = Math.imul(r.hash ^ name.charCodeAt(i), 16777619) >>> 0;
      if (Number.isFinite(ts)) r.lags.push(now - ts);
    });
    ws.on('close', (code) => (r.closed = code));
    ws.once('open', () => resolve(r));
    ws.once('error', reject);
  });
}

/** Ping → pong on the reader's connection (docs/behaviour.md §4.3): the pong comes after every earlier event. */
async function settleReader(r: Reader): Promise<void> {
  if (r.ws.readyState !== WebSocket.OPEN) return;
  const expected = r.pongs + 1;
  r.ws.send('{"type":"ping"}');
  await waitFor(() => r.pongs >= expected || r.closed !== undefined, 10_000, 'pong');
}

describe('load: 50 WebSocket clients under mixed traffic', () => {
  it(`${SECONDS} s: zero 5xx, zero dropped events, slow consumer cut off, RSS and p99 lag printed`, async () => {
    const root = tempDir('maestro-reliability-');
    const child = await startChild({ root });
    const port = child.port;

    // Fixtures every writer works on.
    const project = (await call(port, 'POST', '/api/projects', { body: { name: 'load' } })).json as { id: string };
    // Warm up the server (JIT, caches) before the start RSS reading.
    for (let i = 0; i < 200; i++) await call(port, 'GET', '/api/projects');

    const readers: Reader[] = [];
    for (let i = 0; i < CLIENTS - 1; i++) readers.push(await openReader(port));
    const slow = await openReader(port);
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // never reads again
    const status = (await call(port, 'GET', '/ws-status')).json as { connectedClients: number };
    expect(status.connectedClients).toBe(CLIENTS);
    const rssStart = child.rssKiB();
    let rssMax = rssStart;
    const sampler = setInterval(() => {
      try {
        rssMax = Math.max(rssMax, child.rssKiB());
      } catch {
        /* the child is gone; the test fails elsewhere */
      }
    }, 1000);

    let expectedEvents = 0;
    let requests = 0;
    const fiveHundreds: string[] = [];
    const transport: string[] = [];
    const latencies: number[] = [];
    const end = Date.now() + SECONDS * 1000;

    const writer = async (n: number) => {
      const rng = prng(1000 + n);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const tasks: string[] = [];
      const sessions: string[] = [];
      let counter = 0;
      /** One request; `events` is what a 2xx emits (docs/behaviour.md §4.4). */
      const send = async (method: string, url: string, body: unknown, okStatus: number, events: number) => {
        const t0 = performance.now();
        let res;
        try {
          res = await call(port, method, url, { body, agent, timeoutMs: 30_000 });
        } catch (err) {
          transport.push(`${method} ${url}: ${(err as Error).message}`);
          return undefined;
        }
        latencies.push(performance.now() - t0);
        requests++;
        if (res.status >= 500) fiveHundreds.push(`${method} ${url} → ${res.status} ${res.text.slice(0, 200)}`);
        else if (res.status !== okStatus) throw new Error(`${method} ${url} → ${res.status} ${res.text.slice(0, 300)}`);
        else expectedEvents += events;
        return res.json as { id: string };
      };
      while (Date.now() < end) {
        const r = rng();
        if (tasks.length < 5 || (r < 0.1 && tasks.length < 40)) {
          const t = await send('POST', '/api/tasks', { projectId: project.id, title: `w${n}-t${counter++}` }, 201, 1);
          if (t) tasks.push(t.id);
        } else if (r < 0.3) {
          await send('PATCH', `/api/tasks/${tasks[Math.floor(rng() * tasks.length)]}`, { status: ['todo', 'in_progress', 'completed'][Math.floor(rng() * 3)], description: `d${counter++}` }, 200, 1);
        } else if (r < 0.42) {
          await send('PUT', `/api/projects/${project.id}`, { description: `${n}:${counter++}:`.padEnd(BIG, 'x') }, 200, 1);
        } else if (r < 0.52 && sessions.length < 6) {
          const s = await send('POST', '/api/sessions', { projectId: project.id, taskIds: [tasks[Math.floor(rng() * tasks.length)]] }, 201, 2);
          if (s) sessions.push(s.id);
        } else if (r < 0.6 && sessions.length > 0) {
          // One linked task: task:session_removed, session:task_removed, session:deleted.
          await send('DELETE', `/api/sessions/${sessions.shift()}`, undefined, 200, 3);
        } else if (r < 0.72 && sessions.length > 0) {
          await send('POST', `/api/sessions/${sessions[Math.floor(rng() * sessions.length)]}/events`, { type: 'tool_call', data: { n: counter++ } }, 200, 1);
        } else {
          const reads = ['/api/projects', `/api/tasks?projectId=${project.id}&status=todo`, '/api/sessions?active=true', '/health', '/ws-status'];
          await send('GET', reads[Math.floor(rng() * reads.length)]!, undefined, 200, 0);
        }
      }
      agent.destroy();
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, n) => writer(n)));

    // Everything acknowledged was broadcast before its response: wait for the readers to drain their sockets.
    const drainEnd = Date.now() + 20_000;
    while (readers.some((r) => r.count < expectedEvents) && Date.now() < drainEnd) await sleep(50);
    // Then a ping per reader: once its pong is in, every event sent to it before is counted, so `extra` is final.
    await Promise.all(readers.map(settleReader));
    clearInterval(sampler);
    const rssEnd = child.rssKiB();
    rssMax = Math.max(rssMax, rssEnd);
    const finalStatus = (await call(port, 'GET', '/ws-status')).json as { connectedClients: number };
    const cutOff = /1008 slow consumer/.test(child.output());
    slow.ws.terminate();

    const dropped = readers.reduce((s, r) => s + Math.max(0, expectedEvents - r.count), 0);
    const extra = readers.reduce((s, r) => s + Math.max(0, r.count - expectedEvents), 0);
    const lags = readers.flatMap((r) => r.lags);
    const mib = (k: number) => (k / 1024).toFixed(1);
    figure(
      `load: ${SECONDS} s, ${CLIENTS} WS clients, requests ${requests}, 5xx ${fiveHundreds.length}, events broadcast ${expectedEvents}, ` +
        `dropped ${dropped} (49 reading clients), slow consumer cut off ${cutOff ? 'yes (1008)' : 'NO'}, ` +
        `others' delivery lag p50 ${percentile(lags, 50)} ms p99 ${percentile(lags, 99)} ms max ${percentile(lags, 100)} ms, ` +
        `HTTP p99 ${percentile(latencies, 99).toFixed(1)} ms, RSS start ${mib(rssStart)} MiB end ${mib(rssEnd)} MiB max ${mib(rssMax)} MiB`,
    );
    await child.kill('SIGTERM');
    for (const r of readers) r.ws.close();

    expect(fiveHundreds.slice(0, 10), fiveHundreds.slice(0, 10).join('\n')).toEqual([]);
    expect(transport.slice(0, 10)).toEqual([]);
    expect(requests).toBeGreaterThan(SECONDS * 20);
    expect(dropped).toBe(0);
    expect(extra).toBe(0);
    expect(new Set(readers.map((r) => r.hash)).size).toBe(1); // same events, same order, for everyone
    expect(readers.every((r) => r.closed === undefined || r.closed === 1001)).toBe(true);
    // The never-reading client was cut off (logged as 1008) and only it: the 49 readers are still connected.
    expect(cutOff).toBe(true);
    expect(finalStatus.connectedClients).toBe(CLIENTS - 1);
    // Not slowed down: 99 % of the readers' events arrived within a second of their broadcast.
    expect(percentile(lags, 99)).toBeLessThan(1000);
    // docs/behaviour.md §12: runs in 256 MB.
    expect(rssMax).toBeLessThan(256 * 1024);
    fs.rmSync(root, { recursive: true, force: true });
  }, (SECONDS + 90) * 1000);
});
