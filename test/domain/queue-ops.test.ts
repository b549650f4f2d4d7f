import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QueueState } from '../../generated/types/index.js';
import { ContractError } from '../../src/contract-error.js';
import {
  completeQueueItem,
  createQueue,
  EMPTY_START_MESSAGE,
  EMPTY_TOP_MESSAGE,
  failQueueItem,
  itemEventFor,
  peekQueue,
  pushQueueItem,
  queueStats,
  sessionStatusFor,
  skipQueueItem,
  startQueueItem,
} from '../../src/queue/queue-ops.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

/** A frozen queue: any mutation of the input by an operation throws in strict mode. */
function frozenQueue(taskIds: string[], now = 1000): QueueState {
  return deepFreeze(createQueue('sess_1', taskIds, now));
}

function expectContractError(fn: () => unknown, status: number, code: string, message: string): ContractError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ContractError);
  const error = caught as ContractError;
  expect(error.status).toBe(status);
  expect(error.code).toBe(code);
  expect(error.message).toBe(message);
  return error;
}

function processingCount(queue: QueueState): number {
  return queue.items.filter((item) => item.status === 'processing').length;
}

describe('createQueue (docs/behaviour.md §9.1)', () => {
  it('holds the initial task ids in order, all queued, nothing processing', () => {
    expect(createQueue('sess_1', ['a', 'b'], 500)).toEqual({
      sessionId: 'sess_1',
      strategy: 'queue',
      items: [
        { taskId: 'a', status: 'queued', addedAt: 500 },
        { taskId: 'b', status: 'queued', addedAt: 500 },
      ],
      currentIndex: -1,
      createdAt: 500,
      updatedAt: 500,
    });
  });

  it('may be empty', () => {
    const queue = createQueue('s', [], 1);
    expect(queue.items).toEqual([]);
    expect(queueStats(queue)).toEqual({ total: 0, queued: 0, processing: 0, completed: 0, failed: 0, skipped: 0 });
  });
});

describe('queueStats (docs/behaviour.md §1.7)', () => {
  it('counts every status, total = items.length, keys in order', () => {
    let queue = frozenQueue(['a', 'b', 'c', 'd', 'e']);
    queue = startQueueItem(queue, { now: 2 }).queue;
    queue = completeQueueItem(queue, { now: 3 }).queue;
    queue = startQueueItem(queue, { now: 4 }).queue;
    queue = failQueueItem(queue, 'x', { now: 5 }).queue;
    queue = skipQueueItem(queue, { now: 6 }).queue;
    queue = startQueueItem(queue, { now: 7 }).queue;
    const stats = queueStats(queue);
    expect(stats).toEqual({ total: 5, queued: 1, processing: 1, completed: 1, failed: 1, skipped: 1 });
    expect(Object.keys(stats)).toEqual(['total', 'queued', 'processing', 'completed', 'failed', 'skipped']);
  });
});

describe('peekQueue / E28', () => {
  it('gives the first queued item without changing anything', () => {
    const queue = frozenQueue(['a', 'b']);
    expect(peekQueue(queue)).toEqual({ hasMore: true, item: { taskId: 'a', status: 'queued', addedAt: 1000 } });
  });

  it('skips over finished and processing items', () => {
    let queue = frozenQueue(['a', 'b', 'c']);
    queue = startQueueItem(queue, { now: 2 }).queue;
    expect(peekQueue(queue).item?.taskId).toBe('b');
  });

  it('has the empty answer when nothing is queued', () => {
    expect(peekQueue(frozenQueue([]))).toEqual({ hasMore: false, item: null, message: EMPTY_TOP_MESSAGE });
    expect(EMPTY_TOP_MESSAGE).toBe('Queue is empty - all tasks processed');
  });
});

describe('startQueueItem / E29', () => {
  it('starts the first queued item (FIFO): processing, startedAt, currentIndex, message', () => {
    const queue = frozenQueue(['a', 'b']);
    const result = startQueueItem(queue, { now: 2000 });
    expect(result.changed).toBe(true);
    expect(result.item).toEqual({ taskId: 'a', status: 'processing', addedAt: 1000, startedAt: 2000 });
    expect(result.body).toEqual({ success: true, item: result.item, message: 'Started processing task a' });
    expect(result.queue.currentIndex).toBe(0);
    expect(result.queue.items[1]).toEqual({ taskId: 'b', status: 'queued', addedAt: 1000 });
    expect(result.queue.updatedAt).toBe(2000);
    expect(queue.items[0].status).toBe('queued');
  });

  it('refuses while an item is processing, naming it', () => {
    const started = startQueueItem(frozenQueue(['a', 'b']), { now: 2 }).queue;
    const error = expectContractError(() => startQueueItem(started, { now: 3 }), 400, 'VALIDATION_ERROR', 'Already processing task a');
    expect(error.message.toLowerCase()).toContain('already processing');
  });

  it('gives the empty answer with no change when nothing is queued', () => {
    const queue = frozenQueue([]);
    const result = startQueueItem(queue, { now: 5 });
    expect(result.changed).toBe(false);
    expect(result.queue).toBe(queue);
    expect(result.item).toBeNull();
    expect(result.body).toEqual({ success: true, item: null, empty: true, message: EMPTY_START_MESSAGE });
    expect(EMPTY_START_MESSAGE).toBe('Queue is empty — no items to process');
  });

  it('takes the next queued item after earlier ones finished (order of the array, not of time)', () => {
    let queue = frozenQueue(['a', 'b', 'c']);
    queue = skipQueueItem(queue, { now: 2 }).queue; // a skipped without starting
    const result = startQueueItem(queue, { now: 3 });
    expect(result.item?.taskId).toBe('b');
    expect(result.queue.currentIndex).toBe(1);
  });
});

