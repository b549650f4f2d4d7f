/**
 * Reading one open file to its end into a reusable buffer, for the start-up load. The same function runs on the
 * main thread (load.ts) and, as source text, in the reader thread (parallel-read.ts `WORKER_SOURCE`), so it must
 * stay self-contained: no imports (the read function is passed in), no closures, no helpers; only `Buffer`.
 */

/** `fs.readSync`'s shape, passed in so the function needs no import. */
type ReadSync = (fd: number, buffer: Buffer, offset: number, length: number, position: null) => number;

/**
 * Reads `fd` to its end into `buffer` from `start`, doubling the buffer whenever it is full (a new buffer holding
 * the bytes read so far). Returns the buffer to keep using (the same or a bigger one) and where the file ends in it.
 */
export function readToEnd(read: ReadSync, fd: number, buffer: Buffer, start: number): { buffer: Buffer; end: number } {
  let end = start;
  for (;;) {
    if (end === buffer.length) {
      const bigger = Buffer.allocUnsafeSlow(buffer.length * 2);
      buffer.copy(bigger, 0, 0, end);
      buffer = bigger;
    }
    const n = read(fd, buffer, end, buffer.length - end, null);
    if (n === 0) return { buffer, end };
    end += n;
  }
}
