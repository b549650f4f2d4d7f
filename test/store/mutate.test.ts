import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { ContractError } from '../../src/contract-error.js';
import { fileSystemIO, type StoreIO } from '../../src/store/io.js';
import { UnsafeIdError } from '../../src/store/layout.js';
import { Store, type StoreEvent } from '../../src/store/store.js';
import { cleanupTempDirs, diskSnapshot, emitMarker, eventSink, memorySnapshot, project, queue, session, task, tempDir, template } from './helpers.js';

afterEach(cleanupTempDirs);

/** A real-filesystem IO that fails the chosen operations and records every call. */
function faultyIO(failWhen: (op: string, path: string) => boolean) {
  const calls: string[] = [];
  const io: StoreIO = {
    writeFile: async (path, text) => {
      calls.push(`write ${path}`);
      if (failWhen('write', path)) throw Object.assign(new Error(`injected write failure: ${basename(path)}`), { code: 'EIO' });
      return fileSystemIO.writeFile(path, text);
    },
    removeFile: async (path) => {
      calls.push(`remove ${path}`);
      if (failWhen('remove', path)) throw Object.assign(new Error('injected remove failure'), { code: 'EIO' });
      return fileSystemIO.removeFile(path);
    },
    syncDir: async (dir) => {
      calls.push(`sync ${dir}`);
      if (failWhen('sync', dir)) throw Object.assign(new Error('injected sync failure'), { code: 'EIO' });
      return fileSystemIO.syncDir(dir);
    },
    ensureDir: (dir) => fileSystemIO.ensureDir(dir),
  };
  return { io, calls };
}

async function seeded(dataDir: string, options: Partial<Parameters<typeof Store.open>[0]> = {}) {
  const sink = eventSink();
  const store = await Store.open({ dataDir, onCommit: sink.listener, clock: new ManualClock(5000), ...options });
  await store.mutate((tx) => {
    tx.putProject(project('p1'));
    tx.putTask(task('t1', 'p1'));
    tx.putTask(task('t2', 'p1', { createdAt: 1001 }));
    tx.putTemplate(template('tm1'));
  });
  sink.events.length = 0;
  return { store, sink };
}

