import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { QueueState, Session, Task } from '../../generated/types/index.js';
import { ContractError, validationError } from '../../src/contract-error.js';
import { createQueueHandlers } from '../../src/handlers/queue.js';
import {
  cleanup,
  core,
  createProject,
  createSession,
  createTask,
  diskSnapshot,
  eventNames,
  expectError,
  lateBody,
  memorySnapshot,
  openHarness,
  readJson,
  T0,
  withParams,
  type Harness,
} from './helpers.js';

let h: Harness;
let q: ReturnType<typeof createQueueHandlers>;
let t1: Task;
let t2: Task;
let t3: Task;
let qs: Session;

beforeEach(async () => {
  h = await openHarness();
  const p = await createProject(h.store);
  t1 = await createTask(h.store, p.id, 'first');
  t2 = await createTask(h.store, p.id, 'second');
  t3 = await createTask(h.store, p.id, 'third');
  qs = await createSession(h.store, { projectId: p.id, taskIds: [t1.id, t2.id], strategy: 'queue' });
  q = createQueueHandlers({ store: h.store });
  h.clearEvents();
  h.clock.advance(10);
});

afterEach(cleanup);

const at = (id: string) => withParams({ id });
/** E29, E30, E32: their optional body (docs/behaviour.md §14.5) is `{}` when the request has none (§0.5). */
const atNoBody = (id: string) => ({ ...withParams({ id }), body: {} });
const queueOf = (id = qs.id): QueueState => h.store.getQueue(id)!;

/** Every queue endpoint, called with an empty body where it takes one. */
function allEndpoints(id: string): Array<[string, () => Promise<unknown>]> {
  return [
    ['E27 getQueue', () => q.getQueue(at(id))],
    ['E28 peekQueue', () => q.peekQueue(at(id))],
    ['E29 startQueueItem', () => q.startQueueItem(atNoBody(id))],
    ['E30 completeQueueItem', () => q.completeQueueItem(atNoBody(id))],
    ['E31 failQueueItem', () => q.failQueueItem(lateBody({ id }, {}))],
    ['E32 skipQueueItem', () => q.skipQueueItem(atNoBody(id))],
    ['E33 listQueueItems', () => q.listQueueItems(at(id))],
    ['E34 pushQueueItem', () => q.pushQueueItem(lateBody({ id }, { taskId: t3.id }))],
  ];
}

describe('common checks Q1 → Q2 → Q3 (docs/behaviour.md §9.2)', () => {
  it('Q1: an unknown session is 404 NOT_FOUND on every endpoint, before the body is read', async () => {
    for (const [name, call] of allEndpoints('sess_missing')) {
      await expectError(call(), 404, 'NOT_FOUND', 'Session not found').catch((e) => {
        throw new Error(`${name}: ${String(e)}`);
      });
    }
    // The body is validated only after Q1–Q3: an invalid body on an unknown session still answers 404.
    const bad = lateBody({ id: 'sess_missing' }, () => {
      throw validationError('taskId', 'taskId is required');
    });
    await expectError(q.pushQueueItem(bad), 404, 'NOT_FOUND');
    expect(bad.calls).toBe(0);
    expect(h.events).toEqual([]);
  });

  it('Q1 also covers unsafe ids (they are unknown)', async () => {
    for (const id of ['..', '.', 'a/b', 'a\\b', 'x\u0000y']) {
      await expectError(q.getQueue(at(id)), 404, 'NOT_FOUND', 'Session not found');
    }
  });

  it('Q2: a session that does not use the queue strategy is 400 VALIDATION_ERROR on every endpoint', async () => {
    const simple = await createSession(h.store, { projectId: t1.projectId, taskIds: [t1.id] });
    const tree = await createSession(h.store, { projectId: t1.projectId, taskIds: [], strategy: 'tree' });
    h.clearEvents();
    for (const s of [simple, tree]) {
      for (const [, call] of allEndpoints(s.id)) {
        const e = await expectError(call(), 400, 'VALIDATION_ERROR', 'Session does not use queue strategy');
        expect(e.message.toLowerCase()).toContain('queue strategy'); // docs/behaviour.md §11.5
      }
    }
    const bad = lateBody({ id: simple.id }, () => {
      throw validationError('reason', 'reason must be a string');
    });
    await expectError(q.failQueueItem(bad), 400, 'VALIDATION_ERROR', 'Session does not use queue strategy');
    expect(bad.calls).toBe(0);
    expect(h.events).toEqual([]);
  });

  it('Q3: a queue session whose queue file is missing is 404 "Queue not found" on every endpoint', async () => {
    await h.store.close();
    await rm(path.join(h.dataDir, 'queues', `${qs.id}.json`));
    await h.reopen();
    q = createQueueHandlers({ store: h.store });
    expect(h.store.getSession(qs.id)?.strategy).toBe('queue');
    for (const [, call] of allEndpoints(qs.id)) {
      await expectError(call(), 404, 'NOT_FOUND', 'Queue not found');
    }
    const bad = lateBody({ id: qs.id }, () => {
      throw validationError('taskId', 'taskId is required');
    });
    await expectError(q.pushQueueItem(bad), 404, 'NOT_FOUND', 'Queue not found');
    expect(bad.calls).toBe(0);
    expect(h.events).toEqual([]);
  });
});

