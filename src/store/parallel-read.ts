/**
 * Startup load helper: read many small files on a worker thread, ahead of the (sequential) parsing on the main
 * thread. On this kind of machine an open+read+close costs ~10 µs of kernel time per file, so 110 000 entity
 * files are ~1 s of syscalls; the reader thread runs them in parallel with the main thread's JSON.parse and
 * migrations instead of before them (docs/performance.md, docs/behaviour.md §5.2 step 5 / §12 start-up target).
 *
 * The thread reads a chunk of files into one buffer and hands its memory over (a transfer, not a copy): no
 * string is built on the reader side and nothing is serialised. The main thread decodes a file's text only
 * when it parses it, so the text is garbage at once (a young-generation object that no scavenge ever copies)
 * instead of a string that waited in a queue long enough to be promoted (issue 7: load time and peak memory).
 *
 * `take(i)` gives file i's text once its chunk has arrived, `null` when the thread could not read it (or
 * died): the caller then reads that file itself and handles the error as usual.
 */
import { Worker } from 'node:worker_threads';
import { readToEnd } from './read-to-end.js';

// Plain CommonJS for an `eval` worker: no TypeScript loader needed in the thread (execArgv is cleared), and no
// file to locate next to this module (it is bundled into dist/main.js for `npm start`). `readToEnd` is the main
// thread's own function, embedded as its (compiled) source text.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const readToEnd = ${readToEnd.toString()};
parentPort.on('message', ({ start, paths }) => {
  let buf = Buffer.allocUnsafeSlow(Math.max(64 * 1024, paths.length * 2048));
  // offsets[2k], offsets[2k+1]: start and end of file k in buf; end -1 when it could not be read.
  const offsets = new Int32Array(paths.length * 2);
  let length = 0;
  for (let k = 0; k < paths.length; k++) {
    const begin = length;
    let fd = -1;
    try {
      fd = openSync(paths[k], 'r');
      const read = readToEnd(readSync, fd, buf, length);
      buf = read.buffer;
      length = read.end;
      const done = fd;
      fd = -1;
      closeSync(done);
      offsets[2 * k] = begin;
      offsets[2 * k + 1] = length;
    } catch {
      if (fd !== -1) try { closeSync(fd); } catch {}
      length = begin;
      offsets[2 * k] = begin;
      offsets[2 * k + 1] = -1;
    }
  }
  parentPort.postMessage({ start, bytes: buf.buffer, offsets }, [buf.buffer, offsets.buffer]);
});
`;

const CHUNK = 500;
/** Files read but not yet taken, at most: bounds the memory held ahead of the parser (~1 KB per entity file). */
const MAX_AHEAD = 4 * CHUNK;

interface Chunk {
  bytes: Buffer;
  offsets: Int32Array;
  /** Files of the chunk not taken yet: the chunk is dropped when it reaches 0. */
  left: number;
}

/** Reads `paths` on `threads` worker threads, in chunks handed out in order. Call `close()` when done. */
export class ParallelReader {
  /** By chunk number: undefined = not arrived (or already fully taken, see `done`). */
  private readonly chunks: (Chunk | undefined)[];
  private readonly done: boolean[];
  private readonly taken: Uint8Array;
  private readonly waiters = new Map<number, (() => void)[]>();
  private readonly workers: Worker[] = [];
  private next = 0;
  /** Highest index asked for so far (+1): the read-ahead window starts here. */
  private consumed = 0;
  private readonly idle: Worker[] = [];
  private failed: Error | undefined;

  constructor(
    private readonly paths: readonly string[],
    threads = 1,
  ) {
    const chunkCount = Math.ceil(paths.length / CHUNK);
    this.chunks = new Array(chunkCount);
    this.done = new Array(chunkCount).fill(false);
    this.taken = new Uint8Array(paths.length);
    for (let t = 0; t < threads && t * CHUNK < paths.length; t++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], stdout: false, stderr: false });
      worker.unref();
      worker.on('message', (msg: { start: number; bytes: ArrayBuffer; offsets: Int32Array }) => this.onChunk(worker, msg));
      worker.on('error', (err) => this.onWorkerError(err));
      this.workers.push(worker);
      if (!this.dispatch(worker)) this.idle.push(worker);
    }
  }

  /**
   * File i's text if its chunk has arrived (each file is handed over once); `null` when the thread could not
   * read it (the caller reads it itself); `undefined` while it has not arrived: wait with `arrived(i)`.
   */
  take(i: number): string | null | undefined {
    this.advance(i);
    const c = Math.floor(i / CHUNK);
    const chunk = this.chunks[c];
    if (chunk === undefined) {
      if (this.failed === undefined && !this.done[c]) return undefined;
      this.taken[i] = 1;
      return null;
    }
    if (this.taken[i] === 1) return null;
    this.taken[i] = 1;
    if (--chunk.left === 0) {
      this.chunks[c] = undefined; // the main thread keeps only what it parsed
      this.done[c] = true;
    }
    const k = i - c * CHUNK;
    const end = chunk.offsets[2 * k + 1]!;
    return end < 0 ? null : chunk.bytes.toString('utf8', chunk.offsets[2 * k]!, end);
  }

  /** Resolves once `take(i)` no longer answers `undefined`. */
  arrived(i: number): Promise<void> {
    this.advance(i);
    const c = Math.floor(i / CHUNK);
    if (this.chunks[c] !== undefined || this.done[c] || this.failed !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.waiters.get(c);
      if (list) list.push(resolve);
      else this.waiters.set(c, [resolve]);
    });
  }

  /**
   * File i's text, `undefined` when the thread could not read it (the caller reads it itself). A promise only
   * while its chunk has not arrived: the common path creates no promise per file (110 000 of them were
   * measurable at load).
   */
  text(i: number): string | undefined | Promise<string | undefined> {
    const text = this.take(i);
    if (text !== undefined) return text ?? undefined;
    return this.arrived(i).then(() => this.take(i) ?? undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private advance(i: number): void {
    if (i + 1 > this.consumed) {
      this.consumed = i + 1;
      while (this.idle.length > 0 && this.dispatch(this.idle[this.idle.length - 1]!)) this.idle.pop();
    }
  }

  /** Give `worker` the next chunk if the window allows; false when it stays idle. */
  private dispatch(worker: Worker): boolean {
    if (this.next >= this.paths.length || this.next - this.consumed >= MAX_AHEAD) return false;
    const start = this.next;
    this.next = Math.min(this.paths.length, start + CHUNK);
    worker.postMessage({ start, paths: this.paths.slice(start, this.next) });
    return true;
  }

  private onChunk(worker: Worker, msg: { start: number; bytes: ArrayBuffer; offsets: Int32Array }): void {
    if (!this.dispatch(worker)) this.idle.push(worker);
    const c = msg.start / CHUNK;
    const count = msg.offsets.length / 2;
    let left = 0;
    for (let k = 0; k < count; k++) if (this.taken[msg.start + k] === 0) left++;
    if (left > 0) this.chunks[c] = { bytes: Buffer.from(msg.bytes), offsets: msg.offsets, left };
    else this.done[c] = true;
    const list = this.waiters.get(c);
    if (list) {
      this.waiters.delete(c);
      for (const resolve of list) resolve();
    }
  }

  private onWorkerError(err: Error): void {
    // A thread that dies leaves its chunk unread: every waiting and future take of a missing text answers
    // `null`, and the caller reads those files itself (nothing is quarantined because of a thread).
    this.failed = err;
    for (const list of this.waiters.values()) for (const resolve of list) resolve();
    this.waiters.clear();
  }
}
