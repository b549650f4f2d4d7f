/**
 * Atomic, durable file replacement and removal (docs/behaviour.md §5.4). Used by the store for entity files and by
 * spawn for manifests. Guarantee: after a crash at any point, the target path holds either its complete old
 * content or its complete new content, never a mix; leftover temporary files never end in `.json` and are
 * recognised by `isTempFileName` so that the next load removes them.
 *
 * Only the fsyncs go to the thread pool; open, write, close and rename are synchronous calls. Each of those
 * takes tens to a few hundred microseconds (page cache and directory entries only), while a thread-pool round
 * trip per call cost more CPU than the call itself and queued the quick calls behind the slow fsyncs of other
 * files (4 pool threads). Measured with `bench/tools/write-ceiling.ts protocol` (docs/performance.md, decision 10):
 * CPU per durable write lower in 23 of 24 alternating comparisons, 24–52 % lower into one folder. The price is
 * that those calls run on the event loop.
 */
import { closeSync, fsync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** True for the temporary names this module creates: `.{name}.{pid}.{random}.tmp`. */
export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

// Platforms and filesystems that cannot fsync a directory answer with one of these; docs/behaviour.md asks for the
// directory fsync only "where the platform supports it".
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'ENOTSUP', 'EPERM', 'EACCES', 'EBADF']);

/**
 * fsync a directory so that renames and unlinks inside it are durable. Unsupported on Windows (skipped);
 * errors meaning "not supported here" are ignored, real I/O errors are thrown.
 */
export async function syncDir(dir: string, onFsync?: FsyncTimer): Promise<void> {
  if (process.platform === 'win32') return;
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    if (DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) return;
    throw err;
  }
  try {
    await fsyncFd(fd, onFsync);
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    closeSync(fd);
  }
}

/** Told how long each fsync took, in seconds (the store's observer; absent → no clock is read). */
export type FsyncTimer = (seconds: number) => void;

/** fsync on the thread pool: the one step of the protocol that waits for the disk. */
function fsyncFd(fd: number, onFsync?: FsyncTimer): Promise<void> {
  if (onFsync === undefined) return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) =>
    fsync(fd, (err) => {
      onFsync(Number(process.hrtime.bigint() - start) / 1e9);
      if (err) reject(err);
      else resolve();
    }),
  );
}

export interface AtomicWriteOptions {
  /** fsync the directory after the rename (default true). The store turns it off to sync each folder once. */
  syncDir?: boolean;
  /** Called with each fsync's duration (file and folder). */
  onFsync?: FsyncTimer;
}

/**
 * Replace `path` with `text` atomically and durably: write a temp file in the same directory, fsync it,
 * rename it over the target, fsync the directory. On failure the temp file is removed and the target is left
 * as it was.
 */
export async function writeFileAtomic(path: string, text: string, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempPathFor(path);
  let renamed = false;
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      const bytes = Buffer.from(text, 'utf8');
      // write(2) may write less than asked (a full disk, a signal): go on until all of it is written.
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      await fsyncFd(fd, options.onFsync);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) removeQuietly(tmp);
  }
  if (options.syncDir !== false) await syncDir(dirname(path), options.onFsync);
}

/** Best-effort removal of a temp file after a failed write (it may not exist: the open itself can fail). */
function removeQuietly(tmp: string): void {
  try {
    unlinkSync(tmp);
  } catch {
    // nothing to remove, or nothing more to do: the next load deletes leftover temp files (§5.4)
  }
}

/**
 * Remove `path`; a missing file is not an error (docs/behaviour.md §5.4). Returns whether a file was removed. The
 * directory fsync is best effort: its failure is swallowed (docs/behaviour.md asks for a best-effort sync).
 */
export async function removeFileDurable(path: string, options: AtomicWriteOptions = {}): Promise<boolean> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (options.syncDir !== false) await syncDir(dirname(path), options.onFsync).catch(() => undefined);
  return true;
}