describe('reads: E27 state, E28 top, E33 items', () => {
  it('E27 gives the queue and its stats; E33 the items and stats; neither changes anything', async () => {
    const before = await diskSnapshot(h.dataDir);
    const state = await q.getQueue(at(qs.id));
    expect(state.queue).toEqual({
      sessionId: qs.id,
      strategy: 'queue',
      items: [
        { taskId: t1.id, status: 'queued', addedAt: qs.startedAt },
        { taskId: t2.id, status: 'queued', addedAt: qs.startedAt },
      ],
      currentIndex: -1,
      createdAt: qs.startedAt,
      updatedAt: qs.startedAt,
    });
    expect(state.stats).toEqual({ total: 2, queued: 2, processing: 0, completed: 0, failed: 0, skipped: 0 });
    const items = await q.listQueueItems(at(qs.id));
    expect(items).toEqual({ items: state.queue.items, stats: state.stats });
    expect(await diskSnapshot(h.dataDir)).toEqual(before);
    expect(h.events).toEqual([]);
  });

  it('E28 peeks at the first queued item, and answers the empty message when none is queued', async () => {
    expect(await q.peekQueue(at(qs.id))).toEqual({ hasMore: true, item: { taskId: t1.id, status: 'queued', addedAt: qs.startedAt } });
    await q.startQueueItem(atNoBody(qs.id));
    expect((await q.peekQueue(at(qs.id))).item?.taskId).toBe(t2.id);
    await q.skipQueueItem(atNoBody(qs.id)); // skips the processing t1
    await q.skipQueueItem(atNoBody(qs.id)); // skips the queued t2
    h.clearEvents();
    expect(await q.peekQueue(at(qs.id))).toEqual({ hasMore: false, item: null, message: 'Queue is empty - all tasks processed' });
    expect(h.events).toEqual([]);
  });
});

describe('E29 start', () => {
  it('starts the first queued item: item, queue and task side effect, events in order, files written', async () => {
    const now = T0 + 10;
    const result = await q.startQueueItem(atNoBody(qs.id));
    const started = { taskId: t1.id, status: 'processing', addedAt: qs.startedAt, startedAt: now };
    expect(result).toEqual({ success: true, item: started, message: `Started processing task ${t1.id}` });

    const queue = queueOf();
    expect(queue.items[0]).toEqual(started);
    expect(queue.items[1].status).toBe('queued');
    expect(queue.currentIndex).toBe(0);
    expect(queue.updatedAt).toBe(now);

    const task = h.store.getTask(t1.id)!;
    expect(task.sessionStatus).toBe('working');
    expect(task.status).toBe('todo'); // never changed by queue operations (§9.5)
    expect(task.updatedAt).toBe(now);

    expect(h.commits).toHaveLength(1);
    expect(h.events).toEqual([
      { name: 'queue:item_started', data: { sessionId: qs.id, item: started } },
      { name: 'queue:updated', data: { sessionId: qs.id, queue } },
      { name: 'task:updated', data: task },
    ]);
    expect(await diskSnapshot(h.dataDir)).toEqual(memorySnapshot(h.store));
  });

  it('twice in a row → 400 "Already processing task {taskId}", nothing changes', async () => {
    await q.startQueueItem(atNoBody(qs.id));
    h.clearEvents();
    const before = await diskSnapshot(h.dataDir);
    const e = await expectError(q.startQueueItem(atNoBody(qs.id)), 400, 'VALIDATION_ERROR', `Already processing task ${t1.id}`);
    expect(e.message.toLowerCase()).toContain('already processing'); // docs/behaviour.md §11.5
    expect(await diskSnapshot(h.dataDir)).toEqual(before);
    expect(h.events).toEqual([]);
  });

  it('still 400 while processing even when nothing else is queued', async () => {
    const p = t1.projectId;
    const one = await createSession(h.store, { projectId: p, taskIds: [t3.id], strategy: 'queue' });
    await q.startQueueItem(atNoBody(one.id));
    await expectError(q.startQueueItem(atNoBody(one.id)), 400, 'VALIDATION_ERROR', `Already processing task ${t3.id}`);
  });

  it('an empty queue gives the empty answer with no change and no event', async () => {
    const empty = await createSession(h.store, { projectId: t1.projectId, taskIds: [], strategy: 'queue' });
    h.clearEvents();
    h.clock.advance(5);
    const before = await diskSnapshot(h.dataDir);
    const result = await q.startQueueItem(atNoBody(empty.id));
    expect(result).toEqual({ success: true, item: null, empty: true, message: 'Queue is empty — no items to process' });
    expect(queueOf(empty.id).updatedAt).toBe(empty.startedAt);
    expect(await diskSnapshot(h.dataDir)).toEqual(before);
    expect(h.events).toEqual([]);
  });

  it('a queue whose items are all finished also gives the empty answer', async () => {
    await q.startQueueItem(atNoBody(qs.id));
    await q.completeQueueItem(atNoBody(qs.id));
    await q.startQueueItem(atNoBody(qs.id));
    await q.failQueueItem(lateBody({ id: qs.id }, {}));
    h.clearEvents();
    expect((await q.startQueueItem(atNoBody(qs.id))).item).toBeNull();
    expect(h.events).toEqual([]);
  });

  it('proceeds without a task update when the item task was deleted', async () => {
    await core(h.store).tasks.deleteTask(withParams({ id: t1.id }));
    h.clearEvents();
    const result = await q.startQueueItem(atNoBody(qs.id));
    expect(result.item?.taskId).toBe(t1.id);
    expect(eventNames(h.events)).toEqual(['queue:item_started', 'queue:updated']);
  });
});

