/**
 * Atomic, durable file replacement and removal (CONTRACT §5.4). Used by the store for entity files and by
 * spawn for manifests. Guarantee: after a crash at any point, the target path holds either its complete old
 * content or its complete new content, never a mix; leftover temporary files never end in `.json` and are
 * recognised by `isTempFileName` so that the next load removes them.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** True for the temporary names this module creates: `.{name}.{pid}.{random}.tmp`. */
export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

// Platforms and filesystems that cannot fsync a directory answer with one of these; the contract asks for the
// directory fsync only "where the platform supports it".
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'ENOTSUP', 'EPERM', 'EACCES', 'EBADF']);

/**
 * fsync a directory so that renames and unlinks inside it are durable. Unsupported on Windows (skipped);
 * errors meaning "not supported here" are ignored, real I/O errors are thrown.
 */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch (err) {
    if (DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle.close();
  }
}

export interface AtomicWriteOptions {
  /** fsync the directory after the rename (default true). The store turns it off to sync each folder once. */
  syncDir?: boolean;
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
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
  if (options.syncDir !== false) await syncDir(dirname(path));
}

/**
 * Remove `path`; a missing file is not an error (CONTRACT §5.4). Returns whether a file was removed. The
 * directory fsync is best effort: its failure is swallowed (the contract asks for a best-effort sync).
 */
export async function removeFileDurable(path: string, options: AtomicWriteOptions = {}): Promise<boolean> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (options.syncDir !== false) await syncDir(dirname(path)).catch(() => undefined);
  return true;
}