describe('completeQueueItem / E30', () => {
  it('completes the processing item and names the next one', () => {
    const started = startQueueItem(frozenQueue(['a', 'b']), { now: 2 }).queue;
    deepFreeze(started);
    const result = completeQueueItem(started, { now: 3 });
    expect(result.item).toEqual({ taskId: 'a', status: 'completed', addedAt: 1000, startedAt: 2, completedAt: 3 });
    expect(result.body).toEqual({
      success: true,
      completedItem: result.item,
      nextItem: { taskId: 'b', status: 'queued', addedAt: 1000 },
      hasMore: true,
      message: 'Completed a. Next: b',
    });
    expect(result.queue.currentIndex).toBe(-1);
    // Nothing advances automatically (§9.4).
    expect(result.queue.items[1].status).toBe('queued');
  });

  it('says the queue is empty after the last item', () => {
    const started = startQueueItem(frozenQueue(['a']), { now: 2 }).queue;
    const result = completeQueueItem(started, { now: 3 });
    expect(result.body.nextItem).toBeNull();
    expect(result.body.hasMore).toBe(false);
    expect(result.body.message).toBe('Completed a. Queue is empty.');
  });

  it('refuses when nothing is processing (also twice in a row)', () => {
    expectContractError(() => completeQueueItem(frozenQueue(['a']), { now: 2 }), 400, 'VALIDATION_ERROR', 'No task is currently being processed');
    const done = completeQueueItem(startQueueItem(frozenQueue(['a']), { now: 2 }).queue, { now: 3 }).queue;
    expectContractError(() => completeQueueItem(done, { now: 4 }), 400, 'VALIDATION_ERROR', 'No task is currently being processed');
  });
});

describe('failQueueItem / E31', () => {
  it('fails the processing item with a non-blank reason', () => {
    const started = deepFreeze(startQueueItem(frozenQueue(['a', 'b']), { now: 2 }).queue);
    const result = failQueueItem(started, 'tests broke', { now: 3 });
    expect(result.item).toEqual({ taskId: 'a', status: 'failed', addedAt: 1000, startedAt: 2, completedAt: 3, failReason: 'tests broke' });
    expect(result.reason).toBe('tests broke');
    expect(result.body).toEqual({
      success: true,
      failedItem: result.item,
      nextItem: { taskId: 'b', status: 'queued', addedAt: 1000 },
      hasMore: true,
      message: 'Failed a. Next: b',
    });
    expect(result.queue.currentIndex).toBe(-1);
  });

  it('leaves failReason out for an absent, null or blank reason; the event reason is then null', () => {
    for (const reason of [undefined, null, '', '  \n']) {
      const started = startQueueItem(frozenQueue(['a']), { now: 2 }).queue;
      const result = failQueueItem(started, reason, { now: 3 });
      expect('failReason' in result.item).toBe(false);
      expect(result.reason).toBeNull();
      expect(result.body.message).toBe('Failed a. Queue is empty.');
    }
  });

  it('refuses when nothing is processing', () => {
    expectContractError(() => failQueueItem(frozenQueue(['a']), 'r', { now: 2 }), 400, 'VALIDATION_ERROR', 'No task is currently being processed');
  });
});