describe('E30 complete', () => {
  it('nothing processing → 400 "No task is currently being processed"', async () => {
    await expectError(q.completeQueueItem(atNoBody(qs.id)), 400, 'VALIDATION_ERROR', 'No task is currently being processed');
    expect(h.events).toEqual([]);
  });

  it('completes the processing item; next stays queued; events item_completed → updated → task:updated', async () => {
    await q.startQueueItem(atNoBody(qs.id));
    h.clearEvents();
    h.clock.advance(3);
    const now = T0 + 13;
    const result = await q.completeQueueItem(atNoBody(qs.id));
    const done = { taskId: t1.id, status: 'completed', addedAt: qs.startedAt, startedAt: T0 + 10, completedAt: now };
    const next = { taskId: t2.id, status: 'queued', addedAt: qs.startedAt };
    expect(result).toEqual({ success: true, completedItem: done, nextItem: next, hasMore: true, message: `Completed ${t1.id}. Next: ${t2.id}` });
    const queue = queueOf();
    expect(queue.currentIndex).toBe(-1);
    expect(queue.items[1]).toEqual(next); // nothing advances automatically (§9.4)
    const task = h.store.getTask(t1.id)!;
    expect(task.sessionStatus).toBe('completed');
    expect(task.status).toBe('todo');
    expect(h.events).toEqual([
      { name: 'queue:item_completed', data: { sessionId: qs.id, item: done } },
      { name: 'queue:updated', data: { sessionId: qs.id, queue } },
      { name: 'task:updated', data: task },
    ]);
  });

  it('says "Queue is empty." when no item is left queued', async () => {
    await q.startQueueItem(atNoBody(qs.id));
    await q.completeQueueItem(atNoBody(qs.id));
    await q.startQueueItem(atNoBody(qs.id));
    const result = await q.completeQueueItem(atNoBody(qs.id));
    expect(result).toMatchObject({ nextItem: null, hasMore: false, message: `Completed ${t2.id}. Queue is empty.` });
  });
});

