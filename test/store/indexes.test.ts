import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fileSystemIO, type StoreIO } from '../../src/store/io.js';
import { Store, type SessionFilter, type TaskFilter } from '../../src/store/store.js';
import type { Session, Task } from '../../src/store/entities.js';
import { cleanupTempDirs, project, session, task, tempDir } from './helpers.js';

afterEach(cleanupTempDirs);

// Indexes are in-memory only: skip the disk to run many sequences quickly.
const memoryOnlyIO: StoreIO = {
  writeFile: async () => undefined,
  removeFile: async () => undefined,
  syncDir: async () => undefined,
  ensureDir: fileSystemIO.ensureDir,
};

const TASK_IDS = ['t0', 't1', 't2', 't3', 't4', 't5'];
const SESSION_IDS = ['s0', 's1', 's2', 's3'];
const PROJECT_IDS = ['p0', 'p1', 'p2'];
const TASK_STATUSES = ['todo', 'in_progress', 'completed', 'cancelled', 'blocked'] as const;
const SESSION_STATUSES = ['spawning', 'idle', 'working', 'completed', 'failed', 'stopped'] as const;

type Op =
  | { op: 'putTask'; id: string; projectId: string; parentId: string | null; status: (typeof TASK_STATUSES)[number]; createdAt: number }
  | { op: 'deleteTask'; id: string }
  | { op: 'putSession'; id: string; projectId: string; taskIds: string[]; status: (typeof SESSION_STATUSES)[number]; startedAt: number }
  | { op: 'deleteSession'; id: string }
  | { op: 'failing'; inner: Op[] };

const simpleOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('putTask' as const),
    id: fc.constantFrom(...TASK_IDS),
    projectId: fc.constantFrom(...PROJECT_IDS),
    parentId: fc.constantFrom(null, ...TASK_IDS),
    status: fc.constantFrom(...TASK_STATUSES),
    createdAt: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({ op: fc.constant('deleteTask' as const), id: fc.constantFrom(...TASK_IDS) }),
  fc.record({
    op: fc.constant('putSession' as const),
    id: fc.constantFrom(...SESSION_IDS),
    projectId: fc.constantFrom(...PROJECT_IDS),
    taskIds: fc.uniqueArray(fc.constantFrom(...TASK_IDS, 't_missing'), { maxLength: 4 }),
    status: fc.constantFrom(...SESSION_STATUSES),
    startedAt: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({ op: fc.constant('deleteSession' as const), id: fc.constantFrom(...SESSION_IDS) }),
);
const anyOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: simpleOp },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('failing' as const), inner: fc.array(simpleOp, { minLength: 1, maxLength: 4 }) }) },
);

const byCreated = (a: Task, b: Task) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const byStarted = (a: Session, b: Session) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function bruteTasks(model: Map<string, Task>, f: TaskFilter): Task[] {
  return [...model.values()]
    .filter((t) => (f.projectId === undefined || t.projectId === f.projectId) && (f.status === undefined || t.status === f.status) && (f.parentId === undefined || t.parentId === f.parentId))
    .sort(byCreated);
}

function bruteSessions(model: Map<string, Session>, f: SessionFilter): Session[] {
  return [...model.values()]
    .filter(
      (s) =>
        (f.projectId === undefined || s.projectId === f.projectId) &&
        (f.taskId === undefined || s.taskIds.includes(f.taskId)) &&
        (f.status === undefined || s.status === f.status) &&
        (f.active !== true || !['completed', 'failed', 'stopped'].includes(s.status)),
    )
    .sort(byStarted);
}

