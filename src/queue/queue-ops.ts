import type { QueueItem, QueueState, QueueStats, TaskSessionStatus } from '../../generated/types/index.js';
import { ContractError, validationError } from '../contract-error.js';

/**
 * Pure queue logic (docs/behaviour.md §9). Every function takes a QueueState and returns a new one; the input is never
 * mutated. Persistence, events, the common checks Q1–Q3 and the task side effects are the caller's job; this
 * module tells it what changed.
 */

/** Operations that change an item (docs/behaviour.md §9.3); push only appends. */
export type QueueItemOperation = 'start' | 'complete' | 'fail' | 'skip';

/**
 * The clock of one request (docs/behaviour.md §0.2): `now` stamps the item (`addedAt`, `startedAt`, `completedAt`);
 * `stamp` is the queue's new `updatedAt`, which defaults to `max(now, previous updatedAt + 1)`.
 */
export interface QueueClock {
  now: number;
  stamp?: number;
}

export const EMPTY_TOP_MESSAGE = 'Queue is empty - all tasks processed';
export const EMPTY_START_MESSAGE = 'Queue is empty — no items to process';

export type QueueTopBody =
  | { hasMore: true; item: QueueItem }
  | { hasMore: false; item: null; message: string };

export type QueueStartBody =
  | { success: true; item: QueueItem; message: string }
  | { success: true; item: null; empty: true; message: string };

export interface QueueCompleteBody {
  success: true;
  completedItem: QueueItem;
  nextItem: QueueItem | null;
  hasMore: boolean;
  message: string;
}

export interface QueueFailBody {
  success: true;
  failedItem: QueueItem;
  nextItem: QueueItem | null;
  hasMore: boolean;
  message: string;
}

export interface QueueSkipBody {
  success: true;
  skippedItem: QueueItem;
  nextItem: QueueItem | null;
  hasMore: boolean;
  message: string;
}

export interface QueuePushBody {
  success: true;
  item: QueueItem;
}

/** The result of an operation that changed the queue. */
export interface QueueChange<Body> {
  /** The new state, to persist and to put in `queue:updated`. */
  queue: QueueState;
  /** The item after the change (for `queue:item_*` and the task side effect of §9.5). */
  item: QueueItem;
  /** The 200 body of docs/behaviour.md §9.3. */
  body: Body;
}

/** The result of start: a change, or the empty answer that changes nothing (§9.3 E29 case b). */
export type QueueStartResult =
  | ({ changed: true } & QueueChange<QueueStartBody>)
  | { changed: false; queue: QueueState; item: null; body: QueueStartBody };

/** The result of fail: also the `reason` of `queue:item_failed` (string or null, §4.4). */
export interface QueueFailChange extends QueueChange<QueueFailBody> {
  reason: string | null;
}

/** docs/behaviour.md §9.1: a new queue holding the session's initial task ids, all `queued`, nothing processing. */
export function createQueue(sessionId: string, taskIds: readonly string[], now: number): QueueState {
  return {
    sessionId,
    strategy: 'queue',
    items: taskIds.map((taskId) => ({ taskId, status: 'queued', addedAt: now })),
    currentIndex: -1,
    createdAt: now,
    updatedAt: now,
  };
}

/** QueueStats of docs/behaviour.md §1.7: `total` plus one count per item status. */
export function queueStats(queue: QueueState): QueueStats {
  const counts = { queued: 0, processing: 0, completed: 0, failed: 0, skipped: 0 };
  for (const item of queue.items) {
    if (Object.hasOwn(counts, item.status)) counts[item.status as keyof typeof counts] += 1;
  }
  const stats: QueueStats = { total: queue.items.length, ...counts };
  return stats;
}

/** E28 (docs/behaviour.md §9.3): the first `queued` item, without changing anything. */
export function peekQueue(queue: QueueState): QueueTopBody {
  const next = firstQueued(queue.items);
  return next === undefined
    ? { hasMore: false, item: null, message: EMPTY_TOP_MESSAGE }
    : { hasMore: true, item: { ...queue.items[next] } };
}

/**
 * E29 (docs/behaviour.md §9.3): (a) an item is processing → 400 "Already processing task {taskId}"; (b) nothing queued →
 * the empty answer, no change; (c) the first queued item becomes `processing` with `startedAt = now`.
 */
export function startQueueItem(queue: QueueState, clock: QueueClock): QueueStartResult {
  const processing = processingIndex(queue.items);
  if (processing !== -1) {
    throw new ContractError(400, 'VALIDATION_ERROR', `Already processing task ${queue.items[processing].taskId}`);
  }
  const index = firstQueued(queue.items);
  if (index === undefined) {
    return { changed: false, queue, item: null, body: { success: true, item: null, empty: true, message: EMPTY_START_MESSAGE } };
  }
  const item: QueueItem = { ...queue.items[index], status: 'processing', startedAt: clock.now };
  const next = replaceItem(queue, index, item, index, clock);
  return { changed: true, queue: next, item, body: { success: true, item: { ...item }, message: `Started processing task ${item.taskId}` } };
}

/** E30 (docs/behaviour.md §9.3): the processing item becomes `completed`; 400 when nothing is processing. */
export function completeQueueItem(queue: QueueState, clock: QueueClock): QueueChange<QueueCompleteBody> {
  const index = requireProcessing(queue);
  const item: QueueItem = { ...queue.items[index], status: 'completed', completedAt: clock.now };
  const next = replaceItem(queue, index, item, -1, clock);
  const { nextItem, hasMore, message } = afterFinish(next, 'Completed', item.taskId);
  return { queue: next, item, body: { success: true, completedItem: { ...item }, nextItem, hasMore, message } };
}

