/** The real entry point as a child process: `tsx src/main.ts` (docs/behaviour.md §6.1, §6.4, §5.7). */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Child {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runMain(env: Record<string, string>): Child {
  const dir = tempDir();
  const proc = spawn(TSX, ['src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      DATA_DIR: path.join(dir, 'data'),
      SESSION_DIR: path.join(dir, 'sessions'),
      SKILLS_DIR: path.join(dir, 'skills'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, output: () => out, exited };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe('bad configuration → exit 1 naming the variable (docs/behaviour.md §6.1)', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DATABASE_TYPE: 'postgres' }, 'DATABASE_TYPE=postgres is not supported yet'],
    [{ HOST: '0.0.0.0' }, 'MAESTRO_API_TOKEN or MAESTRO_ALLOW_UNAUTHENTICATED=true'],
  ])('%j', async (env, expected) => {
    const child = runMain(env as Record<string, string>);
    const { code } = await child.exited;
    expect(code).toBe(1);
    expect(child.output()).toContain(expected);
    expect(child.output()).toContain('CONFIG_ERROR');
  });
});

async function waitForOutput(child: Child, text: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!child.output().includes(text)) {
    if (Date.now() > end) throw new Error(`no "${text}" in output:\n${child.output()}`);
    if (child.proc.exitCode !== null) throw new Error(`exited ${child.proc.exitCode} before "${text}":\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('start and graceful stop (docs/behaviour.md §6.4, §5.7)', () => {
  it('serves /health, then SIGTERM closes WS clients with 1001 and exits 0 within 5 s', async () => {
    const { WebSocket } = await import('ws');
    const fs = await import('node:fs');
    const port = await freePort();
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const sessionDir = path.join(dir, 'sessions');
    const child = runMain({ PORT: String(port), DATA_DIR: dataDir, SESSION_DIR: sessionDir, LOG_FORMAT: 'json' });
    await waitForOutput(child, 'Server running');
    expect(child.output()).toContain(`http://127.0.0.1:${port}`);
    expect(fs.existsSync(sessionDir)).toBe(true);
    expect(fs.existsSync(path.join(dataDir, '.lock'))).toBe(true);

    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', storage: { quarantined: 0 } });

    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    const t0 = Date.now();
    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await wsClosed).toBe(1001);
    expect(fs.existsSync(path.join(dataDir, '.lock'))).toBe(false);
  });

  it('a second signal during shutdown exits 1 at once', async () => {
    const { WebSocket } = await import('ws');
    const port = await freePort();
    const child = runMain({ PORT: String(port) });
    await waitForOutput(child, 'Server running');
    // A client that does not read never answers the close handshake, so the first shutdown takes a while.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.pause();
    child.proc.kill('SIGTERM');
    await waitForOutput(child, 'shutting down');
    const t0 = Date.now();
    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(child.output()).toContain('second signal');
    ws.terminate();
  });

  it('a second server on the same DATA_DIR refuses to start (exit 1); a taken port → exit 1', async () => {
    const port = await freePort();
    const dir = tempDir();
    const env = { PORT: String(port), DATA_DIR: path.join(dir, 'data'), SESSION_DIR: path.join(dir, 'sessions') };
    const first = runMain(env);
    await waitForOutput(first, 'Server running');

    const second = runMain({ ...env, PORT: String(await freePort()) });
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toContain('CONFIG_ERROR');
    expect(second.output()).toContain(path.join(dir, 'data'));

    const other = tempDir();
    const third = runMain({ PORT: String(port), DATA_DIR: path.join(other, 'data'), SESSION_DIR: path.join(other, 'sessions') });
    expect((await third.exited).code).toBe(1);
    expect(third.output()).toContain('address already in use');

    first.proc.kill('SIGINT');
    expect((await first.exited).code).toBe(0);
  });
});
