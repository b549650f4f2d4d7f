import type { Handlers, PeekQueueResult, StartQueueItemResult } from '../../generated/routes/handlers.js';
import type { QueueItem, QueueState, Session } from '../../generated/types/index.js';
import { ContractError, notFound } from '../contract-error.js';
import { save } from './save.js';
import {
  completeQueueItem,
  failQueueItem,
  itemEventFor,
  peekQueue,
  pushQueueItem,
  queueStats,
  sessionStatusFor,
  skipQueueItem,
  startQueueItem,
  type QueueClock,
  type QueueItemOperation,
} from '../queue/queue-ops.js';
import type { DataStore, StoreReader, Tx } from '../store/index.js';
import { emitAll, link } from '../domain/links.js';

type QueueHandlers = Pick<
  Handlers,
  | 'getQueue'
  | 'peekQueue'
  | 'startQueueItem'
  | 'completeQueueItem'
  | 'failQueueItem'
  | 'skipQueueItem'
  | 'listQueueItems'
  | 'pushQueueItem'
>;

/**
 * The common checks Q1 → Q2 → Q3 of docs/behaviour.md §9.2, run first by every queue endpoint (the router has only done
 * the protocol body checks). Returns the session and its queue.
 */
function requireQueue(reader: StoreReader, sessionId: string): { session: Session; queue: QueueState } {
  const session = reader.getSession(sessionId);
  if (session === undefined) throw notFound('NOT_FOUND', 'Session not found');
  if (session.strategy !== 'queue') throw new ContractError(400, 'VALIDATION_ERROR', 'Session does not use queue strategy');
  const queue = reader.getQueue(sessionId);
  if (queue === undefined) throw notFound('NOT_FOUND', 'Queue not found');
  return { session, queue };
}

/** complete / skip: Q1–Q3, the queue operation, then its records and events; the answer is the operation's body. */
function applyItemChange<Body>(
  tx: Tx,
  sessionId: string,
  operation: 'complete' | 'skip',
  change: (queue: QueueState, clock: QueueClock) => { queue: QueueState; item: QueueItem; body: Body },
): Body {
  const { queue } = requireQueue(tx, sessionId);
  const result = change(queue, clockFor(tx, queue));
  recordItemChange(tx, operation, result.queue, result.item);
  return result.body;
}

/**
 * Records an item operation (docs/behaviour.md §9.3, §9.5, §4.5 item 7): stores the queue, emits `queue:item_*` →
 * `queue:updated`, then, when the item's task still exists, sets its `sessionStatus`, stamps it, stores it and
 * emits `task:updated`. Task `status` is never touched.
 */
function recordItemChange(
  tx: Tx,
  operation: QueueItemOperation,
  queue: QueueState,
  item: QueueItem,
  failReason: string | null = null,
): void {
  tx.putQueue(queue);
  // queue:item_failed alone carries `reason` (string or null, docs/behaviour.md §4.4).
  if (operation === 'fail') tx.emit('queue:item_failed', { sessionId: queue.sessionId, item, reason: failReason });
  else tx.emit(itemEventFor(operation), { sessionId: queue.sessionId, item });
  tx.emit('queue:updated', { sessionId: queue.sessionId, queue });
  const task = tx.getTask(item.taskId);
  if (task === undefined) return;
  const updated = { ...task, sessionStatus: sessionStatusFor(operation), updatedAt: tx.stamp('task', task.id) };
  save(tx, 'task:updated', updated);
}

/** The queue clock of one request: item stamps use `now`, the queue's `updatedAt` moves forward (§0.2). */
function clockFor(tx: Tx, queue: QueueState): { now: number; stamp: number } {
  return { now: tx.now, stamp: tx.stamp('queue', queue.sessionId) };
}

/** Session queues, docs/behaviour.md §2.6 and §9 (E27–E34). */
export function createQueueHandlers({ store }: { store: DataStore }): QueueHandlers {
  return {
    /** docs/behaviour.md §2.6 E27: Q1–Q3 → `{queue, stats}`. */
    async getQueue({ params }) {
      const { queue } = requireQueue(store, params.id);
      return { queue, stats: queueStats(queue) };
    },

    /** docs/behaviour.md §2.6 E28, §9.3 top: the first queued item, read-only. */
    async peekQueue({ params }) {
      const { queue } = requireQueue(store, params.id);
      // queue-ops types the empty message as `string`; its value is docs/behaviour.md's literal.
      return peekQueue(queue) as PeekQueueResult;
    },

    /**
     * docs/behaviour.md §9.3 E29 start: Q1–Q3 → "Already processing" (400) → empty answer (no change, no event) → the first
     * queued item starts. Events: `queue:item_started` → `queue:updated` → `task:updated` (task `working`).
     */
    async startQueueItem({ params }) {
      return store.mutate((tx) => {
        const { queue } = requireQueue(tx, params.id);
        const change = startQueueItem(queue, clockFor(tx, queue));
        // The empty answer changes nothing: no write, no event.
        if (!change.changed) return change.body as StartQueueItemResult;
        recordItemChange(tx, 'start', change.queue, change.item);
        return change.body as StartQueueItemResult;
      });
    },

    /** docs/behaviour.md §9.3 E30 complete. Events: `queue:item_completed` → `queue:updated` → `task:updated` (`completed`). */
    async completeQueueItem({ params }) {
      return store.mutate((tx) => applyItemChange(tx, params.id, 'complete', completeQueueItem));
    },

    /**
     * docs/behaviour.md §9.3 E31 fail: Q1–Q3 → body (`reason` must be a string) → something processing. Events:
     * `queue:item_failed {sessionId, item, reason}` (reason: the non-blank reason or null) → `queue:updated` →
     * `task:updated` (`failed`).
     */
    async failQueueItem(input) {
      return store.mutate((tx) => {
        const { queue } = requireQueue(tx, input.params.id);
        const body = input.readBody();
        const change = failQueueItem(queue, body.reason, clockFor(tx, queue));
        recordItemChange(tx, 'fail', change.queue, change.item, change.reason);
        return change.body;
      });
    },

    /** docs/behaviour.md §9.3 E32 skip: the processing item, else the first queued one. Events: item_skipped → updated → task. */
    async skipQueueItem({ params }) {
      return store.mutate((tx) => applyItemChange(tx, params.id, 'skip', skipQueueItem));
    },

    /** docs/behaviour.md §2.6 E33: Q1–Q3 → `{items, stats}`. */
    async listQueueItems({ params }) {
      const { queue } = requireQueue(store, params.id);
      return { items: queue.items, stats: queueStats(queue) };
    },

    /**
     * docs/behaviour.md §9.3 E34 push: Q1–Q3 → body `taskId` → task exists (404 NOT_FOUND) → not already in the queue (400)
     * → append → LINK(session, task). Events: `queue:updated` → the LINK pair when something was linked.
     */
    async pushQueueItem(input) {
      return store.mutate((tx) => {
        const { session, queue } = requireQueue(tx, input.params.id);
        const { taskId } = input.readBody();
        if (tx.getTask(taskId) === undefined) throw notFound('NOT_FOUND', 'Task not found');
        const change = pushQueueItem(queue, taskId, clockFor(tx, queue));
        tx.putQueue(change.queue);
        const linkEvents = link(tx, session.id, taskId);
        tx.emit('queue:updated', { sessionId: session.id, queue: change.queue });
        emitAll(tx, linkEvents);
        return change.body;
      });
    },
  };
}
