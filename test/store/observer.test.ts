/**
 * The store's observer hook (`StoreObserver`, src/store/api.ts), which src/metrics/ turns into Prometheus
 * metrics: every commit round is reported once with the mutations it carried and its result, and every fsync
 * of the default filesystem door is timed. Real files in a temp DATA_DIR.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, fileSystemIO, type StoreIO, type StoreObserver } from '../../src/store/index.js';
import { cleanupTempDirs, project, tempDir } from './helpers.js';

afterEach(cleanupTempDirs);

function recorder(): StoreObserver & { rounds: Array<{ mutations: number; seconds: number; ok: boolean }>; fsyncs: number[] } {
  const rounds: Array<{ mutations: number; seconds: number; ok: boolean }> = [];
  const fsyncs: number[] = [];
  return {
    rounds,
    fsyncs,
    commitRound: (mutations, seconds, ok) => rounds.push({ mutations, seconds, ok }),
    fsync: (seconds) => fsyncs.push(seconds),
  };
}

describe('StoreObserver', () => {
  it('one mutation: one round of 1, and the file and folder fsyncs timed', async () => {
    const observer = recorder();
    const store = await Store.open({ dataDir: await tempDir(), observer });
    try {
      const fsyncsAtOpen = observer.fsyncs.length;
      await store.mutate((tx) => tx.putProject(project(tx.newId('proj'))));
      expect(observer.rounds).toHaveLength(1);
      expect(observer.rounds[0]).toMatchObject({ mutations: 1, ok: true });
      expect(observer.rounds[0]!.seconds).toBeGreaterThan(0);
      const timed = observer.fsyncs.slice(fsyncsAtOpen);
      expect(timed.length).toBeGreaterThanOrEqual(2);
      for (const s of timed) expect(s).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('group commit: concurrent mutations are reported once each, across the rounds that carried them', async () => {
    const observer = recorder();
    const store = await Store.open({ dataDir: await tempDir(), observer, maxRoundsInFlight: 1 });
    try {
      await Promise.all(Array.from({ length: 20 }, () => store.mutate((tx) => tx.putProject(project(tx.newId('proj'))))));
      expect(observer.rounds.reduce((n, r) => n + r.mutations, 0)).toBe(20);
      // with one round in flight, the mutations that finish meanwhile share the next round
      expect(observer.rounds.length).toBeLessThan(20);
      expect(observer.rounds.every((r) => r.ok)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('a failed round is reported as failed; a throwing observer does not touch the commit', async () => {
    const observer = recorder();
    let failWrites = false;
    const io: StoreIO = {
      ...fileSystemIO,
      writeFile: (path, text) => (failWrites ? Promise.reject(new Error('EIO: injected')) : fileSystemIO.writeFile(path, text)),
    };
    const store = await Store.open({ dataDir: await tempDir(), io, observer });
    try {
      failWrites = true;
      await expect(store.mutate((tx) => tx.putProject(project(tx.newId('proj'))))).rejects.toMatchObject({ status: 500 });
      expect(observer.rounds.map((r) => [r.mutations, r.ok])).toEqual([[1, false]]);
      failWrites = false;
      observer.commitRound = () => {
        throw new Error('observer bug');
      };
      const id = await store.mutate((tx) => {
        const created = tx.newId('proj');
        tx.putProject(project(created));
        return created;
      });
      expect(store.getProject(id)).toBeDefined();
    } finally {
      await store.close();
    }
  });
});

describe('the store stays free of metrics', () => {
  it('nothing in src/store imports prom-client or src/metrics (src/metrics/ wires the observer)', () => {
    const dir = path.resolve(import.meta.dirname, '../../src/store');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('commit-pipeline.ts');
    for (const file of files) {
      const source = fs.readFileSync(path.join(dir, file), 'utf8');
      expect(source, file).not.toMatch(/from\s+'prom-client'|from\s+'\.\.\/metrics\//);
    }
  });
});