describe('skipQueueItem / E32', () => {
  it('skips the processing item when there is one', () => {
    const started = deepFreeze(startQueueItem(frozenQueue(['a', 'b']), { now: 2 }).queue);
    const result = skipQueueItem(started, { now: 3 });
    expect(result.item).toEqual({ taskId: 'a', status: 'skipped', addedAt: 1000, startedAt: 2, completedAt: 3 });
    expect(result.body).toEqual({
      success: true,
      skippedItem: result.item,
      nextItem: { taskId: 'b', status: 'queued', addedAt: 1000 },
      hasMore: true,
      message: 'Skipped a. Next: b',
    });
    expect(result.queue.currentIndex).toBe(-1);
  });

  it('skips the first queued item when nothing is processing', () => {
    const result = skipQueueItem(frozenQueue(['a', 'b']), { now: 3 });
    expect(result.item).toEqual({ taskId: 'a', status: 'skipped', addedAt: 1000, completedAt: 3 });
    expect(result.body.message).toBe('Skipped a. Next: b');
    const last = skipQueueItem(result.queue, { now: 4 });
    expect(last.item.taskId).toBe('b');
    expect(last.body).toMatchObject({ nextItem: null, hasMore: false, message: 'Skipped b. Queue is empty.' });
  });

  it('refuses when there is nothing to skip', () => {
    expectContractError(() => skipQueueItem(frozenQueue([]), { now: 2 }), 400, 'VALIDATION_ERROR', 'No task to skip');
    const done = completeQueueItem(startQueueItem(frozenQueue(['a']), { now: 2 }).queue, { now: 3 }).queue;
    expectContractError(() => skipQueueItem(done, { now: 4 }), 400, 'VALIDATION_ERROR', 'No task to skip');
  });
});

describe('pushQueueItem / E34', () => {
  it('appends a queued item at the end (FIFO) and keeps the processing index', () => {
    const started = deepFreeze(startQueueItem(frozenQueue(['a']), { now: 2 }).queue);
    const result = pushQueueItem(started, 'b', { now: 9 });
    expect(result.item).toEqual({ taskId: 'b', status: 'queued', addedAt: 9 });
    expect(result.body).toEqual({ success: true, item: result.item });
    expect(result.queue.items.map((item) => item.taskId)).toEqual(['a', 'b']);
    expect(result.queue.currentIndex).toBe(0);
    expect(started.items).toHaveLength(1);
  });

  it('turns top.hasMore true on an exhausted queue', () => {
    const queue = frozenQueue([]);
    expect(peekQueue(queue).hasMore).toBe(false);
    expect(peekQueue(pushQueueItem(queue, 'x', { now: 2 }).queue)).toMatchObject({ hasMore: true, item: { taskId: 'x' } });
  });

  it('refuses a task already in the queue, whatever its status', () => {
    let queue = frozenQueue(['q', 'p', 'c', 'f', 's']);
    queue = startQueueItem(queue, { now: 2 }).queue; // q processing
    queue = completeQueueItem(queue, { now: 3 }).queue; // q completed
    queue = skipQueueItem(queue, { now: 4 }).queue; // p skipped
    queue = startQueueItem(queue, { now: 5 }).queue; // c processing
    const statuses = new Set(queue.items.map((item) => item.status));
    expect(statuses).toEqual(new Set(['completed', 'skipped', 'processing', 'queued']));
    deepFreeze(queue);
    for (const taskId of ['q', 'p', 'c', 'f']) {
      const error = expectContractError(() => pushQueueItem(queue, taskId, { now: 6 }), 400, 'VALIDATION_ERROR', `Task ${taskId} already in queue`);
      expect(error.details).toEqual({ field: 'taskId' });
    }
    const failed = failQueueItem(queue, 'r', { now: 7 }).queue;
    expectContractError(() => pushQueueItem(failed, 'c', { now: 8 }), 400, 'VALIDATION_ERROR', 'Task c already in queue');
  });
});

describe('stamps (docs/behaviour.md §0.2)', () => {
  it('updatedAt is max(now, previous + 1) by default, or the caller stamp when given', () => {
    const queue = frozenQueue(['a', 'b'], 1000);
    expect(startQueueItem(queue, { now: 1000 }).queue.updatedAt).toBe(1001);
    expect(startQueueItem(queue, { now: 999 }).queue.updatedAt).toBe(1001);
    expect(startQueueItem(queue, { now: 5000 }).queue.updatedAt).toBe(5000);
    expect(startQueueItem(queue, { now: 5000, stamp: 7777 }).queue.updatedAt).toBe(7777);
    expect(pushQueueItem(queue, 'z', { now: 10, stamp: 1234 }).queue.updatedAt).toBe(1234);
    expect(startQueueItem(queue, { now: 10 }).queue.createdAt).toBe(1000);
  });
});

