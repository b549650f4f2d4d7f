/**
 * PATCH latency while a slow cli-mode spawn runs (issue "One runtime, generated data": the spawn held the store's
 * write lock for the whole CLI run, so every write waited behind it; target p99 under 50 ms during the spawn).
 * A study tool, not part of `npm run bench`.
 *
 *   npx tsx bench/tools/cli-spawn-lock.ts [spawnSeconds=10] [patchesPerSecond=50]
 *
 * A real server on a real port in a temp folder, MANIFEST_GENERATOR=cli with the fake CLI of
 * test/domain/fixtures/fake-maestro.mjs sleeping `spawnSeconds` (FAKE_MAESTRO_DELAY_MS). First a baseline (the same
 * PATCH stream for 3 s without a spawn), then one spawn: from the moment the CLI has started until the spawn
 * answers, an open-loop stream of PATCH /api/tasks/:id (a title change, round-robin over 100 other tasks) at
 * `patchesPerSecond`. Prints the count, p50, p99 and max of the PATCHes sent during the spawn, and the spawn's
 * own duration.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startServer } from '../../src/server.js';
import { rawRequest as request } from '../../test/support/http.js';

const spawnSeconds = Number(process.argv[2] ?? 10);
const rate = Number(process.argv[3] ?? 50);
const FAKE_CLI = path.resolve('test/domain/fixtures/fake-maestro.mjs');

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)]!;
}

function line(name: string, latencies: number[]): string {
  const s = [...latencies].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(1).padStart(8);
  return `${name.padEnd(28)} n=${String(s.length).padStart(4)}  p50 ${f(percentile(s, 50))} ms  p99 ${f(percentile(s, 99))} ms  max ${f(s.at(-1) ?? NaN)} ms`;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-cli-lock-'));
  const calls = path.join(root, 'cli-calls.txt');
  process.env.FAKE_MAESTRO_CALLS = calls;
  const config = loadConfig({
    DATA_DIR: path.join(root, 'data'),
    SESSION_DIR: path.join(root, 'sessions'),
    SKILLS_DIR: path.join(root, 'skills'),
    MANIFEST_GENERATOR: 'cli',
    MAESTRO_CLI_PATH: FAKE_CLI,
  });
  config.port = 0; // any free port
  const server = await startServer(config, { logger: silentLogger() });
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await request(server.port, method, url, {
      headers: { 'Content-Type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${res.text}`);
    return res.json as { id: string; sessionId?: string };
  };
  try {
    const project = await call('POST', '/api/projects', { name: 'P', workingDir: root });
    const spawned = await call('POST', '/api/tasks', { projectId: project.id, title: 'spawned' });
    const others: string[] = [];
    for (let i = 0; i < 100; i++) others.push((await call('POST', '/api/tasks', { projectId: project.id, title: `t${i}` })).id);

    let k = 0;
    /** Open loop: one PATCH every 1000/rate ms until `done()`; resolves with every PATCH's latency. */
    const patchStream = async (done: () => boolean): Promise<number[]> => {
      const latencies: number[] = [];
      const pending: Promise<void>[] = [];
      const interval = 1000 / rate;
      const start = performance.now();
      for (let i = 0; !done(); i++) {
        const wait = start + i * interval - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (done()) break;
        const id = others[k++ % others.length]!;
        const t = performance.now();
        pending.push(call('PATCH', `/api/tasks/${id}`, { title: `renamed ${k}` }).then(() => void latencies.push(performance.now() - t)));
      }
      await Promise.all(pending);
      return latencies;
    };

    const baselineUntil = performance.now() + 3000;
    const baseline = await patchStream(() => performance.now() >= baselineUntil);

    process.env.FAKE_MAESTRO_DELAY_MS = String(spawnSeconds * 1000);
    let answered = false;
    const spawnStart = performance.now();
    const spawn = call('POST', '/api/sessions/spawn', { projectId: project.id, taskIds: [spawned.id] }).finally(() => {
      answered = true;
    });
    while (!fs.existsSync(calls)) await new Promise((r) => setTimeout(r, 5)); // the CLI has started
    const during = await patchStream(() => answered);
    const result = await spawn;
    const spawnMs = performance.now() - spawnStart;

    console.log(`cli-mode spawn with a ${spawnSeconds} s CLI; PATCH open loop at ${rate}/s (node ${process.version}, ${os.cpus().length} CPUs)`);
    console.log(line('PATCH, no spawn (3 s)', baseline));
    console.log(line('PATCH during the spawn', during));
    console.log(`spawn answered 201 in ${(spawnMs / 1000).toFixed(2)} s (${result.sessionId})`);
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
