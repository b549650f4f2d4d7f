/**
 * Run a command as PID 1 of a fresh PID namespace, as a container runtime does:
 * `unshare --fork --pid --mount-proc <command>`. unshare stays in the host namespace as the parent; the command
 * is its only child, PID 1 inside. Killing that child (by its host pid) is what a container crash looks like.
 *
 * The test machines run as root, so unshare is permitted; when it is not, `assertUnshareWorks` fails the test
 * with the reason instead of skipping it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/** The prefix that runs a command as PID 1 of a fresh PID namespace (test/support/server.ts `wrap`). */
export const PID1 = ['unshare', '--fork', '--pid', '--mount-proc'];

export interface Pid1Process {
  /** The unshare process (host namespace). */
  unshare: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The host pid of the command, which is PID 1 inside its namespace. */
  hostPid: () => Promise<number>;
}

/** Fails with a clear message when `unshare --fork --pid --mount-proc` cannot run here. */
export function assertUnshareWorks(): void {
  let out: string;
  try {
    out = execFileSync('unshare', ['--fork', '--pid', '--mount-proc', 'sh', '-c', 'echo $$'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { message: string; stderr?: string };
    throw new Error(
      `unshare --fork --pid --mount-proc is not available or not permitted (these tests need root and util-linux): ${e.stderr || e.message}`,
    );
  }
  if (out.trim() !== '1') throw new Error(`unshare did not run the command as PID 1 (it got pid ${out.trim()})`);
}

export function spawnAsPid1(command: string[], options: { cwd: string; env: NodeJS.ProcessEnv; uid?: number; gid?: number }): Pid1Process {
  const unshare = spawn('unshare', ['--fork', '--pid', '--mount-proc', ...command], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined && { uid: options.uid }),
    ...(options.gid !== undefined && { gid: options.gid }),
  });
  let out = '';
  unshare.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  unshare.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    unshare.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const hostPid = async (): Promise<number> => {
    const end = Date.now() + 10_000;
    for (;;) {
      const children = readChildren(unshare.pid!);
      if (children.length === 1) return children[0]!;
      if (Date.now() > end) throw new Error(`unshare ${unshare.pid} has no single child:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { unshare, output: () => out, exited, hostPid };
}

function readChildren(pid: number): number[] {
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
