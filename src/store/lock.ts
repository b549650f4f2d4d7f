/**
 * The exclusive DATA_DIR lock (docs/behaviour.md §5.4 "One writer"): a file `.lock` that names the owner (its pid
 * on the first line, then the identity facts of lock-owner.ts), created exclusively (hard link of a fully
 * written temp file). A lock whose holder no longer runs — a dead pid, or a pid now used by another process
 * (this one as PID 1 in a restarted container, any process after a reboot) — is taken over; a live holder
 * makes the start fail.
 */
import { link, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StoreStartupError } from './errors.js';
import { formatLock, isProcessAlive, parseLock, staleReason, thisProcess, type LockOwner } from './lock-owner.js';

export { isProcessAlive, parseLock, type LockOwner } from './lock-owner.js';

/** Thrown when another live process (possibly this one) holds the lock. main turns it into CONFIG_ERROR. */
export class DataDirLockedError extends StoreStartupError {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly holderHost?: string,
  ) {
    const where = holderHost === undefined ? '' : ` on ${holderHost}`;
    super(`DATA_DIR ${dataDir} is locked by another Maestro server (pid ${pid}${where}); stop it or use another DATA_DIR`);
    this.name = 'DataDirLockedError';
  }
}

/** A held lock. `release` removes the file if it still names this process. */
export interface DataDirLock {
  readonly path: string;
  /** Set when a stale lock was taken over to get this one: whom it named and why it was stale (for a warning). */
  readonly tookOver?: { pid: number | undefined; reason: string };
  release(): Promise<void>;
}

/**
 * Create the lock file with its content in one step: the owner is written to a private temp file which is then
 * hard-linked to the lock path (link fails with EEXIST when the lock exists). So a lock file is never seen
 * empty by a contender, which would otherwise take a half-created lock for a stale one.
 */
async function tryCreate(path: string, self: LockOwner): Promise<boolean> {
  const tmp = `${path}.${self.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o644);
  try {
    try {
      await handle.writeFile(formatLock(self), 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
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
 * Take the lock at `lockPath` for DATA_DIR `dataDir` as `self` (default: this process). Throws
 * DataDirLockedError naming DATA_DIR and the holder's pid when a live process holds it.
 *
 * Taking over a stale lock: the stale file is first renamed to a unique name (only one contender can win that
 * rename), its content is checked to still be the stale one, and only then is a fresh lock created. If a
 * contender's fresh lock was renamed by mistake it is put back with link() (which never overwrites). Known
 * limit: with three or more servers starting at the same instant on a stale lock, a third one can slip in
 * while a fresh lock is being put back; docs/behaviour.md's model is one server per machine.
 */
export async function acquireDataDirLock(
  dataDir: string,
  lockPath: string,
  self: LockOwner = thisProcess(),
): Promise<DataDirLock> {
  const pid = self.pid;
  let tookOver: DataDirLock['tookOver'];
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await tryCreate(lockPath, self)) {
      await removeDeadHelpers(lockPath);
      return heldLock(lockPath, self, tookOver);
    }

    const holder = await readHolder(lockPath);
    if (holder === undefined) continue; // released meanwhile: try again
    const owner = parseLock(holder.text);
    // An empty or garbled file is what a crash between create and write leaves: no live owner can be named.
    const reason = owner === undefined ? 'the lock file names no pid' : staleReason(owner, self);
    if (reason === undefined) throw new DataDirLockedError(dataDir, owner!.pid, owner!.hostname);
    tookOver = { pid: owner?.pid, reason };

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

/** Remove `.lock.{pid}.{hex}.tmp` / `.lock.stale.{pid}.{hex}` files that crashed contenders left behind. */
async function removeDeadHelpers(lockPath: string): Promise<void> {
  const dir = dirname(lockPath);
  const prefix = `${basename(lockPath)}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(?:stale\.)?([0-9]+)\.[0-9a-f]+(?:\.tmp)?$/.exec(name.slice(prefix.length));
    if (m === null || isProcessAlive(Number(m[1]))) continue;
    await unlink(join(dir, name)).catch(() => undefined);
  }
}

function heldLock(path: string, self: LockOwner, tookOver: DataDirLock['tookOver']): DataDirLock {
  let released = false;
  return {
    path,
    ...(tookOver && { tookOver }),
    async release() {
      if (released) return;
      released = true;
      const holder = await readHolder(path);
      const owner = holder === undefined ? undefined : parseLock(holder.text);
      if (owner?.pid === self.pid && owner.instance === self.instance) await unlink(path).catch(() => undefined);
    },
  };
}
