/**
 * Child processes of the bench: the server under test and the baselines run in their own processes, so the
 * load generator (this process) never shares an event loop with them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  port: number;
  url: string;
  stderr: () => string;
  stop(): Promise<void>;
}

function collect(proc: ChildProcess): () => string {
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 20_000) err = err.slice(-20_000);
  });
  return () => err;
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 8000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** GET `url`; resolves with the status (0 when the connection failed) and body. */
export function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
  });
}

/** POST `{}` to `url`; resolves with the status (0 when the connection failed). */
export function httpPost(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': 2 } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end('{}');
  });
}

/** Poll `url` until it answers 200; returns ms since `since` (performance.now()). */
export async function waitFor200(url: string, since: number, proc: ChildProcess, stderr: () => string, limitMs = 120_000): Promise<number> {
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${stderr()}`);
    const { status } = await httpGet(url, 1000);
    if (status === 200) return performance.now() - since;
    if (performance.now() - since > limitMs) throw new Error(`no 200 from ${url} within ${limitMs} ms: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface MaestroEnv {
  dataDir: string;
  sessionDir: string;
  skillsDir: string;
}

let distBuilt = false;

/**
 * `node scripts/build-dist.mjs` (what `npm start` runs first, as its `prestart`; also `npm run build:dist`), once
 * per bench process: the build is not part of any measurement. Prints how long it took.
 */
export function buildDist(): void {
  if (distBuilt) return;
  const t0 = performance.now();
  execFileSync(process.execPath, ['scripts/build-dist.mjs'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  distBuilt = true;
  process.stderr.write(`bench: built dist/main.js (scripts/build-dist.mjs) in ${Math.round(performance.now() - t0)} ms\n`);
}

/** The node arguments of `npm start` (package.json `"start": "node <args>"`, e.g. `--expose-gc dist/main.js`). */
export function npmStartArgs(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words = pkg.scripts.start!.trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`package.json "start" is expected to run node: ${pkg.scripts.start}`);
  return words.slice(1);
}

/**
 * Our server exactly as `npm start` runs it (the build, once per bench run, then `node --expose-gc dist/main.js`
 * as package.json says),
 * default durability, LOG_LEVEL=error. `nodeArgs` e.g. `--cpu-prof`. Resolves once GET /health answers 200,
 * with the time that took (from the spawn of node; the build is not timed).
 */
export async function startMaestro(env: MaestroEnv, nodeArgs: string[] = []): Promise<Child & { readyMs: number }> {
  buildDist();
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(childEnv)) {
    if (/^(MAESTRO_|CORS_|LOG_|DEBUG$|NODE_ENV$|SERVER_URL$|HOST$|MANIFEST_GENERATOR$|DATABASE_)/.test(k)) delete childEnv[k];
  }
  Object.assign(childEnv, {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: env.dataDir,
    SESSION_DIR: env.sessionDir,
    SKILLS_DIR: env.skillsDir,
    LOG_LEVEL: 'error',
    LOG_FORMAT: 'json',
  });
  const started = performance.now();
  const proc = spawn(process.execPath, [...nodeArgs, ...npmStartArgs()], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr = collect(proc);
  const url = `http://127.0.0.1:${port}`;
  try {
    const readyMs = await waitFor200(`${url}/health`, started, proc, stderr);
    return { proc, port, url, stderr, readyMs, stop: () => stopProcess(proc) };
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
}

/**
 * A baseline server (bench/servers/baseline.ts): `express` / `node` answer GET /api/tasks/:id with the Task
 * JSON in `file`; `durable` writes each POST body durably into folders under `file` (a directory).
 */
export async function startBaseline(kind: 'express' | 'node' | 'durable', file: string): Promise<Child> {
  const port = await freePort();
  const fileEnv = kind === 'durable' ? { BENCH_WRITE_DIR: file } : { BENCH_TASK_FILE: file };
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/servers/baseline.ts'), kind], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), ...fileEnv, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = collect(proc);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`baseline ${kind} exited with ${code}: ${stderr()}`)));
  });
  return { proc, port, url: `http://127.0.0.1:${port}`, stderr, stop: () => stopProcess(proc) };
}

/** Resident set size (and its peak) of a Linux process, in MB; undefined elsewhere. */
export function rssOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(/(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(key)) ?? '')?.[1] ?? NaN);
    return { rssMb: Math.round(kb('VmRSS:') / 102.4) / 10, peakMb: Math.round(kb('VmHWM:') / 102.4) / 10 };
  } catch {
    return undefined;
  }
}
