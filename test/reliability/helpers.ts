/**
 * Helpers for the reliability tests (issue 6): the real entry point as a child process, a keep-alive HTTP
 * client, a seeded PRNG, a data-folder walker and the figures log.
 *
 * The child runs `node --import tsx src/main.ts` rather than `npx tsx src/main.ts`: it starts ~100 ms faster
 * (measured: ~510 ms vs ~620 ms to "Server running" on the CI machine) and, more importantly, it is ONE
 * process — the tsx binary forks a second node process, so a SIGKILL to it would leave the real server alive.
 */
import { freePort } from '../support/http.js';
import { rawRequest, type RawResponse } from '../support/http.js';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** MAESTRO_SOAK=1 → long versions (`npm run test:soak`). */
export const SOAK = process.env.MAESTRO_SOAK === '1';

export function tempRoot(prefix = 'maestro-reliability-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}


export interface ChildServer {
  proc: ChildProcess;
  pid: number;
  port: number;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resident set size of the child in KiB (/proc/<pid>/status VmRSS). */
  rssKiB(): number;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

/** SIGKILLs every child this module started that is still running (afterAll/afterEach safety net). */
export function killAllChildren(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  live.clear();
}

/** Starts `node --import tsx src/main.ts` with `env` (plus PATH and HOME); does not wait for it to listen. */
export function spawnServer(env: Record<string, string>, port: number): ChildServer {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: env.HOME ?? os.tmpdir(),
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    pid: proc.pid!,
    port,
    output: () => out,
    exited,
    rssKiB: () => {
      const status = fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (!m) throw new Error('no VmRSS');
      return Number(m[1]);
    },
    kill: async (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Waits until the child printed `text` (rejects if it exits first or after `timeoutMs`). */
export async function waitForOutput(child: ChildServer, text: string | RegExp, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  const has = () => (typeof text === 'string' ? child.output().includes(text) : text.test(child.output()));
  while (!has()) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`server exited (${child.proc.exitCode ?? child.proc.signalCode}) before "${text}":\n${child.output()}`);
    }
    if (Date.now() > end) throw new Error(`no "${text}" after ${timeoutMs} ms:\n${child.output()}`);
    await sleep(5);
  }
}

/**
 * Starts a child server and waits until it answers `GET /health` (LOG_LEVEL defaults to `warn` so that the
 * per-request log lines cost nothing; the readiness probe does not depend on the "Server running" line).
 * The data folder's parent holds HOME, SESSION_DIR and SKILLS_DIR unless `env` says otherwise.
 */
export async function startChild(dataDir: string, env: Record<string, string> = {}, port?: number): Promise<ChildServer> {
  const parent = path.dirname(dataDir);
  let p = port ?? (await freePort());
  for (let attempt = 1; ; attempt++) {
    const child = spawnServer(
      {
        HOME: parent,
        DATA_DIR: dataDir,
        SESSION_DIR: path.join(parent, 'sessions'),
        SKILLS_DIR: path.join(parent, 'skills'),
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
        ...env,
      },
      p,
    );
    try {
      await waitReady(child);
      return child;
    } catch (err) {
      // Another process took the port meanwhile (other test files open connections from the same range): retry
      // on a fresh one. Callers use `child.port`.
      if (attempt < 3 && /address already in use/.test(child.output())) {
        p = await freePort();
        continue;
      }
      throw err;
    }
  }
}

/** Polls `GET /health` until it answers 200 (rejects if the child exits first or after `timeoutMs`). */
export async function waitReady(child: ChildServer, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`server exited (${child.proc.exitCode ?? child.proc.signalCode}) before listening:\n${child.output()}`);
    }
    try {
      const r = await call(child.port, 'GET', '/health', { timeoutMs: 1000 });
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > end) throw new Error(`not listening after ${timeoutMs} ms:\n${child.output()}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** mulberry32: a small seeded PRNG so that every run with the same seed makes the same choices. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Reply = RawResponse;

/**
 * One HTTP request to 127.0.0.1:`port`. `body` objects are sent as JSON. Rejects only on a transport error
 * (connection refused or reset: the server died), never on an HTTP status.
 */
export function call(
  port: number,
  method: string,
  urlPath: string,
  options: { body?: unknown; raw?: string | Buffer; headers?: Record<string, string>; agent?: http.Agent; timeoutMs?: number } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | Buffer | undefined = options.raw;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  if (payload !== undefined) headers['Content-Length'] ??= String(Buffer.byteLength(payload));
  return rawRequest(port, method, urlPath, { headers, body: payload, agent: options.agent ?? false, timeoutMs: options.timeoutMs });
}

/** Every file below `root` (relative paths, sorted); directories are not listed. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

/** The path shapes an entity file may have inside DATA_DIR (docs/behaviour.md §5.1). */
export const ENTITY_FILE = /^(projects\/[^/]+\.json|tasks\/[^/]+\/[^/]+\.json|sessions\/[^/]+\.json|queues\/[^/]+\.json|templates\/[^/]+\.json)$/;

/** Percentile (0–100) of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Prints a figure line (visible in the vitest output) and appends it, dated, to
 * `$TMPDIR/maestro-reliability-figures.log` (outside the repository) so docs/reliability.md can quote a run.
 */
export function figure(line: string): void {
  // eslint-disable-next-line no-console
  console.log(line);
  try {
    fs.appendFileSync(path.join(os.tmpdir(), 'maestro-reliability-figures.log'), `${new Date().toISOString()} ${line}\n`);
  } catch {
    /* figures are informative; never fail a test on them */
  }
}

/** Everything the API serves (templates included). */
export interface Snapshot {
  projects: any[];
  tasks: any[];
  sessions: any[];
  queues: Map<string, any>;
  templates: any[];
}

export async function snapshot(port: number): Promise<Snapshot> {
  const get = async (p: string) => {
    const r = await call(port, 'GET', p);
    if (r.status !== 200) throw new Error(`GET ${p} → ${r.status} ${r.text}`);
    return r.json as any;
  };
  const [projects, tasks, sessions, templates] = await Promise.all(['/api/projects', '/api/tasks', '/api/sessions', '/api/templates'].map(get));
  const queues = new Map<string, any>();
  for (const s of sessions) {
    if (s.strategy !== 'queue') continue;
    const r = await call(port, 'GET', `/api/sessions/${s.id}/queue`);
    if (r.status === 200) queues.set(s.id, (r.json as any).queue);
  }
  return { projects, tasks, sessions, queues, templates };
}

/** Every file in DATA_DIR is an entity file in its place (or the lock), parses, and equals what the API serves. */
export function checkDisk(dataDir: string, snap: Snapshot): string[] {
  const problems: string[] = [];
  const expected = new Map<string, unknown>();
  for (const p of snap.projects) expected.set(`projects/${p.id}.json`, p);
  for (const t of snap.tasks) expected.set(`tasks/${t.projectId}/${t.id}.json`, t);
  for (const s of snap.sessions) expected.set(`sessions/${s.id}.json`, s);
  for (const [sid, q] of snap.queues) expected.set(`queues/${sid}.json`, q);
  for (const t of snap.templates) expected.set(`templates/${t.id}.json`, t);
  const seen = new Set<string>();
  for (const f of listFiles(dataDir)) {
    if (f === '.lock') continue;
    if (!ENTITY_FILE.test(f)) {
      problems.push(`unexpected file ${f} (temp file or quarantine left behind?)`);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(path.join(dataDir, f), 'utf8'));
    } catch (err) {
      problems.push(`${f} does not parse: ${(err as Error).message}`);
      continue;
    }
    seen.add(f);
    if (!expected.has(f)) problems.push(`${f} is on disk but not served by the API`);
    else if (JSON.stringify(parsed) !== JSON.stringify(expected.get(f))) problems.push(`${f} differs from the API's answer`);
  }
  for (const f of expected.keys()) if (!seen.has(f)) problems.push(`${f} is served by the API but missing on disk`);
  return problems;
}

export { freePort };