describe('invariants (docs/behaviour.md §9.4) over a long random-ish sequence', () => {
  it('at most one processing; currentIndex is its index or -1; finished items never change again', () => {
    let queue = frozenQueue(['t0', 't1', 't2', 't3']);
    const ops = ['start', 'push', 'complete', 'start', 'skip', 'skip', 'start', 'fail', 'push', 'start', 'start', 'complete', 'skip', 'start', 'skip'];
    let now = 2000;
    let pushed = 0;
    const finished = new Map<string, string>();
    for (const op of ops) {
      now += 1;
      try {
        if (op === 'start') queue = startQueueItem(queue, { now }).queue;
        else if (op === 'complete') queue = completeQueueItem(queue, { now }).queue;
        else if (op === 'fail') queue = failQueueItem(queue, 'r', { now }).queue;
        else if (op === 'skip') queue = skipQueueItem(queue, { now }).queue;
        else queue = pushQueueItem(queue, `p${pushed++}`, { now }).queue;
      } catch (error) {
        expect(error).toBeInstanceOf(ContractError);
      }
      deepFreeze(queue);
      expect(processingCount(queue)).toBeLessThanOrEqual(1);
      const processing = queue.items.findIndex((item) => item.status === 'processing');
      expect(queue.currentIndex).toBe(processing);
      for (const [taskId, status] of finished) {
        expect(queue.items.find((item) => item.taskId === taskId)?.status).toBe(status);
      }
      for (const item of queue.items) {
        if (['completed', 'failed', 'skipped'].includes(item.status)) finished.set(item.taskId, item.status);
      }
      expect(new Set(queue.items.map((item) => item.taskId)).size).toBe(queue.items.length);
    }
    expect(finished.size).toBeGreaterThan(3);
  });
});

describe('side effects (docs/behaviour.md §9.5) and events', () => {
  it('maps each operation to the task sessionStatus and its item event', () => {
    expect(sessionStatusFor('start')).toBe('working');
    expect(sessionStatusFor('complete')).toBe('completed');
    expect(sessionStatusFor('fail')).toBe('failed');
    expect(sessionStatusFor('skip')).toBe('skipped');
    expect(itemEventFor('start')).toBe('queue:item_started');
    expect(itemEventFor('complete')).toBe('queue:item_completed');
    expect(itemEventFor('fail')).toBe('queue:item_failed');
    expect(itemEventFor('skip')).toBe('queue:item_skipped');
  });
});

describe('invariants (docs/behaviour.md §9.4) for arbitrary operation sequences', () => {
  it('hold after every operation, and errors change nothing', () => {
    const op = fc.oneof(
      fc.constant({ kind: 'start' as const }),
      fc.constant({ kind: 'complete' as const }),
      fc.record({ kind: fc.constant('fail' as const), reason: fc.option(fc.string(), { nil: undefined }) }),
      fc.constant({ kind: 'skip' as const }),
      fc.record({ kind: fc.constant('push' as const), taskId: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f') }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 4 }), fc.array(op, { maxLength: 30 }), (initial, ops) => {
        let queue = deepFreeze(createQueue('s', initial, 100));
        let now = 100;
        for (const step of ops) {
          now += 1;
          const before = queue;
          const queuedBefore = before.items.filter((item) => item.status === 'queued').map((item) => item.taskId);
          try {
            if (step.kind === 'start') queue = startQueueItem(queue, { now }).queue;
            else if (step.kind === 'complete') queue = completeQueueItem(queue, { now }).queue;
            else if (step.kind === 'fail') queue = failQueueItem(queue, step.reason, { now }).queue;
            else if (step.kind === 'skip') queue = skipQueueItem(queue, { now }).queue;
            else queue = pushQueueItem(queue, step.taskId, { now }).queue;
          } catch (error) {
            if (!(error instanceof ContractError) || error.status !== 400) throw error;
            expect(queue).toBe(before);
          }
          deepFreeze(queue);
          const processing = queue.items.filter((item) => item.status === 'processing');
          expect(processing.length).toBeLessThanOrEqual(1);
          expect(queue.currentIndex).toBe(queue.items.findIndex((item) => item.status === 'processing'));
          expect(new Set(queue.items.map((item) => item.taskId)).size).toBe(queue.items.length);
          expect(queue.updatedAt).toBeGreaterThanOrEqual(before.updatedAt);
          if (queue !== before) expect(queue.updatedAt).toBeGreaterThan(before.updatedAt);
          // Items keep their positions; finished items never change; queued items keep FIFO order.
          before.items.forEach((item, i) => {
            expect(queue.items[i].taskId).toBe(item.taskId);
            if (['completed', 'failed', 'skipped'].includes(item.status)) expect(queue.items[i]).toEqual(item);
          });
          const queuedAfter = queue.items.filter((item) => item.status === 'queued').map((item) => item.taskId);
          const survivors = queuedBefore.filter((taskId) => queuedAfter.includes(taskId));
          expect(queuedAfter.slice(0, survivors.length)).toEqual(survivors);
          // A start always takes the head of the queued items.
          if (step.kind === 'start' && queue !== before) expect(processing[0].taskId).toBe(queuedBefore[0]);
        }
      }),
      { seed: 20240601, numRuns: 300 },
    );
  });
});
