import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirLockedError, acquireDataDirLock, isProcessAlive } from '../../src/store/lock.js';
import { formatLock, parseLock, processStartTime, readBootId, staleReason, thisProcess } from '../../src/store/lock-owner.js';
import { Store } from '../../src/store/store.js';
import { cleanupTempDirs, tempDir } from './helpers.js';

afterEach(cleanupTempDirs);

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('DATA_DIR lock (docs/behaviour.md §5.4 one writer)', () => {
  it('writes our pid to DATA_DIR/.lock and removes it on close', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dataDir: dir });
    expect((await readFile(join(dir, '.lock'), 'utf8')).split('\n')[0]).toBe(String(process.pid));
    await store.close();
    expect(await readdir(dir)).not.toContain('.lock');
  });

  it('a second open on the same DATA_DIR fails naming DATA_DIR and the holder pid', async () => {
    const dir = await tempDir();
    const first = await Store.open({ dataDir: dir });
    const err = await Store.open({ dataDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as DataDirLockedError).code).toBe('CONFIG_ERROR');
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    // The failed open did not break the first holder's lock.
    expect((await readFile(join(dir, '.lock'), 'utf8')).split('\n')[0]).toBe(String(process.pid));
    await first.close();
    const again = await Store.open({ dataDir: dir });
    await again.close();
  });

  it('a lock held by another live process is refused with that pid', async () => {
    const dir = await tempDir();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await writeFile(join(dir, '.lock'), `${child.pid}\n`);
      await expect(Store.open({ dataDir: dir })).rejects.toThrow(new RegExp(`${dir}.*pid ${child.pid}`));
      expect((await readFile(join(dir, '.lock'), 'utf8')).split('\n')[0]).toBe(String(child.pid));
    } finally {
      child.kill();
    }
  });

  it('a stale lock (dead pid) is taken over', async () => {
    const dir = await tempDir();
    const pid = await deadPid();
    expect(isProcessAlive(pid)).toBe(false);
    await writeFile(join(dir, '.lock'), `${pid}\n`);
    const store = await Store.open({ dataDir: dir });
    expect((await readFile(join(dir, '.lock'), 'utf8')).split('\n')[0]).toBe(String(process.pid));
    await store.close();
    expect((await readdir(dir)).filter((n) => n.startsWith('.lock'))).toEqual([]);
  });

  it('an empty or garbled lock file (crash while creating it) is taken over', async () => {
    for (const content of ['', 'garbage', '-5']) {
      const dir = await tempDir();
      await writeFile(join(dir, '.lock'), content);
      const lock = await acquireDataDirLock(dir, join(dir, '.lock'));
      expect((await readFile(join(dir, '.lock'), 'utf8')).split('\n')[0]).toBe(String(process.pid));
      await lock.release();
    }
  });

  it('two concurrent acquirers of a stale lock: exactly one wins (repeated)', async () => {
    const dead = await deadPid();
    for (let round = 0; round < 25; round++) {
      const dir = await tempDir();
      const path = join(dir, '.lock');
      await writeFile(path, `${dead}\n`);
      const results = await Promise.allSettled([0, 1].map(() => acquireDataDirLock(dir, path)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof DataDirLockedError)).toBe(true);
      expect((await readFile(path, 'utf8')).split('\n')[0]).toBe(String(process.pid));
      // No helper files are left next to the lock.
      expect((await readdir(dir)).filter((n) => n !== '.lock')).toEqual([]);
    }
  });

  it('two concurrent acquirers of a free lock: exactly one wins (repeated)', async () => {
    for (let round = 0; round < 25; round++) {
      const dir = await tempDir();
      const path = join(dir, '.lock');
      const results = await Promise.allSettled([0, 1, 2, 3].map(() => acquireDataDirLock(dir, path)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    }
  });

  it("helper files left by crashed contenders are removed, a live contender's are kept", async () => {
    const dir = await tempDir();
    const dead = await deadPid();
    await writeFile(join(dir, `.lock.${dead}.abcd1234.tmp`), `${dead}\n`);
    await writeFile(join(dir, `.lock.stale.${dead}.abcd1234`), '1\n');
    await writeFile(join(dir, `.lock.${process.pid}.00ff00ff.tmp`), 'in flight');
    const lock = await acquireDataDirLock(dir, join(dir, '.lock'));
    expect((await readdir(dir)).sort()).toEqual(['.lock', `.lock.${process.pid}.00ff00ff.tmp`]);
    await lock.release();
  });

  it('release does not remove a lock that another process has taken since', async () => {
    const dir = await tempDir();
    const path = join(dir, '.lock');
    const lock = await acquireDataDirLock(dir, path);
    await writeFile(path, '999999999\n');
    await lock.release();
    expect(await readFile(path, 'utf8')).toBe('999999999\n');
  });

  it('isProcessAlive', async () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(await deadPid())).toBe(false);
    expect(isProcessAlive(0)).toBe(false);
    expect(isProcessAlive(-1)).toBe(false);
  });
});

