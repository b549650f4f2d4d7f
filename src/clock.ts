/**
 * The server's source of "now" (docs/behaviour.md §0.2). Injected everywhere a timestamp is taken, so that tests can
 * pin time and check the one-reading-per-request and stamps-only-move-forward rules.
 */
export interface Clock {
  /** Unix milliseconds, an integer. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock for tests: returns `current` until moved with `set` or `advance`. */
export class ManualClock implements Clock {
  constructor(private current: number = 1_700_000_000_000) {}

  now(): number {
    return this.current;
  }

  /** Jump to an absolute time (may go backwards, to test monotonic stamps). */
  set(ms: number): void {
    this.current = ms;
  }

  /** Move forward by `ms` (default 1). */
  advance(ms = 1): void {
    this.current += ms;
  }
}
