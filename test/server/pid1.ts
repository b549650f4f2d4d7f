/**
 * The server as PID 1 of a fresh PID namespace, as a container runtime runs it: test/support/server.ts with
 * `wrap: PID1` (`unshare --fork --pid --mount-proc <command>`). unshare stays in the host namespace as the parent;
 * the command is its only child, PID 1 inside; the handle's `serverPid()` is that child's host pid, and `kill()`
 * / `stop()` signal it (killing it is what a container crash looks like).
 *
 * The test machines run as root, so unshare is permitted; when it is not, `assertUnshareWorks` fails the test
 * with the reason instead of skipping it.
 */
import { execFileSync } from 'node:child_process';

/** The prefix that runs a command as PID 1 of a fresh PID namespace (test/support/server.ts `wrap`). */
export const PID1 = ['unshare', '--fork', '--pid', '--mount-proc'];

/** Fails with a clear message when `unshare --fork --pid --mount-proc` cannot run here. */
export function assertUnshareWorks(): void {
  let out: string;
  try {
    out = execFileSync(PID1[0]!, [...PID1.slice(1), 'sh', '-c', 'echo $$'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { message: string; stderr?: string };
    throw new Error(
      `unshare --fork --pid --mount-proc is not available or not permitted (these tests need root and util-linux): ${e.stderr || e.message}`,
    );
  }
  if (out.trim() !== '1') throw new Error(`unshare did not run the command as PID 1 (it got pid ${out.trim()})`);
}
