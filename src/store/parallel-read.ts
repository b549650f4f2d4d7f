/**
 * Startup load helper: read many small files as text on worker threads, ahead of the (sequential) parsing on
 * the main thread. On this kind of machine an open+read+close costs ~10 µs of kernel time per file, so 110 000
 * entity files are ~1 s of syscalls; two reader threads run them in parallel with the main thread's JSON.parse
 * and migrations instead of before them (docs/performance.md, CONTRACT §5.2 step 5 / §12 start-up target).
 *
 * `text(i)` resolves with file i's content whatever order the chunks finish in, or with `undefined` when the
 * thread could not read it (or died): the caller then reads that file itself and handles the error as usual.
 */
import { Worker } from 'node:worker_threads';


// Plain CommonJS for an `eval` worker: no TypeScript loader needed in the thread (execArgv is cleared).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
let buf = Buffer.allocUnsafe(256 * 1024);
function read(path) {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === buf.length) { const b = Buffer.allocUnsafe(buf.length * 2); buf.copy(b, 0, 0, length); buf = b; }
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return buf.toString('utf8', 0, length);
  } finally { closeSync(fd); }
}
parentPort.on('message', ({ start, paths }) => {
  const out = new Array(paths.length);
  for (let i = 0; i < paths.length; i++) {
    try { out[i] = read(paths[i]); } catch { out[i] = null; }
  }
  parentPort.postMessage({ start, out });
});
`;

const CHUNK = 500;
/** Files read but not yet taken, at most: bounds the memory held ahead of the parser (~1 KB per entity file). */
const MAX_AHEAD = 4 * CHUNK;

/** Reads `paths` on `threads` worker threads, in chunks handed out in order. Call `close()` when done. */
export class ParallelReader {
  private readonly results: (string | null | undefined)[];
  private readonly waiters = new Map<number, (text: string | undefined) => void>();
  private readonly workers: Worker[] = [];
  private next = 0;
  /** Highest index asked for so far (+1): the read-ahead window starts here. */
  private consumed = 0;
  private readonly idle: Worker[] = [];
  private failed: Error | undefined;

  constructor(
    private readonly paths: readonly string[],
    threads = 2,
  ) {
    this.results = new Array(paths.length);
    for (let t = 0; t < threads && t * CHUNK < paths.length; t++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], stdout: false, stderr: false });
      worker.unref();
      worker.on('message', (msg: { start: number; out: (string | null)[] }) => this.onChunk(worker, msg));
      worker.on('error', (err) => this.onWorkerError(err));
      this.workers.push(worker);
      if (!this.dispatch(worker)) this.idle.push(worker);
    }
  }

  /** File i's text; `undefined` when the thread could not read it (the caller reads it itself). */
  text(i: number): Promise<string | undefined> {
    if (i + 1 > this.consumed) {
      this.consumed = i + 1;
      while (this.idle.length > 0 && this.dispatch(this.idle[this.idle.length - 1]!)) this.idle.pop();
    }
    const r = this.results[i];
    if (r !== undefined) {
      this.results[i] = undefined; // hand each text over once: the main thread keeps only what it parsed
      return Promise.resolve(r ?? undefined);
    }
    if (this.failed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.set(i, resolve));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Give `worker` the next chunk if the window allows; false when it stays idle. */
  private dispatch(worker: Worker): boolean {
    if (this.next >= this.paths.length || this.next - this.consumed >= MAX_AHEAD) return false;
    const start = this.next;
    this.next = Math.min(this.paths.length, start + CHUNK);
    worker.postMessage({ start, paths: this.paths.slice(start, this.next) });
    return true;
  }

  private onChunk(worker: Worker, msg: { start: number; out: (string | null)[] }): void {
    if (!this.dispatch(worker)) this.idle.push(worker);
    msg.out.forEach((value, k) => {
      const i = msg.start + k;
      const waiter = this.waiters.get(i);
      if (waiter) {
        this.waiters.delete(i);
        waiter(value ?? undefined);
      } else {
        this.results[i] = value;
      }
    });
  }

  private onWorkerError(err: Error): void {
    // A thread that dies leaves its chunk unread: every waiting and future read of a missing text answers
    // `undefined`, and the caller reads those files itself (nothing is quarantined because of a thread).
    this.failed = err;
    for (const [, resolve] of this.waiters) resolve(undefined);
    this.waiters.clear();
  }
}
