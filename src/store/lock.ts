/**
 * The exclusive DATA_DIR lock (CONTRACT §5.4 "One writer"): a file `.lock` created with O_EXCL that holds
 * the owner's pid. A lock whose pid no longer runs is taken over; a live holder makes the start fail.
 */
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { StoreStartupError } from './errors.js';

/** Thrown when another live process (possibly this one) holds the lock. main turns it into CONFIG_ERROR. */
export class DataDirLockedError extends StoreStartupError {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`DATA_DIR ${dataDir} is locked by another Maestro server (pid ${pid}); stop it or use another DATA_DIR`);
    this.name = 'DataDirLockedError';
  }
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parsePid(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^[0-9]+$/.test(trimmed)) return undefined;
  const pid = Number(trimmed);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** A held lock. `release` removes the file if it still holds our pid. */
export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

async function tryCreate(path: string, pid: number): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(`${pid}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

async function readHolder(path: string): Promise<{ text: string } | undefined> {
  try {
    return { text: await readFile(path, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Take the lock at `lockPath` for DATA_DIR `dataDir`. Throws DataDirLockedError naming DATA_DIR and the
 * holder's pid when a live process holds it.
 *
 * Taking over a stale lock: the stale file is first renamed to a unique name (only one contender can win that
 * rename), its content is checked to still be the stale one, and only then is a fresh lock created with O_EXCL.
 * If a contender's fresh lock was renamed by mistake it is put back with link() (which never overwrites).
 */
export async function acquireDataDirLock(dataDir: string, lockPath: string, pid: number = process.pid): Promise<DataDirLock> {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await tryCreate(lockPath, pid)) return heldLock(lockPath, pid);

    const holder = await readHolder(lockPath);
    if (holder === undefined) continue; // released meanwhile: try again
    const holderPid = parsePid(holder.text);
    // An empty or garbled file is what a crash between create and write leaves: no live owner can be named.
    if (holderPid !== undefined && isProcessAlive(holderPid)) throw new DataDirLockedError(dataDir, holderPid);

    const aside = `${lockPath}.stale.${pid}.${randomBytes(4).toString('hex')}`;
    try {
      await rename(lockPath, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another contender moved it
      throw err;
    }
    const moved = await readHolder(aside);
    if (moved !== undefined && moved.text !== holder.text) {
      // We moved a lock that a contender created after our read: give it back and compete again.
      await link(aside, lockPath).catch(() => undefined);
    }
    await unlink(aside).catch(() => undefined);
  }
  throw new Error(`Could not acquire the lock ${lockPath}: too much contention`);
}

function heldLock(path: string, pid: number): DataDirLock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      const holder = await readHolder(path);
      if (holder !== undefined && parsePid(holder.text) === pid) await unlink(path).catch(() => undefined);
    },
  };
}