describe('E31 fail', () => {
  it('stores a non-blank reason and sends it in queue:item_failed', async () => {
    await q.startQueueItem(atNoBody(qs.id));
    h.clearEvents();
    const result = await q.failQueueItem(lateBody({ id: qs.id }, { reason: 'tests are red' }));
    expect(result.failedItem).toMatchObject({ taskId: t1.id, status: 'failed', failReason: 'tests are red', completedAt: T0 + 10 });
    expect(result).toMatchObject({ nextItem: { taskId: t2.id }, hasMore: true, message: `Failed ${t1.id}. Next: ${t2.id}` });
    const task = h.store.getTask(t1.id)!;
    expect(task.sessionStatus).toBe('failed');
    expect(h.events).toEqual([
      { name: 'queue:item_failed', data: { sessionId: qs.id, item: result.failedItem, reason: 'tests are red' } },
      { name: 'queue:updated', data: { sessionId: qs.id, queue: queueOf() } },
      { name: 'task:updated', data: task },
    ]);
  });

  it.each([
    ['absent', {}],
    ['blank', { reason: '   ' }],
  ])('a %s reason gives no failReason and reason null in the event', async (_label, body) => {
    await q.startQueueItem(atNoBody(qs.id));
    h.clearEvents();
    const result = await q.failQueueItem(lateBody({ id: qs.id }, body));
    expect(result.failedItem).not.toHaveProperty('failReason');
    expect(h.events[0]).toEqual({ name: 'queue:item_failed', data: { sessionId: qs.id, item: result.failedItem, reason: null } });
  });

  it('reads the body after Q1–Q3 and before the processing check', async () => {
    const bad = lateBody({ id: qs.id }, () => {
      throw validationError('reason', 'reason must be a string');
    });
    // Nothing is processing, yet the body error wins: the body is validated before the operation.
    await expectError(q.failQueueItem(bad), 400, 'VALIDATION_ERROR', 'reason must be a string', { field: 'reason' });
    expect(bad.calls).toBe(1);
    await expectError(q.failQueueItem(lateBody({ id: qs.id }, {})), 400, 'VALIDATION_ERROR', 'No task is currently being processed');
    expect(h.events).toEqual([]);
  });
});

describe('E32 skip', () => {
  it('skips the processing item when there is one', async () => {
    await q.startQueueItem(atNoBody(qs.id));
    h.clearEvents();
    const result = await q.skipQueueItem(atNoBody(qs.id));
    expect(result).toMatchObject({
      success: true,
      skippedItem: { taskId: t1.id, status: 'skipped', startedAt: T0 + 10, completedAt: T0 + 10 },
      nextItem: { taskId: t2.id },
      hasMore: true,
      message: `Skipped ${t1.id}. Next: ${t2.id}`,
    });
    expect(queueOf().currentIndex).toBe(-1);
    expect(h.store.getTask(t1.id)!.sessionStatus).toBe('skipped');
    expect(eventNames(h.events)).toEqual(['queue:item_skipped', 'queue:updated', 'task:updated']);
    expect(h.events[0].data).toEqual({ sessionId: qs.id, item: result.skippedItem });
  });

  it('else skips the first queued item', async () => {
    const result = await q.skipQueueItem(atNoBody(qs.id));
    expect(result.skippedItem).toEqual({ taskId: t1.id, status: 'skipped', addedAt: qs.startedAt, completedAt: T0 + 10 });
    expect(result.message).toBe(`Skipped ${t1.id}. Next: ${t2.id}`);
  });

  it('nothing to skip → 400 "No task to skip"', async () => {
    await q.skipQueueItem(atNoBody(qs.id));
    await q.skipQueueItem(atNoBody(qs.id));
    h.clearEvents();
    await expectError(q.skipQueueItem(atNoBody(qs.id)), 400, 'VALIDATION_ERROR', 'No task to skip');
    expect(h.events).toEqual([]);
  });
});

