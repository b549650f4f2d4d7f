/**
 * Waiting in tests. The rule (test/README.md): a test waits for a positive signal — an answer, an event, a file,
 * a process exit — and checks afterwards; it never sleeps a fixed time and then asserts that something did
 * NOT happen. `sleep` is for pacing only (load generators, "let the timer run out" when the timer is the subject).
 */

/** Polls `cond` (which may ask the server) every 5 ms until it is true; rejects with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
