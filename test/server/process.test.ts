/** The real entry point as a child process: `tsx src/main.ts` (CONTRACT §6.1, §6.4, §5.7). */
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

describe('bad configuration → exit 1 naming the variable (CONTRACT §6.1)', () => {
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
