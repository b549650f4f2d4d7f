import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirLockedError, acquireDataDirLock, isProcessAlive } from '../../src/store/lock.js';
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
    expect((await readFile(join(dir, '.lock'), 'utf8')).trim()).toBe(String(process.pid));
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
    expect((await readFile(join(dir, '.lock'), 'utf8')).trim()).toBe(String(process.pid));
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
      expect((await readFile(join(dir, '.lock'), 'utf8')).trim()).toBe(String(child.pid));
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
    expect((await readFile(join(dir, '.lock'), 'utf8')).trim()).toBe(String(process.pid));
    await store.close();
    expect((await readdir(dir)).filter((n) => n.startsWith('.lock'))).toEqual([]);
  });

  it('an empty or garbled lock file (crash while creating it) is taken over', async () => {
    for (const content of ['', 'garbage', '-5']) {
      const dir = await tempDir();
      await writeFile(join(dir, '.lock'), content);
      const lock = await acquireDataDirLock(dir, join(dir, '.lock'));
      expect((await readFile(join(dir, '.lock'), 'utf8')).trim()).toBe(String(process.pid));
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
      expect((await readFile(path, 'utf8')).trim()).toBe(String(process.pid));
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
