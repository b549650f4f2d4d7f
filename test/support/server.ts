/**
 * The one way to start a Maestro server under test (test/README.md).
 *
 * - `startInProcess(options)`: `loadConfig(env)` → `startServer(config)` in this process (what src/main.ts does),
 *   on an ephemeral port. Fast; lets a test inject deps (clock, store io, router, spawn hooks, logger).
 * - `startChild(options)`: the real entry point as a child process (`node --import tsx src/main.ts`), on a free
 *   port, ready once `GET /health` answers 200. For crash, signal, exit-code and multi-process tests.
 *   `spawnChild` starts it without waiting (for starts that must fail).
 *
 * Both take the same options (env, root, skills) and return handles of the same shape: port, baseUrl, wsUrl, the
 * folders, `stop()` (graceful; the folders stay), `close()` (stop, then remove the folders this harness made) and
 * `restart()` (a new server on the same folders). Folders: `root/data`, `root/sessions`, `root/skills`, in a fresh
 * temp root unless `root` is given. Invariant: a handle's folders are removed only by `close()` of a handle that
 * made them (or that a restart handed them to), never when the caller supplied them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type RunningServer, type ServerDeps } from '../../src/server.js';
import { call, freePort } from './http.js';
import { removeTempDir, tempDir } from './temp.js';
import { sleep } from './wait.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServerOptions {
  /**
   * Environment variables as `npm start` reads them, over the defaults (the folders below, NODE_ENV); for a child,
   * `undefined` removes a default (`NODE_ENV: undefined`: the server's own default, as a plain shell has it).
   */
  env?: Record<string, string | undefined>;
  /** A folder to hold data/, sessions/ and skills/ (a prepared data folder); default: a fresh temp folder. */
  root?: string;
  /** Skills to write into SKILLS_DIR before the start: id → manifest (skill.md gets a one-line text). */
  skills?: Record<string, { name: string; [key: string]: unknown }>;
}

export interface InProcessOptions extends ServerOptions {
  /** Config fields set after loadConfig (a whole `testConfig()` is fine: its folders are then used). */
  config?: Partial<Config>;
  /** startServer's dependencies; `logger` defaults to a silent one. */
  deps?: Partial<ServerDeps>;
}

export interface ChildOptions extends ServerOptions {
  /** Default: a free port. */
  port?: number;
  /** The checkout to run, and the child's working folder (default: this repository). */
  cwd?: string;
  /**
   * The entry point in the checkout: `'src'` (default) runs `node --import tsx src/main.ts` (one process, so a
   * signal reaches the server itself); `'dist'` runs `node dist/main.js`, the bundle `npm start` runs (build it
   * first: scripts/build-dist.mjs).
   */
  entry?: 'src' | 'dist';
  /** node's arguments instead of the entry's (e.g. a checkout's `scripts.start` words). */
  args?: string[];
  /** The whole command instead of node and its arguments (e.g. an installed `maestro-server` bin). */
  command?: string[];
  /** Arguments for the server itself, after the entry (e.g. `['--help']`). */
  serverArgs?: string[];
  /**
   * A prefix the command runs under, e.g. `['unshare', '--fork', '--pid', '--mount-proc']` (the server as PID 1
   * of a fresh PID namespace) or `['nsenter', '--target', pid, '--pid', '--mount']`. The wrapper must run the
   * server as its only child (or exec it): `serverPid()`, `kill()` and `stop()` then address the server itself.
   */
  wrap?: string[];
  /** How long startChild waits for `GET /health` (default 20 s). */
  readyTimeoutMs?: number;
}

export interface ServerUnderTest {
  root: string;
  dataDir: string;
  sessionDir: string;
  skillsDir: string;
  port: number;
  baseUrl: string;
  wsUrl: string;
}