describe('mutate: write-through (docs/behaviour.md §5.4)', () => {
  it('every touched file is on disk in the format of docs/behaviour.md and equals memory', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    await store.mutate((tx) => {
      tx.putSession(session('s1', 'p1', { taskIds: ['t1'], strategy: 'queue' }));
      tx.putTask({ ...tx.getTask('t1')!, sessionIds: ['s1'], updatedAt: tx.bump(tx.getTask('t1')!.updatedAt) });
      tx.putQueue(queue('s1', { items: [{ taskId: 't1', status: 'queued', addedAt: tx.now }] }));
    });
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    expect(await readFile(join(dataDir, 'sessions', 's1.json'), 'utf8')).toBe(`${JSON.stringify(store.getSession('s1'), null, 2)}\n`);
    expect(await readFile(join(dataDir, 'tasks', 'p1', 't1.json'), 'utf8')).toBe(`${JSON.stringify(store.getTask('t1'), null, 2)}\n`);
    // No temporary file is left anywhere.
    for (const folder of ['projects', 'tasks/p1', 'sessions', 'queues', 'templates']) {
      expect((await readdir(join(dataDir, folder))).every((n) => n.endsWith('.json'))).toBe(true);
    }
    await store.close();
  });

  it('deletes remove the files; a project delete also removes its empty task folder', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    await store.mutate((tx) => {
      tx.putSession(session('s1', 'p1', { strategy: 'queue' }));
      tx.putQueue(queue('s1'));
    });
    await store.mutate((tx) => {
      expect(tx.deleteQueue('s1')).toBe(true);
      expect(tx.deleteSession('s1')).toBe(true);
      expect(tx.deleteTask('t1')).toBe(true);
      expect(tx.deleteTask('t2')).toBe(true);
      expect(tx.deleteTemplate('tm1')).toBe(true);
      expect(tx.deleteTask('t_none')).toBe(false);
    });
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    expect(existsSync(join(dataDir, 'tasks', 'p1'))).toBe(true);
    await store.mutate((tx) => void tx.deleteProject('p1'));
    expect(existsSync(join(dataDir, 'projects', 'p1.json'))).toBe(false);
    expect(existsSync(join(dataDir, 'tasks', 'p1'))).toBe(false);
    expect(store.listProjects()).toEqual([]);
    // A project id can get a task folder again later (the folder cache forgot it).
    await store.mutate((tx) => {
      tx.putProject(project('p2'));
      tx.putTask(task('t9', 'p2'));
    });
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('a project delete leaves a non-empty task folder (foreign files) in place', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    await store.mutate((tx) => {
      tx.deleteTask('t1');
      tx.deleteTask('t2');
    });
    await writeFile(join(dataDir, 'tasks', 'p1', 'notes.txt'), 'x');
    await store.mutate((tx) => void tx.deleteProject('p1'));
    expect(await readdir(join(dataDir, 'tasks', 'p1'))).toEqual(['notes.txt']);
    await store.close();
  });

  it('a task whose projectId changes moves its file', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    await store.mutate((tx) => tx.putTask({ ...tx.getTask('t1')!, projectId: 'p9' }));
    expect(existsSync(join(dataDir, 'tasks', 'p1', 't1.json'))).toBe(false);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('a mutation that changes nothing writes nothing and delivers its events', async () => {
    const dataDir = await tempDir();
    const { io, calls } = faultyIO(() => false);
    const { store, sink } = await seeded(dataDir, { io });
    calls.length = 0;
    const result = await store.mutate((tx) => {
      emitMarker(tx, 'x:y', { a: 1 });
      return 42;
    });
    expect(result).toBe(42);
    expect(calls).toEqual([]);
    expect(sink.events).toEqual([[{ name: 'x:y', data: { a: 1 } }]]);
    await store.close();
  });

  it('put then delete of a new entity in one mutation writes nothing', async () => {
    const dataDir = await tempDir();
    const { io, calls } = faultyIO(() => false);
    const { store } = await seeded(dataDir, { io });
    calls.length = 0;
    await store.mutate((tx) => {
      tx.putProject(project('p_tmp'));
      tx.deleteProject('p_tmp');
    });
    expect(calls).toEqual([]);
    expect(existsSync(join(dataDir, 'projects', 'p_tmp.json'))).toBe(false);
    await store.close();
  });
});