describe('DATA_DIR lock: a reused pid is stale (docs/behaviour.md §5.4, API 1.2)', () => {
  const self = thisProcess();

  it('records the pid first, then boot id, start time, hostname and instance', async () => {
    expect(self.bootId).toMatch(/^[0-9a-f-]{36}$/); // the test machines are Linux
    expect(self.startTime).toMatch(/^[0-9]+$/);
    const dir = await tempDir();
    const lock = await acquireDataDirLock(dir, join(dir, '.lock'));
    const text = await readFile(join(dir, '.lock'), 'utf8');
    expect(text.split('\n')[0]).toBe(String(process.pid));
    expect(text).toContain(`boot_id=${self.bootId}\n`);
    expect(text).toContain(`start_time=${self.startTime}\n`);
    expect(parseLock(text)).toEqual(self);
    await lock.release();
  });

  it('format and parse round-trip; a bare pid (older versions) parses to the pid alone; garbage to nothing', () => {
    expect(parseLock(formatLock(self))).toEqual(self);
    expect(parseLock('1234\n')).toEqual({ pid: 1234 });
    for (const bad of ['', 'x', '0', '-3', 'pid=3']) expect(parseLock(bad)).toBeUndefined();
    // A value with a line break is left out instead of spilling into another key.
    expect(parseLock(formatLock({ pid: 7, hostname: 'a\ninstance=x' }))).toEqual({ pid: 7 });
  });

  it('our own pid recorded by an earlier process (PID 1 after a container restart) is stale', () => {
    expect(staleReason({ ...self, startTime: '1', instance: 'earlier' }, self)).toMatch(/own pid/);
    expect(staleReason({ pid: self.pid }, self)).toMatch(/own pid/); // an older version's bare pid
    // Our pid recorded in another PID namespace that has no such process (a container that is gone).
    expect(staleReason({ ...self, pidNamespace: '1' }, self)).toMatch(/left in its PID namespace/);
    expect(staleReason({ ...self }, self)).toBeUndefined(); // this very process
    // Without start times (no /proc), the per-process instance decides.
    const noProc = { ...self, startTime: undefined };
    expect(staleReason({ ...noProc }, noProc)).toBeUndefined();
    expect(staleReason({ ...noProc, instance: 'earlier' }, noProc)).toMatch(/own pid/);
  });

  it('a live pid whose start time differs, or any lock from another boot, is stale; a live holder is not', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      const pid = child.pid!;
      const startTime = processStartTime(pid);
      expect(startTime).toMatch(/^[0-9]+$/);
      const live = { pid, bootId: readBootId(), startTime, hostname: 'h', instance: 'other' };
      expect(staleReason(live, self)).toBeUndefined();
      expect(staleReason({ pid }, self)).toBeUndefined(); // a bare live pid: refused as before
      expect(staleReason({ ...live, startTime: String(Number(startTime) + 1) }, self)).toMatch(/another process/);
      expect(staleReason({ ...live, bootId: 'another-boot' }, self)).toMatch(/restarted/);

      // Through the lock itself: the reused pid is taken over, the live one refused.
      const dir = await tempDir();
      const path = join(dir, '.lock');
      await writeFile(path, formatLock(live));
      await expect(acquireDataDirLock(dir, path)).rejects.toThrow(new RegExp(`pid ${pid} on h\\)`));
      await writeFile(path, formatLock({ ...live, startTime: '1' }));
      const lock = await acquireDataDirLock(dir, path);
      expect(parseLock(await readFile(path, 'utf8'))).toEqual(self);
      expect(lock.tookOver).toEqual({ pid, reason: `pid ${pid} now belongs to another process (other start time)` });
      await lock.release();
    } finally {
      child.kill();
    }
  });

  it('a lock naming our own pid from an earlier process is taken over; release leaves a lock that is not ours', async () => {
    const dir = await tempDir();
    const path = join(dir, '.lock');
    await writeFile(path, formatLock({ ...self, startTime: '1', instance: 'earlier' }));
    const store = await Store.open({ dataDir: dir });
    expect(parseLock(await readFile(path, 'utf8'))).toEqual(self);
    await store.close();
    expect(await readdir(dir)).not.toContain('.lock');

    const lock = await acquireDataDirLock(dir, path);
    expect(lock.tookOver).toBeUndefined(); // a free lock
    await writeFile(path, formatLock({ ...self, instance: 'someone else' }));
    await lock.release();
    expect(await readdir(dir)).toContain('.lock');
  });
});
