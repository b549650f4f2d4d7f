/**
 * WebSocket broadcast delivery lag: N clients in a separate process (bench/ws-clients.ts), events produced
 * by PATCH /api/tasks/:id at a fixed rate from this process (one `task:updated` per request).
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { ROOT } from './procs.js';

export interface WsLagResult {
  clients: number;
  connected: number;
  eventsPerSec: number;
  eventsSent: number;
  /** Received frames (≈ events × clients). */
  samples: number;
  expectedSamples: number;
  p50: number;
  p99: number;
  max: number;
  failedPatches: number;
  /** Distinct reasons of the failed PATCHes (`HTTP 500`, `ECONNRESET`, …). */
  failures: string[];
  /** Clients whose connection closed while recording (the server dropped them), and masked server frames. */
  closedEarly: number;
  badFrames: number;
}

interface ChildMsg {
  type: string;
  connected?: number;
  message?: string;
  samples?: number;
  p50?: number;
  p99?: number;
  max?: number;
  closedEarly?: number;
  badFrames?: number;
}

export async function measureWsLag(opts: {
  port: number;
  clients: number;
  eventsPerSec: number;
  warmupSec: number;
  durationSec: number;
  taskIds: string[];
}): Promise<WsLagResult> {
  const child = fork(path.join(ROOT, 'bench/ws-clients.ts'), [`ws://127.0.0.1:${opts.port}/`, String(opts.clients)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<ChildMsg>((resolve, reject) => {
      child.once('message', (m) => resolve(m as ChildMsg));
      child.once('exit', (code) => reject(new Error(`ws-clients exited with ${code}`)));
    });
  try {
    const ready = await next();
    if (ready.type !== 'ready') throw new Error(`ws-clients: ${ready.message ?? ready.type}`);

    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let sent = 0;
    let failed = 0;
    /** What the failed PATCHes got (status or error code), to tell a server error from a client-side one. */
    const failures = new Set<string>();
    let seq = 0;
    const patch = () => {
      const id = opts.taskIds[seq++ % opts.taskIds.length]!;
      const body = JSON.stringify({ description: `ws lag probe ${seq}` });
      const req = http.request(
        {
          host: '127.0.0.1',
          port: opts.port,
          method: 'PATCH',
          path: `/api/tasks/${id}`,
          agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          if (res.statusCode !== 200) {
            failed++;
            failures.add(`HTTP ${res.statusCode}`);
          }
          res.resume();
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        failed++;
        failures.add(err.code ?? err.message);
      });
      req.end(body);
      sent++;
    };
    // A fixed schedule (not "every 10 ms after the last one"), so a slow tick does not lower the rate.
    const drive = async (seconds: number) => {
      const interval = 1000 / opts.eventsPerSec;
      const start = performance.now();
      const total = Math.round(seconds * opts.eventsPerSec);
      for (let i = 0; i < total; i++) {
        const due = start + i * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        patch();
      }
    };
    await drive(opts.warmupSec);
    child.send('start');
    sent = 0;
    failed = 0;
    await drive(opts.durationSec);
    await new Promise((r) => setTimeout(r, 500)); // let the last broadcasts arrive
    const resultP = next();
    child.send('stop');
    const r = await resultP;
    agent.destroy();
    return {
      clients: opts.clients,
      connected: ready.connected ?? 0,
      eventsPerSec: opts.eventsPerSec,
      eventsSent: sent,
      samples: r.samples ?? 0,
      expectedSamples: sent * (ready.connected ?? 0),
      p50: r.p50 ?? NaN,
      p99: r.p99 ?? NaN,
      max: r.max ?? NaN,
      failedPatches: failed,
      failures: [...failures],
      closedEarly: r.closedEarly ?? 0,
      badFrames: r.badFrames ?? 0,
    };
  } finally {
    if (child.connected) child.send('exit');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}