describe('mutate: time (docs/behaviour.md §0.2)', () => {
  it('tx.now is one clock reading for the whole mutation; bump = max(now, prev + 1)', async () => {
    const dataDir = await tempDir();
    const clock = new ManualClock(10_000);
    const store = await Store.open({ dataDir, clock });
    const seen = await store.mutate(async (tx) => {
      const first = tx.now;
      clock.advance(50);
      await new Promise((r) => setTimeout(r, 5));
      return { first, second: tx.now, bumpOld: tx.bump(5), bumpSame: tx.bump(10_000), bumpFuture: tx.bump(20_000) };
    });
    expect(seen).toEqual({ first: 10_000, second: 10_000, bumpOld: 10_000, bumpSame: 10_001, bumpFuture: 20_001 });
    const next = await store.mutate((tx) => tx.now);
    expect(next).toBe(10_050);
    await store.close();
  });

  it('tx.stamp: one stamp per entity per mutation, from its stamp before the mutation; now for a new entity', async () => {
    const dataDir = await tempDir();
    const clock = new ManualClock(10_000);
    const store = await Store.open({ dataDir, clock });
    await store.mutate((tx) => {
      tx.putProject(project('p', { createdAt: 1, updatedAt: 20_000 }));
      tx.putTask(task('t', 'p', { createdAt: 1, updatedAt: 5 }));
      tx.putSession(session('s', 'p', { startedAt: 1, lastActivity: 30_000 }));
    });
    const seen = await store.mutate((tx) => {
      const first = tx.stamp('task', 't');
      // A change inside the mutation does not move the stamp again.
      tx.putTask({ ...tx.getTask('t')!, title: 'x', updatedAt: first });
      const again = tx.stamp('task', 't');
      const sessionStamp = tx.stamp('session', 's');
      tx.putProject(project('p2', { createdAt: tx.now, updatedAt: tx.now }));
      return { first, again, project: tx.stamp('project', 'p'), sessionStamp, created: tx.stamp('project', 'p2'), missing: tx.stamp('task', 'nope') };
    });
    expect(seen).toEqual({ first: 10_000, again: 10_000, project: 20_001, sessionStamp: 30_001, created: 10_000, missing: 10_000 });
    await store.close();
  });

  it('tx.newId makes ids with tx.now that avoid existing ids and skipped session files', async () => {
    const dataDir = await tempDir();
    await mkdir(join(dataDir, 'sessions'), { recursive: true });
    await writeFile(join(dataDir, 'sessions', 'sess_7_aaaaaaaaa.json'), 'garbage');
    const store = await Store.open({ dataDir, clock: new ManualClock(7) });
    expect(store.isSessionIdTaken('sess_7_aaaaaaaaa')).toBe(true);
    const ids = await store.mutate((tx) => {
      tx.putProject(project('proj_7_aaaaaaaaa'));
      return {
        proj: tx.newId('proj'),
        sess: tx.newId('sess'),
        evt: tx.newId('evt', (id) => id.length < 0),
      };
    });
    expect(ids.proj).toMatch(/^proj_7_[0-9a-z]{9}$/);
    expect(ids.sess).toMatch(/^sess_7_[0-9a-z]{9}$/);
    expect(ids.evt).toMatch(/^evt_7_[0-9a-z]{9}$/);
    await store.close();
  });
});