describe('E34 push', () => {
  it('appends a queued item and links the task: queue:updated → session:task_added → task:session_added', async () => {
    const result = await q.pushQueueItem(lateBody({ id: qs.id }, { taskId: t3.id }));
    const item = { taskId: t3.id, status: 'queued', addedAt: T0 + 10 };
    expect(result).toEqual({ success: true, item });
    const queue = queueOf();
    expect(queue.items.map((i) => i.taskId)).toEqual([t1.id, t2.id, t3.id]);
    expect(queue.updatedAt).toBe(T0 + 10);
    const session = h.store.getSession(qs.id)!;
    expect(session.taskIds).toEqual([t1.id, t2.id, t3.id]);
    expect(session.timeline.at(-1)).toMatchObject({ type: 'task_started', message: 'Task added to session', taskId: t3.id });
    expect(session.lastActivity).toBe(T0 + 10);
    const task = h.store.getTask(t3.id)!;
    expect(task.sessionIds).toEqual([qs.id]);
    expect(task).not.toHaveProperty('sessionStatus');
    expect(h.events).toEqual([
      { name: 'queue:updated', data: { sessionId: qs.id, queue } },
      { name: 'session:task_added', data: { sessionId: qs.id, taskId: t3.id } },
      { name: 'task:session_added', data: { taskId: t3.id, sessionId: qs.id } },
    ]);
    expect(await diskSnapshot(h.dataDir)).toEqual(memorySnapshot(h.store));
  });

  it('a task already linked to the session gives only queue:updated', async () => {
    await core(h.store).sessions.addTaskToSession(withParams({ id: qs.id, taskId: t3.id }));
    h.clearEvents();
    await q.pushQueueItem(lateBody({ id: qs.id }, { taskId: t3.id }));
    expect(eventNames(h.events)).toEqual(['queue:updated']);
  });

  it('a missing task → 404 NOT_FOUND "Task not found"', async () => {
    await expectError(q.pushQueueItem(lateBody({ id: qs.id }, { taskId: 'task_nope' })), 404, 'NOT_FOUND', 'Task not found');
    expect(queueOf().items).toHaveLength(2);
    expect(h.events).toEqual([]);
  });

  it('a task already in the queue (any status, here completed) → 400 "Task {taskId} already in queue"', async () => {
    await q.startQueueItem(atNoBody(qs.id));
    await q.completeQueueItem(atNoBody(qs.id));
    h.clearEvents();
    const before = await diskSnapshot(h.dataDir);
    const e = await expectError(q.pushQueueItem(lateBody({ id: qs.id }, { taskId: t1.id })), 400, 'VALIDATION_ERROR', `Task ${t1.id} already in queue`);
    expect(e.message.toLowerCase()).toContain('already'); // docs/behaviour.md §11.5
    expect(await diskSnapshot(h.dataDir)).toEqual(before);
    expect(h.events).toEqual([]);
  });

  it('checks taskId (body) before the task lookup', async () => {
    const bad = lateBody({ id: qs.id }, () => {
      throw validationError('taskId', 'taskId is required');
    });
    await expectError(q.pushQueueItem(bad), 400, 'VALIDATION_ERROR', 'taskId is required');
    expect(bad.calls).toBe(1);
  });

  it('top.hasMore turns true after a push to a drained queue (the CLI polls on it)', async () => {
    await q.skipQueueItem(atNoBody(qs.id));
    await q.skipQueueItem(atNoBody(qs.id));
    expect((await q.peekQueue(at(qs.id))).hasMore).toBe(false);
    await q.pushQueueItem(lateBody({ id: qs.id }, { taskId: t3.id }));
    expect(await q.peekQueue(at(qs.id))).toMatchObject({ hasMore: true, item: { taskId: t3.id } });
  });
});

describe('stamps and persistence', () => {
  it('stamps only move forward within one millisecond (docs/behaviour.md §0.2)', async () => {
    // The clock does not move between these requests.
    await q.startQueueItem(atNoBody(qs.id));
    const afterStart = queueOf().updatedAt;
    const taskAfterStart = h.store.getTask(t1.id)!.updatedAt;
    await q.completeQueueItem(atNoBody(qs.id));
    expect(queueOf().updatedAt).toBe(afterStart + 1);
    expect(h.store.getTask(t1.id)!.updatedAt).toBe(taskAfterStart + 1);
    // Items keep the request's own clock reading.
    expect(queueOf().items[0].completedAt).toBe(T0 + 10);
  });

  it('the queue survives a restart exactly', async () => {
    await q.startQueueItem(atNoBody(qs.id));
    await q.failQueueItem(lateBody({ id: qs.id }, { reason: 'nope' }));
    await q.pushQueueItem(lateBody({ id: qs.id }, { taskId: t3.id }));
    await q.startQueueItem(atNoBody(qs.id));
    const before = await q.getQueue(at(qs.id));
    const taskBefore = h.store.getTask(t2.id);
    expect(await readJson(path.join(h.dataDir, 'queues', `${qs.id}.json`))).toEqual(before.queue);

    await h.reopen();
    q = createQueueHandlers({ store: h.store });
    expect(await q.getQueue(at(qs.id))).toEqual(before);
    expect(h.store.getTask(t2.id)).toEqual(taskBefore);
    expect(before.stats).toEqual({ total: 3, queued: 1, processing: 1, completed: 0, failed: 1, skipped: 0 });
    await expectError(q.startQueueItem(atNoBody(qs.id)), 400, 'VALIDATION_ERROR', `Already processing task ${t2.id}`);
  });

  it('errors are ContractErrors with the body shape of docs/behaviour.md', async () => {
    const e = await expectError(q.getQueue(at('nope')), 404, 'NOT_FOUND');
    expect(e).toBeInstanceOf(ContractError);
    expect(e.toBody()).toEqual({ error: true, code: 'NOT_FOUND', message: 'Session not found' });
  });
});