/**
 * E31 (docs/behaviour.md §9.3): the processing item becomes `failed`; `failReason` is set only for a non-blank reason.
 * 400 when nothing is processing. The event's `reason` is that non-blank reason, else `null`.
 */
export function failQueueItem(queue: QueueState, reason: string | null | undefined, clock: QueueClock): QueueFailChange {
  const index = requireProcessing(queue);
  const usableReason = typeof reason === 'string' && /\S/.test(reason) ? reason : null;
  const item: QueueItem = { ...queue.items[index], status: 'failed', completedAt: clock.now };
  if (usableReason !== null) item.failReason = usableReason;
  const next = replaceItem(queue, index, item, -1, clock);
  const { nextItem, hasMore, message } = afterFinish(next, 'Failed', item.taskId);
  return {
    queue: next,
    item,
    reason: usableReason,
    body: { success: true, failedItem: { ...item }, nextItem, hasMore, message },
  };
}

/**
 * E32 (docs/behaviour.md §9.3): the processing item, else the first queued one, becomes `skipped`; 400 "No task to skip"
 * when there is neither.
 */
export function skipQueueItem(queue: QueueState, clock: QueueClock): QueueChange<QueueSkipBody> {
  let index = processingIndex(queue.items);
  if (index === -1) index = firstQueued(queue.items) ?? -1;
  if (index === -1) throw new ContractError(400, 'VALIDATION_ERROR', 'No task to skip');
  const item: QueueItem = { ...queue.items[index], status: 'skipped', completedAt: clock.now };
  const next = replaceItem(queue, index, item, -1, clock);
  const { nextItem, hasMore, message } = afterFinish(next, 'Skipped', item.taskId);
  return { queue: next, item, body: { success: true, skippedItem: { ...item }, nextItem, hasMore, message } };
}

/**
 * E34 (docs/behaviour.md §9.3, after the `taskId` and task-exists checks of the caller): appends a queued item; 400
 * "Task {taskId} already in queue" when the task has an item of any status. The caller then runs LINK.
 */
export function pushQueueItem(queue: QueueState, taskId: string, clock: QueueClock): QueueChange<QueuePushBody> {
  if (queue.items.some((existing) => existing.taskId === taskId)) {
    throw validationError('taskId', `Task ${taskId} already in queue`);
  }
  const item: QueueItem = { taskId, status: 'queued', addedAt: clock.now };
  const next: QueueState = {
    ...queue,
    items: [...queue.items.map((existing) => ({ ...existing })), item],
    currentIndex: processingIndex(queue.items),
    updatedAt: stampOf(queue, clock),
  };
  return { queue: next, item, body: { success: true, item: { ...item } } };
}

/** docs/behaviour.md §9.5: the task `sessionStatus` an item operation sets. */
export function sessionStatusFor(operation: QueueItemOperation): TaskSessionStatus {
  switch (operation) {
    case 'start':
      return 'working';
    case 'complete':
      return 'completed';
    case 'fail':
      return 'failed';
    case 'skip':
      return 'skipped';
  }
}

/** Item operation → the `queue:item_*` event it emits first (docs/behaviour.md §9.3, §4.4). */
export interface QueueItemEvents {
  start: 'queue:item_started';
  complete: 'queue:item_completed';
  fail: 'queue:item_failed';
  skip: 'queue:item_skipped';
}

const ITEM_EVENTS: QueueItemEvents = {
  start: 'queue:item_started',
  complete: 'queue:item_completed',
  fail: 'queue:item_failed',
  skip: 'queue:item_skipped',
};

/** The `queue:item_*` event an item operation emits first (docs/behaviour.md §9.3, §4.4). */
export function itemEventFor<O extends QueueItemOperation>(operation: O): QueueItemEvents[O] {
  return ITEM_EVENTS[operation];
}

function processingIndex(items: readonly QueueItem[]): number {
  return items.findIndex((item) => item.status === 'processing');
}

function firstQueued(items: readonly QueueItem[]): number | undefined {
  const index = items.findIndex((item) => item.status === 'queued');
  return index === -1 ? undefined : index;
}

function requireProcessing(queue: QueueState): number {
  const index = processingIndex(queue.items);
  if (index === -1) throw new ContractError(400, 'VALIDATION_ERROR', 'No task is currently being processed');
  return index;
}

function stampOf(queue: QueueState, clock: QueueClock): number {
  return clock.stamp ?? Math.max(clock.now, queue.updatedAt + 1);
}

function replaceItem(queue: QueueState, index: number, item: QueueItem, currentIndex: number, clock: QueueClock): QueueState {
  return {
    ...queue,
    items: queue.items.map((existing, i) => (i === index ? item : { ...existing })),
    currentIndex,
    updatedAt: stampOf(queue, clock),
  };
}

/** `nextItem`, `hasMore` and the message of complete, fail and skip (docs/behaviour.md §9.3, below the table). */
function afterFinish(
  queue: QueueState,
  verb: 'Completed' | 'Failed' | 'Skipped',
  taskId: string,
): { nextItem: QueueItem | null; hasMore: boolean; message: string } {
  const index = firstQueued(queue.items);
  const nextItem = index === undefined ? null : { ...queue.items[index] };
  const message = nextItem === null ? `${verb} ${taskId}. Queue is empty.` : `${verb} ${taskId}. Next: ${nextItem.taskId}`;
  return { nextItem, hasMore: nextItem !== null, message };
}