describe('mutate: a callback that throws (docs/behaviour.md §0.8)', () => {
  it('leaves memory, disk and indexes unchanged, delivers nothing, and rethrows the same error', async () => {
    const dataDir = await tempDir();
    const { store, sink } = await seeded(dataDir);
    await store.mutate((tx) => {
      tx.putSession(session('s1', 'p1', { taskIds: ['t1'] }));
      tx.putTask({ ...tx.getTask('t1')!, sessionIds: ['s1'] });
    });
    sink.events.length = 0;
    const memBefore = memorySnapshot(store);
    const diskBefore = await diskSnapshot(dataDir);
    const indexesBefore = store.debugIndexes();
    const boom = new ContractError(404, 'TASK_NOT_FOUND', 'Task not found');
    await expect(
      store.mutate(async (tx) => {
        tx.putProject({ ...tx.getProject('p1')!, name: 'renamed' });
        tx.putTask({ ...tx.getTask('t2')!, status: 'completed', parentId: 't1' });
        tx.deleteTask('t1');
        tx.deleteSession('s1');
        tx.putProject(project('p_new'));
        tx.putTask(task('t_new', 'p_new'));
        emitMarker(tx, 'task:updated', {});
        await new Promise((r) => setTimeout(r, 1));
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(memorySnapshot(store)).toEqual(memBefore);
    expect(await diskSnapshot(dataDir)).toEqual(diskBefore);
    expect(store.debugIndexes()).toEqual(indexesBefore);
    expect(sink.events).toEqual([]);
    // The store keeps working.
    await store.mutate((tx) => tx.putProject({ ...tx.getProject('p1')!, name: 'after' }));
    expect(store.getProject('p1')!.name).toBe('after');
    await store.close();
  });

  it('a synchronous throw is handled the same way', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    const before = memorySnapshot(store);
    await expect(
      store.mutate((tx) => {
        tx.deleteProject('p1');
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(memorySnapshot(store)).toEqual(before);
    await store.close();
  });
});

describe('mutate: a failing write (docs/behaviour.md §0.8, §5.4)', () => {
  it('injected failure: 500 INTERNAL_ERROR, memory and disk as before, nothing delivered', async () => {
    const dataDir = await tempDir();
    let failing = false;
    const { io } = faultyIO((op, path) => failing && op === 'write' && path.endsWith(join('sessions', 's1.json')));
    const { store, sink } = await seeded(dataDir, { io });
    const memBefore = memorySnapshot(store);
    const diskBefore = await diskSnapshot(dataDir);
    failing = true;
    const err = await store
      .mutate((tx) => {
        tx.putSession(session('s1', 'p1', { taskIds: ['t1', 't2'] }));
        for (const id of ['t1', 't2']) tx.putTask({ ...tx.getTask(id)!, sessionIds: ['s1'], updatedAt: tx.bump(tx.getTask(id)!.updatedAt) });
        tx.putProject({ ...tx.getProject('p1')!, name: 'changed' });
        tx.deleteTemplate('tm1');
        emitMarker(tx, 'session:created', {});
        return 'never';
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractError);
    expect(err).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    expect((err as Error).message).toContain('injected write failure');
    expect(memorySnapshot(store)).toEqual(memBefore);
    // The task and project files were already replaced in parallel; they were restored.
    expect(await diskSnapshot(dataDir)).toEqual(diskBefore);
    expect(store.listSessions({ taskId: 't1' })).toEqual([]);
    expect(sink.events).toEqual([]);
    failing = false;
    await store.mutate((tx) => tx.putSession(session('s1', 'p1')));
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('a failing directory fsync is a failed write too', async () => {
    const dataDir = await tempDir();
    let failing = false;
    const { io } = faultyIO((op, path) => failing && op === 'sync' && path.endsWith('projects'));
    const { store, sink } = await seeded(dataDir, { io });
    const memBefore = memorySnapshot(store);
    const diskBefore = await diskSnapshot(dataDir);
    failing = true;
    await expect(store.mutate((tx) => tx.putProject(project('p2')))).rejects.toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    expect(memorySnapshot(store)).toEqual(memBefore);
    expect(await diskSnapshot(dataDir)).toEqual(diskBefore);
    expect(sink.events).toEqual([]);
    await store.close();
  });

  it('real failure: the sessions folder replaced by a file', async () => {
    const dataDir = await tempDir();
    const { store, sink } = await seeded(dataDir);
    const memBefore = memorySnapshot(store);
    const diskBefore = await diskSnapshot(dataDir);
    await rm(join(dataDir, 'sessions'), { recursive: true });
    await writeFile(join(dataDir, 'sessions'), 'not a folder');
    await expect(
      store.mutate((tx) => {
        tx.putSession(session('s1', 'p1', { taskIds: ['t1'] }));
        tx.putTask({ ...tx.getTask('t1')!, sessionIds: ['s1'] });
        emitMarker(tx, 'session:created', {});
      }),
    ).rejects.toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    expect(memorySnapshot(store)).toEqual(memBefore);
    expect(await diskSnapshot(dataDir)).toEqual(diskBefore);
    expect(sink.events).toEqual([]);
    expect(store.getSession('s1')).toBeUndefined();
    expect(store.getTask('t1')!.sessionIds).toEqual([]);
    await store.close();
  });

  it('a failed delete is rolled back: the entity stays in memory and on disk', async () => {
    const dataDir = await tempDir();
    let failing = false;
    const { io } = faultyIO((op) => failing && op === 'remove');
    const { store } = await seeded(dataDir, { io });
    failing = true;
    await expect(store.mutate((tx) => void tx.deleteTask('t1'))).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(store.getTask('t1')).toBeDefined();
    expect(store.listTasks({ projectId: 'p1' }).map((t) => t.id)).toEqual(['t1', 't2']);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });
});

describe('mutate: tx.flush', () => {
  it('makes the changes so far durable inside the mutation; a later throw restores memory and files', async () => {
    const dataDir = await tempDir();
    const { store, sink } = await seeded(dataDir);
    const memBefore = memorySnapshot(store);
    const diskBefore = await diskSnapshot(dataDir);
    await expect(
      store.mutate(async (tx) => {
        tx.putSession(session('s1', 'p1', { taskIds: ['t1'] }));
        tx.putTask({ ...tx.getTask('t1')!, sessionIds: ['s1'] });
        tx.deleteTemplate('tm1');
        await tx.flush();
        expect(existsSync(join(dataDir, 'sessions', 's1.json'))).toBe(true);
        expect(JSON.parse(readFileSync(join(dataDir, 'tasks', 'p1', 't1.json'), 'utf8')).sessionIds).toEqual(['s1']);
        expect(existsSync(join(dataDir, 'templates', 'tm1.json'))).toBe(false);
        tx.putTask({ ...tx.getTask('t2')!, title: 'later' });
        emitMarker(tx, 'session:spawn', {});
        throw new ContractError(500, 'manifest_generation_failed', 'Failed to generate manifest: x');
      }),
    ).rejects.toMatchObject({ code: 'manifest_generation_failed' });
    expect(memorySnapshot(store)).toEqual(memBefore);
    expect(await diskSnapshot(dataDir)).toEqual(diskBefore);
    expect(sink.events).toEqual([]);
    await store.close();
  });

  it('flush then success writes the rest at commit', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    await store.mutate(async (tx) => {
      tx.putProject(project('p2'));
      await tx.flush();
      tx.putProject({ ...tx.getProject('p2')!, name: 'final' });
      tx.putProject(project('p3'));
    });
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    expect(store.getProject('p2')!.name).toBe('final');
    await store.close();
  });
});

describe('mutate: events (docs/behaviour.md §4.5)', () => {
  it('are delivered once, in emit order, after every file exists with its final content', async () => {
    const dataDir = await tempDir();
    const observed: { events: StoreEvent[]; sessionOnDisk: unknown; taskOnDisk: unknown }[] = [];
    const store = await Store.open({
      dataDir,
      onCommit: (events) => {
        observed.push({
          events: [...events],
          sessionOnDisk: existsSync(join(dataDir, 'sessions', 's1.json')) ? JSON.parse(readFileSync(join(dataDir, 'sessions', 's1.json'), 'utf8')) : undefined,
          taskOnDisk: JSON.parse(readFileSync(join(dataDir, 'tasks', 'p1', 't1.json'), 'utf8')),
        });
      },
    });
    await store.mutate((tx) => {
      tx.putProject(project('p1'));
      tx.putTask(task('t1', 'p1'));
    });
    observed.length = 0;
    await store.mutate((tx) => {
      const s = session('s1', 'p1', { taskIds: ['t1'] });
      tx.putSession(s);
      emitMarker(tx, 'session:created', s);
      const t = { ...tx.getTask('t1')!, sessionIds: ['s1'] };
      tx.putTask(t);
      emitMarker(tx, 'task:session_added', { taskId: 't1', sessionId: 's1' });
    });
    expect(observed).toHaveLength(1);
    expect(observed[0]!.events.map((e) => e.name)).toEqual(['session:created', 'task:session_added']);
    expect(observed[0]!.sessionOnDisk).toEqual(store.getSession('s1'));
    expect(observed[0]!.taskOnDisk).toEqual(store.getTask('t1'));
    await store.close();
  });

  it('a listener that throws does not fail the acknowledged mutation', async () => {
    const dataDir = await tempDir();
    const warnings: string[] = [];
    const store = await Store.open({
      dataDir,
      logger: { warn: (m) => void warnings.push(m), info: () => undefined },
      onCommit: () => {
        throw new Error('hub down');
      },
    });
    await expect(store.mutate((tx) => emitMarker(tx, 'project:created', {}))).resolves.toBeUndefined();
    expect(warnings.some((w) => w.includes('hub down'))).toBe(true);
    store.setCommitListener(undefined);
    await store.close();
  });
});

describe('mutate: serialisation (docs/behaviour.md §0.8)', () => {
  it('concurrent read-modify-write mutations lose no update; events stay contiguous and in call order', async () => {
    const dataDir = await tempDir();
    const sink = eventSink();
    const store = await Store.open({ dataDir, onCommit: sink.listener });
    await store.mutate((tx) => tx.putProject(project('p1', { description: '' })));
    sink.events.length = 0;
    const n = 40;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        store.mutate(async (tx) => {
          const p = tx.getProject('p1')!;
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          tx.putProject({ ...p, description: `${p.description}${i},` });
          emitMarker(tx, 'a', i);
          await new Promise((r) => setTimeout(r, Math.random() * 2));
          emitMarker(tx, 'b', i);
          return i;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(store.getProject('p1')!.description).toBe(Array.from({ length: n }, (_, i) => `${i},`).join(''));
    expect(sink.events).toEqual(Array.from({ length: n }, (_, i) => [{ name: 'a', data: i }, { name: 'b', data: i }]));
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });

  it('a failed mutation does not block the queue', async () => {
    const dataDir = await tempDir();
    const store = await Store.open({ dataDir });
    const a = store.mutate(() => {
      throw new Error('first fails');
    });
    const b = store.mutate((tx) => tx.putProject(project('p1')));
    await expect(a).rejects.toThrow('first fails');
    await expect(b).resolves.toBeUndefined();
    expect(store.getProject('p1')).toBeDefined();
    await store.close();
  });

  it('close waits for queued mutations, then refuses new ones', async () => {
    const dataDir = await tempDir();
    const store = await Store.open({ dataDir });
    const pending = store.mutate(async (tx) => {
      await new Promise((r) => setTimeout(r, 20));
      tx.putProject(project('p1'));
    });
    await store.close();
    await expect(pending).resolves.toBeUndefined();
    expect(existsSync(join(dataDir, 'projects', 'p1.json'))).toBe(true);
    await expect(store.mutate(() => undefined)).rejects.toThrow(/closed/);
    expect(existsSync(join(dataDir, '.lock'))).toBe(false);
  });
});

describe('mutate: misuse is caught', () => {
  it('putting the stored object itself (changed in place) throws', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    await expect(
      store.mutate((tx) => {
        const t = tx.getTask('t1')!;
        tx.putTask(t);
      }),
    ).rejects.toThrow(/new object/);
    await store.close();
  });

  it('using tx after the callback returned throws', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    const leaked = await store.mutate((tx) => tx);
    expect(() => leaked.putProject(project('late'))).toThrow(/transaction is over/);
    expect(() => leaked.emit('project:deleted', { id: 'late' })).toThrow(/transaction is over/);
    expect(() => leaked.emitEvent({ name: 'project:deleted', data: { id: 'late' } })).toThrow(/transaction is over/);
    expect(store.getProject('late')).toBeUndefined();
    await store.close();
  });

  it('a nested mutate on the same store rejects instead of deadlocking', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    await expect(store.mutate(async () => store.mutate(() => 1))).rejects.toThrow(/inside a mutation/);
    await expect(store.mutate(() => 2)).resolves.toBe(2);
    await store.close();
  });

  it('unsafe ids never reach the filesystem: put throws, get answers undefined', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    for (const id of ['../evil', 'a/b', 'a\\b', 'a\0b', '.', '..', '']) {
      await expect(store.mutate((tx) => tx.putProject(project(id)))).rejects.toBeInstanceOf(UnsafeIdError);
      await expect(store.mutate((tx) => tx.putTask(task('t_ok', id)))).rejects.toBeInstanceOf(UnsafeIdError);
      expect(store.getProject(id)).toBeUndefined();
      expect(store.getTask(id)).toBeUndefined();
      expect(store.getSession(id)).toBeUndefined();
      expect(store.getQueue(id)).toBeUndefined();
      expect(store.getTemplate(id)).toBeUndefined();
      await expect(store.mutate((tx) => tx.deleteSession(id))).resolves.toBe(false);
    }
    expect(existsSync(join(dataDir, 'evil.json'))).toBe(false);
    expect(existsSync(join(dirname(dataDir), 'evil.json'))).toBe(false);
    expect(store.getTask('t_ok')).toBeUndefined();
    await store.close();
  });
});

describe('write ordering', () => {
  it('a queue is written after its session is durable and removed before its session', async () => {
    const dataDir = await tempDir();
    const { io, calls } = faultyIO(() => false);
    const { store } = await seeded(dataDir, { io });
    calls.length = 0;
    await store.mutate((tx) => {
      tx.putQueue(queue('s1'));
      tx.putSession(session('s1', 'p1', { strategy: 'queue' }));
    });
    const rel = (c: string) => c.replace(dataDir, '');
    expect(calls.map(rel)).toEqual([`write /sessions/s1.json`, `sync /sessions`, `write /queues/s1.json`, `sync /queues`]);
    calls.length = 0;
    await store.mutate((tx) => {
      tx.deleteSession('s1');
      tx.deleteQueue('s1');
    });
    expect(calls.map(rel)).toEqual([`remove /queues/s1.json`, `sync /queues`, `remove /sessions/s1.json`, `sync /sessions`]);
    await store.close();
  });

  it('files of one mutation are written in parallel and each folder is fsynced once', async () => {
    const dataDir = await tempDir();
    const { io, calls } = faultyIO(() => false);
    const { store } = await seeded(dataDir, { io });
    calls.length = 0;
    await store.mutate((tx) => {
      for (let i = 0; i < 5; i++) tx.putTask(task(`tx${i}`, 'p1'));
      tx.putProject(project('p2'));
    });
    const syncs = calls.filter((c) => c.startsWith('sync'));
    expect(syncs.sort()).toEqual([`sync ${join(dataDir, 'projects')}`, `sync ${join(dataDir, 'tasks', 'p1')}`].sort());
    // All writes are issued before the first fsync.
    expect(calls.findIndex((c) => c.startsWith('sync'))).toBe(6);
    await store.close();
  });

  it("a new project's task folder is created and its parent fsynced", async () => {
    const dataDir = await tempDir();
    const { io, calls } = faultyIO(() => false);
    const { store } = await seeded(dataDir, { io });
    calls.length = 0;
    await store.mutate((tx) => tx.putTask(task('tz', 'p_new')));
    expect((await stat(join(dataDir, 'tasks', 'p_new'))).isDirectory()).toBe(true);
    expect(calls).toContain(`sync ${join(dataDir, 'tasks')}`);
    await store.close();
  });
});

describe('restart', () => {
  it('close and reopen gives the same data', async () => {
    const dataDir = await tempDir();
    const { store } = await seeded(dataDir);
    await store.mutate((tx) => {
      tx.putSession(session('s1', 'p1', { taskIds: ['t1'], status: 'working', strategy: 'queue', metadata: { role: 'worker' } }));
      tx.putTask({ ...tx.getTask('t1')!, sessionIds: ['s1'], status: 'in_progress', startedAt: 5000, sessionStatus: 'working', model: 'opus', dueDate: '2025-01-31' });
      tx.putQueue(queue('s1', { items: [{ taskId: 't1', status: 'processing', addedAt: 1, startedAt: 2 }], currentIndex: 0 }));
      tx.putTask(task('t3', 'p1', { parentId: 't1', createdAt: 1002 }));
    });
    const before = memorySnapshot(store);
    await store.close();
    const again = await Store.open({ dataDir });
    expect(memorySnapshot(again)).toEqual(before);
    expect(again.loadStats).toMatchObject({ quarantined: 0, migrated: 0, linkRepairs: 0 });
    expect(again.listChildren('t1').map((t) => t.id)).toEqual(['t3']);
    expect(again.listSessions({ taskId: 't1', active: true }).map((s) => s.id)).toEqual(['s1']);
    await again.close();
  });
});