export interface InProcessServer extends ServerUnderTest {
  config: Config;
  server: RunningServer;
  /** Graceful close (docs/behaviour.md §5.7); the folders stay. Idempotent. */
  stop(): Promise<void>;
  /** stop(), then remove the folders if this harness made them. */
  close(): Promise<void>;
  /** Stops this server and starts a new one on the same folders (options merged over the first ones). */
  restart(overrides?: InProcessOptions): Promise<InProcessServer>;
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface ChildServer extends ServerUnderTest {
  proc: ChildProcess;
  pid: number;
  env: Record<string, string>;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  /** What it wrote to stdout so far. */
  stdout(): string;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** The exit of the spawned process (with `wrap`: the wrapper's, which ends with the server). */
  exited: Promise<Exit>;
  /** The server's own pid: `pid`, or with `wrap` the wrapper's only child (waits until it is there). */
  serverPid(): Promise<number>;
  /** Sends `signal` (default SIGKILL) to the server unless it has exited, and resolves with the exit. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
  /** SIGTERM (SIGKILL after 10 s) and the exit; the folders stay. */
  stop(): Promise<Exit>;
  /** stop(), then remove the folders if this harness made them. */
  close(): Promise<Exit>;
  /** Stops this child and starts a new one on the same folders and port (options merged over the first ones). */
  restart(overrides?: ChildOptions): Promise<ChildServer>;
  /** Resident set size of the child in KiB (/proc/<pid>/status VmRSS). */
  rssKiB(): number;
}

/** A config for `root` (default: a fresh temp folder) as startInProcess builds it, on an ephemeral port. */
export function testConfig(env: Record<string, string | undefined> = {}, root = tempDir('maestro-server-')): Config {
  return { ...loadConfig({ ...folderEnv(root), NODE_ENV: 'test', ...env }), port: 0 };
}

function folderEnv(root: string): Record<string, string> {
  return { DATA_DIR: path.join(root, 'data'), SESSION_DIR: path.join(root, 'sessions'), SKILLS_DIR: path.join(root, 'skills') };
}

/** Picks the root and whether this harness owns (and so removes) it. */
function rootOf(options: InProcessOptions): { root: string; owned: boolean } {
  if (options.root !== undefined) return { root: options.root, owned: false };
  if (options.config?.dataDir !== undefined) return { root: path.dirname(options.config.dataDir), owned: false };
  return { root: tempDir('maestro-server-'), owned: true };
}

function writeSkills(skillsDir: string, skills: ServerOptions['skills'] = {}): void {
  for (const [id, manifest] of Object.entries(skills)) {
    fs.mkdirSync(path.join(skillsDir, id), { recursive: true });
    fs.writeFileSync(path.join(skillsDir, id, 'manifest.json'), JSON.stringify(manifest));
    fs.writeFileSync(path.join(skillsDir, id, 'skill.md'), `# ${manifest.name}\n\nInstructions for ${id}.\n`);
  }
}

function urls(port: number): { baseUrl: string; wsUrl: string } {
  return { baseUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/` };
}

export function startInProcess(options: InProcessOptions = {}): Promise<InProcessServer> {
  const { root, owned } = rootOf(options);
  return startInProcessOn(root, owned, options);
}

async function startInProcessOn(root: string, owned: boolean, options: InProcessOptions): Promise<InProcessServer> {
  const config: Config = { ...testConfig(options.env, root), ...options.config };
  writeSkills(config.skillsDir, options.skills);
  const server = await startServer(config, { logger: silentLogger(), ...options.deps }).catch((err: unknown) => {
    if (owned) removeTempDir(root);
    throw err;
  });
  let ownsRoot = owned;
  return {
    root,
    dataDir: config.dataDir,
    sessionDir: config.sessionDir,
    skillsDir: config.skillsDir,
    port: server.port,
    ...urls(server.port),
    config,
    server,
    stop: () => server.close(),
    async close() {
      await server.close();
      if (ownsRoot) removeTempDir(root);
    },
    async restart(overrides = {}) {
      await server.close();
      // The new handle owns the folders from now on.
      const next = await startInProcessOn(root, ownsRoot, { ...options, ...overrides, skills: undefined });
      ownsRoot = false;
      return next;
    },
  };
}

/** The children started here that still run, each with whether it is a wrapper. */
const liveChildren = new Map<ChildProcess, { wrapped: boolean }>();

/** SIGKILLs every child started here that is still running, and a wrapper's server too (afterAll/afterEach). */
export function killAllChildren(): void {
  for (const [c, { wrapped }] of liveChildren) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    // The server first: a wrapper killed alone may leave it running (unshare does not pass SIGKILL on).
    if (wrapped) for (const pid of childPids(c.pid!)) killQuietly(pid);
    c.kill('SIGKILL');
  }
  liveChildren.clear();
}

function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** The pids of `pid`'s children (/proc); none when it has gone. */
function childPids(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** The program and arguments `options` ask for: [wrap…, command | node args | node entry, serverArgs…]. */
function commandLine(options: ChildOptions): string[] {
  // The entry as an absolute path: a wrapper may change the working folder (nsenter --mount starts at the root).
  const checkout = options.cwd ?? REPO_ROOT;
  const entry = options.entry === 'dist' ? [path.join(checkout, 'dist/main.js')] : ['--import', 'tsx', path.join(checkout, 'src/main.ts')];
  const command = options.command ?? [process.execPath, ...(options.args ?? entry)];
  return [...(options.wrap ?? []), ...command, ...(options.serverArgs ?? [])];
}

/** Starts the child on `options.port` (or a free one) without waiting for it to listen. */
export function spawnChild(options: ChildOptions = {}): Promise<ChildServer> {
  return spawnChildOn(options.root ?? tempDir('maestro-child-'), options.root === undefined, options);
}

/** spawnChild, then waits until `GET /health` answers 200; without a given port, retries once taken ports. */
export async function startChild(options: ChildOptions = {}): Promise<ChildServer> {
  return startChildOn(options.root ?? tempDir('maestro-child-'), options.root === undefined, options);
}

async function startChildOn(root: string, owned: boolean, options: ChildOptions): Promise<ChildServer> {
  for (let attempt = 1; ; attempt++) {
    const child = await spawnChildOn(root, owned, options);
    try {
      await waitReady(child, options.readyTimeoutMs);
      return child;
    } catch (err) {
      // Another process took the free port meanwhile: retry on a fresh one.
      if (options.port === undefined && options.env?.PORT === undefined && attempt < 3 && /address already in use/.test(child.output())) continue;
      if (owned) removeTempDir(root);
      throw err;
    }
  }
}

async function spawnChildOn(root: string, owned: boolean, options: ChildOptions): Promise<ChildServer> {
  // A PORT in `env` wins (a test of a bad PORT value); the handle's port is then that value.
  const port = options.port ?? (options.env?.PORT !== undefined ? Number(options.env.PORT) : await freePort());
  const env: Record<string, string> = {};
  const entries = Object.entries({
    PATH: process.env.PATH ?? '',
    HOME: root,
    ...folderEnv(root),
    // As deployed: production error bodies, and warn-level logs so that per-request lines cost nothing.
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    PORT: String(port),
    ...options.env,
  });
  for (const [name, value] of entries) if (value !== undefined) env[name] = value;
  writeSkills(env.SKILLS_DIR!, options.skills);
  const [program, ...argv] = commandLine(options);
  const proc = spawn(program!, argv, { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const wrapped = options.wrap !== undefined;
  liveChildren.set(proc, { wrapped });
  let out = '';
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    stdout += c.toString();
  });
  proc.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
    stderr += c.toString();
  });
  const exited = new Promise<Exit>((resolve) =>
    proc.once('exit', (code, signal) => {
      liveChildren.delete(proc);
      resolve({ code, signal });
    }),
  );
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const serverPid = async (): Promise<number> => {
    if (!wrapped) return proc.pid!;
    const end = Date.now() + 10_000;
    for (;;) {
      const children = childPids(proc.pid!);
      if (children.length === 1) return children[0]!;
      if (!running()) throw new Error(`the wrapper exited (${proc.exitCode ?? proc.signalCode}) without a server:\n${out}`);
      if (Date.now() > end) throw new Error(`the wrapper ${proc.pid} has no single child:\n${out}`);
      await sleep(20);
    }
  };
  let ownsRoot = owned;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (running()) {
      if (wrapped) killQuietly(await serverPid(), signal);
      else proc.kill(signal);
    }
    return exited;
  };
  const stop = async () => {
    const timer = setTimeout(() => void kill('SIGKILL'), 10_000);
    const exit = await kill('SIGTERM');
    clearTimeout(timer);
    return exit;
  };
  return {
    root,
    dataDir: env.DATA_DIR!,
    sessionDir: env.SESSION_DIR!,
    skillsDir: env.SKILLS_DIR!,
    port,
    ...urls(port),
    proc,
    pid: proc.pid!,
    env,
    output: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    serverPid,
    kill,
    stop,
    async close() {
      const exit = await stop();
      if (ownsRoot) removeTempDir(root);
      return exit;
    },
    async restart(overrides = {}) {
      await stop();
      // Same folders and port; the new handle owns the folders from now on.
      const next = await startChildOn(root, ownsRoot, { ...options, port, ...overrides, skills: undefined });
      ownsRoot = false;
      return next;
    },
    rssKiB() {
      const status = fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (!m) throw new Error('no VmRSS');
      return Number(m[1]);
    },
  };
}

/** Polls `GET /health` until it answers 200 (rejects if the child exits first or after `timeoutMs`). */
export async function waitReady(child: ChildServer, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`server exited (${child.proc.exitCode ?? child.proc.signalCode}) before listening:\n${child.output()}`);
    }
    const status = await call(child.port, 'GET', '/health', { timeoutMs: 1000 }).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (Date.now() > end) throw new Error(`not listening after ${timeoutMs} ms:\n${child.output()}`);
    await sleep(10);
  }
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
