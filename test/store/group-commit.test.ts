/**
 * Group commit (src/store/commit-pipeline.ts, through `Store.mutate`): mutations that finish while the maximum
 * number of commit rounds is being written are written together in the next round, and each is acknowledged
 * only after its round is durable. Overlapping rounds (more than one in flight) are tested in
 * overlapping-rounds.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ContractError } from '../../src/contract-error.js';
import { fileSystemIO, type StoreIO } from '../../src/store/io.js';
import { Store } from '../../src/store/store.js';
import { cleanupTempDirs, diskSnapshot, emitMarker, eventSink, memorySnapshot, project, task, tempDir, until } from './helpers.js';

afterEach(cleanupTempDirs);

/** Real filesystem; each fsync of a folder can be held until released, and every call is recorded. */
function gatedIO() {
  const calls: string[] = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let failSyncs: ((dir: string) => boolean) | undefined;
  const io: StoreIO = {
    writeFile: async (path, text) => {
      calls.push(`write ${path}`);
      return fileSystemIO.writeFile(path, text);
    },
    removeFile: async (path) => {
      calls.push(`remove ${path}`);
      return fileSystemIO.removeFile(path);
    },
    syncDir: async (dir) => {
      calls.push(`sync ${dir}`);
      const failing = failSyncs?.(dir) ?? false; // decided when the round reaches its fsync
      if (gate) await gate;
      if (failing) throw Object.assign(new Error('injected fsync failure'), { code: 'EIO' });
      return fileSystemIO.syncDir(dir);
    },
    ensureDir: (dir) => fileSystemIO.ensureDir(dir),
  };
  return {
    io,
    calls,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = undefined;
      open?.();
    },
    failSyncsWhen(pred: ((dir: string) => boolean) | undefined) {
      failSyncs = pred;
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe('group commit', () => {
  it('mutations applied during a round are written together in the next one, acknowledged after it, events in call order', async () => {
    const dataDir = await tempDir();
    const g = gatedIO();
    const sink = eventSink();
    // One round at a time, so that every mutation applied while round 1 syncs waits for the next round.
    const store = await Store.open({ dataDir, io: g.io, onCommit: sink.listener, maxRoundsInFlight: 1 });
    await store.mutate((tx) => {
      tx.putProject(project('p1'));
      tx.putTask(task('ts', 'p1', { createdAt: 1 }));
    });
    sink.events.length = 0;
    g.calls.length = 0;

    g.hold();
    const acked: number[] = [];
    const first = store.mutate((tx) => {
      tx.putTask(task('t0', 'p1'));
      emitMarker(tx, 'task:created', 0);
    });
    first.then(() => acked.push(0));
    await until(() => g.calls.some((c) => c.startsWith('sync')), 'round 1 (t0) waits in its fsync');
    const rest = [1, 2, 3, 4].map((i) => {
      const p = store.mutate((tx) => {
        tx.putTask(task(`t${i}`, 'p1'));
        emitMarker(tx, 'task:created', i);
      });
      void p.then(() => acked.push(i));
      return p;
    });
    await until(() => store.getTask('t4') !== undefined, 'every callback ran');
    // Every callback ran (reads see the state), nothing is acknowledged or delivered before its fsync.
    expect(store.listTasks({ projectId: 'p1' }).map((t) => t.id)).toEqual(['ts', 't0', 't1', 't2', 't3', 't4']);
    expect(acked).toEqual([]);
    expect(sink.events).toEqual([]);
    g.release();
    await Promise.all([first, ...rest]);
    expect(acked).toEqual([0, 1, 2, 3, 4]);
    expect(sink.events).toEqual([0, 1, 2, 3, 4].map((i) => [{ name: 'task:created', data: i }]));
    // Two rounds: t0 alone, then t1–t4 together with one fsync of the folder.
    const syncs = g.calls.filter((c) => c.startsWith('sync'));
    expect(syncs).toEqual([`sync ${join(dataDir, 'tasks', 'p1')}`, `sync ${join(dataDir, 'tasks', 'p1')}`]);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('an entity changed by several mutations of one round is written once, with its final state', async () => {
    const dataDir = await tempDir();
    const g = gatedIO();
    const store = await Store.open({ dataDir, io: g.io, maxRoundsInFlight: 1 });
    await store.mutate((tx) => {
      tx.putProject(project('p1'));
      tx.putTask(task('t1', 'p1'));
    });
    g.hold();
    const first = store.mutate((tx) => tx.putProject({ ...tx.getProject('p1')!, name: 'round 1' }));
    await until(() => g.calls.some((c) => c.startsWith('sync')), 'round 1 waits in its fsync');
    g.calls.length = 0;
    const updates = [1, 2, 3].map((i) => store.mutate((tx) => tx.putTask({ ...tx.getTask('t1')!, title: `v${i}` })));
    g.release();
    await Promise.all([first, ...updates]);
    expect(g.calls.filter((c) => c.startsWith('write') && c.endsWith('t1.json'))).toHaveLength(1);
    expect(store.getTask('t1')!.title).toBe('v3');
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('a failed round rejects its mutations and those applied after it with 500, and restores memory and disk', async () => {
    const dataDir = await tempDir();
    const g = gatedIO();
    const sink = eventSink();
    const store = await Store.open({ dataDir, io: g.io, onCommit: sink.listener });
    await store.mutate((tx) => {
      tx.putProject(project('p1'));
      tx.putTask(task('t1', 'p1'));
    });
    sink.events.length = 0;
    const memBefore = memorySnapshot(store);
    const diskBefore = await diskSnapshot(dataDir);

    g.calls.length = 0;
    g.hold();
    g.failSyncsWhen((dir) => dir.endsWith(join('tasks', 'p1')));
    const failing = store.mutate((tx) => {
      tx.putTask({ ...tx.getTask('t1')!, title: 'lost' });
      emitMarker(tx, 'task:updated', 'lost');
    });
    const failingResult = failing.catch((e: unknown) => e);
    await until(() => g.calls.some((c) => c.startsWith('sync') && c.endsWith(join('tasks', 'p1'))), 'the round reached its fsync');
    g.failSyncsWhen(undefined);
    // Applied on top of the failing state while its round is being written: must fail too.
    const follower = store.mutate((tx) => {
      tx.putTask({ ...tx.getTask('t1')!, description: `saw ${tx.getTask('t1')!.title}` });
      tx.putProject({ ...tx.getProject('p1')!, name: 'follower' });
    });
    const followerResult = follower.catch((e: unknown) => e);
    await until(() => store.getProject('p1')!.name === 'follower', 'the follower was applied');
    g.release();
    for (const err of [await failingResult, await followerResult]) {
      expect(err).toBeInstanceOf(ContractError);
      expect(err).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    }
    expect(memorySnapshot(store)).toEqual(memBefore);
    expect(await diskSnapshot(dataDir)).toEqual(diskBefore);
    expect(sink.events).toEqual([]);

    // The store goes on.
    await store.mutate((tx) => tx.putTask({ ...tx.getTask('t1')!, title: 'after' }));
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('a failed round is undone after the callback that was running when it failed (newest first)', async () => {
    const dataDir = await tempDir();
    const g = gatedIO();
    const store = await Store.open({ dataDir, io: g.io });
    await store.mutate((tx) => {
      tx.putProject(project('p1'));
      tx.putTask(task('t1', 'p1'));
    });
    const memBefore = memorySnapshot(store);
    g.calls.length = 0;
    g.hold();
    g.failSyncsWhen((dir) => dir.endsWith(join('tasks', 'p1')));
    const failing = store.mutate((tx) => tx.putTask({ ...tx.getTask('t1')!, title: 'lost' })).catch((e: unknown) => e);
    await until(() => g.calls.some((c) => c.startsWith('sync') && c.endsWith(join('tasks', 'p1'))), 'the round reached its fsync');
    g.failSyncsWhen(undefined);
    let release!: () => void;
    const slow = store
      .mutate(async (tx) => {
        tx.putTask({ ...tx.getTask('t1')!, description: 'slow' });
        await new Promise<void>((r) => (release = r));
        tx.putProject({ ...tx.getProject('p1')!, name: 'slow' });
      })
      .catch((e: unknown) => e);
    await until(() => release !== undefined, 'the slow callback started');
    g.release(); // the round fails while the slow callback is still running
    await tick();
    release();
    expect(await failing).toMatchObject({ status: 500 });
    expect(await slow).toMatchObject({ status: 500 });
    expect(memorySnapshot(store)).toEqual(memBefore);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('flush inside a mutation first waits for the rounds of earlier mutations', async () => {
    const dataDir = await tempDir();
    const g = gatedIO();
    const store = await Store.open({ dataDir, io: g.io });
    await store.mutate((tx) => tx.putProject(project('p1')));
    g.calls.length = 0;
    g.hold();
    const earlier = store.mutate((tx) => tx.putTask(task('t1', 'p1')));
    await until(() => g.calls.some((c) => c.startsWith('sync')), 'the earlier round waits in its fsync');
    let flushed = false;
    const flushing = store.mutate(async (tx) => {
      tx.putTask(task('t2', 'p1'));
      await tx.flush();
      flushed = true;
    });
    await tick();
    expect(flushed).toBe(false);
    g.release();
    await Promise.all([earlier, flushing]);
    expect(flushed).toBe(true);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });
});
