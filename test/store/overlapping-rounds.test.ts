/**
 * Overlapping commit rounds (src/store/commit-pipeline.ts, `maxRoundsInFlight`; the per-file order is kept by
 * src/store/file-commit.ts): a new round may write while earlier ones are still syncing. What must still hold:
 * acknowledgements and events in call order, operations on one file in call order, at most
 * `maxRoundsInFlight` rounds at once, and a failed round failing every round started after it, with memory
 * and files restored to the state before it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContractError } from '../../src/contract-error.js';
import { fileSystemIO, type StoreIO } from '../../src/store/io.js';
import { Store } from '../../src/store/store.js';
import { cleanupTempDirs, diskSnapshot, emitMarker, eventSink, memorySnapshot, project, task, tempDir, until } from './helpers.js';

afterEach(cleanupTempDirs);

type Call = { kind: 'write' | 'remove' | 'sync'; path: string };

/**
 * The real filesystem, where chosen calls can be held until released or made to fail. A rule is checked when
 * the call is made; `once` rules apply to their first matching call only.
 */
function controlledIO() {
  const calls: Call[] = [];
  const holds: { match: (c: Call) => boolean; gate: Promise<void>; once: boolean; used: boolean }[] = [];
  const failures: { match: (c: Call) => boolean }[] = [];
  const run = async (call: Call, real: () => Promise<void>) => {
    calls.push(call);
    const hold = holds.find((h) => !(h.once && h.used) && h.match(call));
    const failing = failures.some((f) => f.match(call));
    if (hold !== undefined) {
      hold.used = true;
      await hold.gate;
    }
    if (failing) throw Object.assign(new Error(`injected ${call.kind} failure`), { code: 'EIO' });
    await real();
  };
  const io: StoreIO = {
    writeFile: (path, text) => run({ kind: 'write', path }, () => fileSystemIO.writeFile(path, text)),
    removeFile: (path) => run({ kind: 'remove', path }, () => fileSystemIO.removeFile(path)),
    syncDir: (dir) => run({ kind: 'sync', path: dir }, () => fileSystemIO.syncDir(dir)),
    ensureDir: (dir) => fileSystemIO.ensureDir(dir),
  };
  return {
    io,
    calls,
    /** Hold matching calls until the returned function is called. */
    hold(match: (c: Call) => boolean, once = false): () => void {
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const h = { match, gate, once, used: false };
      holds.push(h);
      return () => {
        holds.splice(holds.indexOf(h), 1);
        open();
      };
    },
    fail(match: (c: Call) => boolean): () => void {
      const f = { match };
      failures.push(f);
      return () => void failures.splice(failures.indexOf(f), 1);
    },
    writesOf(suffix: string): number {
      return calls.filter((c) => c.kind === 'write' && c.path.endsWith(suffix)).length;
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

async function openWithProjects(maxRoundsInFlight: number, c = controlledIO()) {
  const dataDir = await tempDir();
  const sink = eventSink();
  const store = await Store.open({ dataDir, io: c.io, onCommit: sink.listener, maxRoundsInFlight });
  await store.mutate((tx) => {
    tx.putProject(project('p1'));
    tx.putProject(project('p2'));
    tx.putTask(task('t1', 'p1'));
    tx.putTask(task('t2', 'p2'));
  });
  sink.events.length = 0;
  c.calls.length = 0;
  return { dataDir, store, sink, c };
}

describe('overlapping commit rounds', () => {
  it('a later round writes while an earlier one syncs, but is acknowledged (events too) only after it', async () => {
    const { dataDir, store, sink, c } = await openWithProjects(2);
    const releaseP1 = c.hold((call) => call.kind === 'sync' && call.path.endsWith(join('tasks', 'p1')));
    const acked: string[] = [];
    const first = store.mutate((tx) => {
      tx.putTask({ ...tx.getTask('t1')!, title: 'first' });
      emitMarker(tx, 'task:updated', 'first');
    });
    void first.then(() => acked.push('first'));
    await until(() => c.calls.some((call) => call.kind === 'sync' && call.path.endsWith(join('tasks', 'p1'))), 'round 1 waits in the fsync of tasks/p1');
    const second = store.mutate((tx) => {
      tx.putTask({ ...tx.getTask('t2')!, title: 'second' });
      emitMarker(tx, 'task:updated', 'second');
    });
    void second.then(() => acked.push('second'));
    await until(() => c.calls.some((call) => call.kind === 'sync' && call.path.endsWith(join('tasks', 'p2'))), 'round 2 synced tasks/p2');
    // Round 2 started without waiting for round 1: its file is written and its folder synced...
    expect(c.writesOf(join('p2', 't2.json'))).toBe(1);
    expect(c.calls.some((call) => call.kind === 'sync' && call.path.endsWith(join('tasks', 'p2')))).toBe(true);
    expect(JSON.parse(await readFile(join(dataDir, 'tasks', 'p2', 't2.json'), 'utf8')).title).toBe('second');
    // ...but nothing is acknowledged before round 1 is durable.
    expect(acked).toEqual([]);
    expect(sink.events).toEqual([]);
    releaseP1();
    await Promise.all([first, second]);
    expect(acked).toEqual(['first', 'second']);
    expect(sink.events).toEqual([[{ name: 'task:updated', data: 'first' }], [{ name: 'task:updated', data: 'second' }]]);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('at most maxRoundsInFlight rounds write at once; the mutations applied meanwhile join one round', async () => {
    const { dataDir, store, c } = await openWithProjects(2);
    const release = c.hold((call) => call.kind === 'sync');
    const all = [store.mutate((tx) => tx.putTask(task('a', 'p1')))];
    await until(() => c.calls.filter((call) => call.kind === 'sync').length === 1, 'round 1 waits in its fsync');
    all.push(store.mutate((tx) => tx.putTask(task('b', 'p1'))));
    await until(() => c.calls.filter((call) => call.kind === 'sync').length === 2, 'round 2 waits in its fsync');
    for (const id of ['c', 'd', 'e']) all.push(store.mutate((tx) => tx.putTask(task(id, 'p1'))));
    await tick();
    // Two rounds are writing (a, then b); c, d and e wait.
    expect(c.calls.filter((call) => call.kind === 'write').map((call) => call.path)).toEqual([
      join(dataDir, 'tasks', 'p1', 'a.json'),
      join(dataDir, 'tasks', 'p1', 'b.json'),
    ]);
    release();
    await Promise.all(all);
    // Three rounds in all, each syncing the folder once: {a}, {b}, {c, d, e}.
    expect(c.calls.filter((call) => call.kind === 'sync')).toHaveLength(3);
    expect(c.writesOf('.json')).toBe(5);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('a file written by two overlapping rounds is written in call order and ends with the later content', async () => {
    const { dataDir, store, c } = await openWithProjects(3);
    const t1 = join(dataDir, 'tasks', 'p1', 't1.json');
    const releaseFirstWrite = c.hold((call) => call.kind === 'write' && call.path === t1, true);
    const first = store.mutate((tx) => tx.putTask({ ...tx.getTask('t1')!, title: 'v1' }));
    await until(() => c.writesOf('t1.json') === 1, "round 1's write of t1 is held");
    const second = store.mutate((tx) => tx.putTask({ ...tx.getTask('t1')!, title: 'v2' }));
    await tick();
    // Round 2 has started, but its write of t1 waits for round 1's.
    expect(c.writesOf('t1.json')).toBe(1);
    releaseFirstWrite();
    await Promise.all([first, second]);
    expect(c.writesOf('t1.json')).toBe(2);
    expect(JSON.parse(await readFile(t1, 'utf8')).title).toBe('v2');
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('a failed round fails every round started after it and restores their files; the round before it is acknowledged', async () => {
    const { dataDir, store, sink, c } = await openWithProjects(3);
    const release = c.hold((call) => call.kind === 'sync');
    // Round 1: succeeds.
    const ok = store.mutate((tx) => {
      tx.putTask({ ...tx.getTask('t2')!, title: 'kept' });
      emitMarker(tx, 'task:updated', 'kept');
    });
    await until(() => c.calls.some((call) => call.kind === 'sync' && call.path.endsWith(join('tasks', 'p2'))), 'round 1 waits in its fsync');
    const memAfterOk = memorySnapshot(store);
    // Round 2: its write of t1 fails.
    const stopFailing = c.fail((call) => call.kind === 'write' && call.path.endsWith('t1.json'));
    const failing = store
      .mutate((tx) => {
        tx.putTask({ ...tx.getTask('t1')!, title: 'lost' });
        emitMarker(tx, 'task:updated', 'lost');
      })
      .catch((e: unknown) => e);
    await until(() => c.writesOf('t1.json') === 1, "round 2's write of t1 was made (and failed)");
    stopFailing();
    // Round 3: built on round 2's state; creates a file and changes the project. Its writes succeed.
    const follower = store
      .mutate((tx) => {
        tx.putTask(task('t9', 'p1', { title: `after ${tx.getTask('t1')!.title}` }));
        tx.putProject({ ...tx.getProject('p1')!, name: 'follower' });
        emitMarker(tx, 'task:created', 't9');
      })
      .catch((e: unknown) => e);
    await until(() => c.writesOf('t9.json') === 1, 'round 3 wrote t9 while round 2 was failing');
    release();
    await ok;
    for (const err of [await failing, await follower]) {
      expect(err).toBeInstanceOf(ContractError);
      expect(err).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    }
    expect(memorySnapshot(store)).toEqual(memAfterOk);
    expect(await diskSnapshot(dataDir)).toEqual(memAfterOk);
    expect(existsSync(join(dataDir, 'tasks', 'p1', 't9.json'))).toBe(false);
    expect(sink.events).toEqual([[{ name: 'task:updated', data: 'kept' }]]);

    // The store goes on with overlapping rounds.
    await Promise.all([
      store.mutate((tx) => tx.putTask({ ...tx.getTask('t1')!, title: 'after' })),
      store.mutate((tx) => tx.putTask({ ...tx.getTask('t2')!, title: 'after' })),
    ]);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('a failure in an earlier round is handled first even when a later round fails too', async () => {
    const { dataDir, store, c } = await openWithProjects(3);
    const memBefore = memorySnapshot(store);
    const diskBefore = await diskSnapshot(dataDir);
    const releaseP1 = c.hold((call) => call.kind === 'sync' && call.path.endsWith(join('tasks', 'p1')));
    const stop = c.fail((call) => call.kind === 'sync');
    const early = store.mutate((tx) => tx.putTask({ ...tx.getTask('t1')!, title: 'early' })).catch((e: unknown) => e);
    await until(() => c.calls.some((call) => call.kind === 'sync' && call.path.endsWith(join('tasks', 'p1'))), 'round 1 waits in its (failing) fsync');
    // Round 2 fails at once (tasks/p2 is not held); round 1 fails later, when released.
    const late = store.mutate((tx) => tx.putTask({ ...tx.getTask('t2')!, title: 'late' })).catch((e: unknown) => e);
    await until(() => c.calls.some((call) => call.kind === 'sync' && call.path.endsWith(join('tasks', 'p2'))), 'round 2 made its (failing) fsync');
    stop();
    releaseP1();
    expect(await early).toMatchObject({ status: 500 });
    expect(await late).toMatchObject({ status: 500 });
    expect(memorySnapshot(store)).toEqual(memBefore);
    expect(await diskSnapshot(dataDir)).toEqual(diskBefore);
    await store.close();
  });

  it('close waits for every round in flight', async () => {
    const { dataDir, store, c } = await openWithProjects(3);
    const release = c.hold((call) => call.kind === 'sync');
    const writes = ['x', 'y', 'z'].map((id) => store.mutate((tx) => tx.putTask(task(id, 'p2'))));
    await until(() => c.calls.some((call) => call.kind === 'sync'), 'a round waits in its fsync');
    let closed = false;
    const closing = store.close().then(() => (closed = true));
    await tick();
    expect(closed).toBe(false);
    release();
    await Promise.all([...writes, closing]);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
  });
});