describe('indexes (filtered lists equal a brute-force filter)', () => {
  it('stay correct across random puts, deletes, status changes, re-parenting and rolled-back mutations', async () => {
    const dataDir = await tempDir();
    const store = await Store.open({ dataDir, io: memoryOnlyIO });
    await store.mutate((tx) => PROJECT_IDS.forEach((p) => tx.putProject(project(p))));

    await fc.assert(
      fc.asyncProperty(fc.array(anyOp, { maxLength: 30 }), async (ops) => {
        // Start each run from an empty task/session state.
        await store.mutate((tx) => {
          for (const t of tx.listTasks()) tx.deleteTask(t.id);
          for (const s of tx.listSessions()) tx.deleteSession(s.id);
        });
        const tasks = new Map<string, Task>();
        const sessions = new Map<string, Session>();

        const apply = (tx: Parameters<Parameters<Store['mutate']>[0]>[0], op: Op, t: Map<string, Task>, s: Map<string, Session>) => {
          switch (op.op) {
            case 'putTask': {
              const prev = t.get(op.id);
              const next = { ...(prev ?? task(op.id, op.projectId)), projectId: op.projectId, parentId: op.parentId, status: op.status, createdAt: op.createdAt };
              tx.putTask(next);
              t.set(op.id, next);
              break;
            }
            case 'deleteTask':
              expect(tx.deleteTask(op.id)).toBe(t.delete(op.id));
              break;
            case 'putSession': {
              const next = session(op.id, op.projectId, { taskIds: op.taskIds, status: op.status, startedAt: op.startedAt });
              tx.putSession(next);
              s.set(op.id, next);
              break;
            }
            case 'deleteSession':
              expect(tx.deleteSession(op.id)).toBe(s.delete(op.id));
              break;
            case 'failing':
              break;
          }
        };

        for (const op of ops) {
          if (op.op === 'failing') {
            await expect(
              store.mutate((tx) => {
                const scratchT = new Map(tasks);
                const scratchS = new Map(sessions);
                for (const inner of op.inner) apply(tx, inner, scratchT, scratchS);
                throw new Error('rolled back');
              }),
            ).rejects.toThrow('rolled back');
          } else {
            await store.mutate((tx) => apply(tx, op, tasks, sessions));
          }

          for (const projectId of [undefined, ...PROJECT_IDS, 'p_none']) {
            expect(store.countTasksOfProject(projectId ?? 'p0')).toBe(bruteTasks(tasks, { projectId: projectId ?? 'p0' }).length);
            expect(store.countSessionsOfProject(projectId ?? 'p0')).toBe(bruteSessions(sessions, { projectId: projectId ?? 'p0' }).length);
            for (const status of [undefined, 'todo', 'blocked', 'pending']) {
              for (const parentId of [undefined, null, 't0', 't1']) {
                const f: TaskFilter = { projectId, status, parentId };
                expect(store.listTasks(f)).toEqual(bruteTasks(tasks, f));
              }
            }
            for (const taskId of [undefined, 't0', 't1', 't_missing']) {
              for (const status of [undefined, 'idle', 'completed']) {
                for (const active of [undefined, true, false]) {
                  const f: SessionFilter = { projectId, taskId, status, active };
                  expect(store.listSessions(f)).toEqual(bruteSessions(sessions, f));
                }
              }
            }
          }
          for (const id of TASK_IDS) expect(store.listChildren(id)).toEqual(bruteTasks(tasks, { parentId: id }));
        }
      }),
      { numRuns: 40, seed: 20240607 },
    );
    await store.close();
  });

  it('list results are fresh arrays: changing one does not change the store', async () => {
    const dataDir = await tempDir();
    const store = await Store.open({ dataDir, io: memoryOnlyIO });
    await store.mutate((tx) => {
      tx.putProject(project('p1'));
      tx.putTask(task('t1', 'p1'));
    });
    const list = store.listTasks();
    list.pop();
    store.listProjects().pop();
    expect(store.listTasks()).toHaveLength(1);
    expect(store.listProjects()).toHaveLength(1);
    await store.close();
  });

  it('order: createdAt then id for projects, tasks and templates; startedAt then id for sessions', async () => {
    const dataDir = await tempDir();
    const store = await Store.open({ dataDir, io: memoryOnlyIO });
    await store.mutate((tx) => {
      tx.putProject(project('b', { createdAt: 2 }));
      tx.putProject(project('c', { createdAt: 1 }));
      tx.putProject(project('a', { createdAt: 2 }));
      tx.putSession(session('y', 'a', { startedAt: 5 }));
      tx.putSession(session('x', 'a', { startedAt: 5 }));
      tx.putSession(session('z', 'a', { startedAt: 4 }));
    });
    expect(store.listProjects().map((p) => p.id)).toEqual(['c', 'a', 'b']);
    expect(store.listSessions().map((s) => s.id)).toEqual(['z', 'x', 'y']);
    expect(store.listSessions({ projectId: 'a' }).map((s) => s.id)).toEqual(['z', 'x', 'y']);
    await store.close();
  });
});
