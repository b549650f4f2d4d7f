import type { Session, SessionTimelineEvent } from '../../generated/types/index.js';
import type { StoreEvent, Tx } from '../store/index.js';

/** A fresh `evt_…` id that no entry of this session uses yet (docs/behaviour.md §0.1). */
export function newEntryId(tx: Tx, session: Session): string {
  return tx.newId('evt', (id) => session.timeline.some((e) => e.id === id) || session.events.some((e) => e.id === id));
}

/** A timeline entry stamped with the request's clock reading. */
export function timelineEntry(tx: Tx, session: Session, type: string, message: string, taskId?: string): SessionTimelineEvent {
  const entry: SessionTimelineEvent = { id: newEntryId(tx, session), type, timestamp: tx.now, message };
  if (taskId !== undefined) entry.taskId = taskId;
  return entry;
}

/**
 * LINK(S, T) of docs/behaviour.md §2.0.2. Reads the current (in-request) state of both, appends what is missing on each
 * side, and only when something was appended: adds the `task_started` timeline entry, stamps both, stores both
 * and returns the event pair `session:task_added` → `task:session_added`. Returns `[]` when already linked.
 */
export function link(tx: Tx, sessionId: string, taskId: string): StoreEvent[] {
  const session = tx.getSession(sessionId);
  const task = tx.getTask(taskId);
  if (session === undefined || task === undefined) return [];
  const addToSession = !session.taskIds.includes(taskId);
  const addToTask = !task.sessionIds.includes(sessionId);
  if (!addToSession && !addToTask) return [];
  tx.putSession({
    ...session,
    taskIds: addToSession ? [...session.taskIds, taskId] : session.taskIds,
    timeline: [...session.timeline, timelineEntry(tx, session, 'task_started', 'Task added to session', taskId)],
    lastActivity: tx.stamp('session', session.id),
  });
  tx.putTask({
    ...task,
    sessionIds: addToTask ? [...task.sessionIds, sessionId] : task.sessionIds,
    updatedAt: tx.stamp('task', task.id),
  });
  return [
    { name: 'session:task_added', data: { sessionId, taskId } },
    { name: 'task:session_added', data: { taskId, sessionId } },
  ];
}

/**
 * UNLINK(S, T) of docs/behaviour.md §2.0.2; T may not exist. Removes what is present on each side, and only when
 * something was removed: adds the `task_completed` timeline entry, stamps, stores and returns the event pair
 * `session:task_removed` → `task:session_removed`. Returns `[]` when they were not linked.
 */
export function unlink(tx: Tx, sessionId: string, taskId: string): StoreEvent[] {
  const session = tx.getSession(sessionId);
  if (session === undefined) return [];
  const task = tx.getTask(taskId);
  const inSession = session.taskIds.includes(taskId);
  const inTask = task !== undefined && task.sessionIds.includes(sessionId);
  if (!inSession && !inTask) return [];
  tx.putSession({
    ...session,
    taskIds: inSession ? session.taskIds.filter((id) => id !== taskId) : session.taskIds,
    timeline: [...session.timeline, timelineEntry(tx, session, 'task_completed', 'Removed task from session', taskId)],
    lastActivity: tx.stamp('session', session.id),
  });
  if (task !== undefined) {
    tx.putTask({
      ...task,
      sessionIds: inTask ? task.sessionIds.filter((id) => id !== sessionId) : task.sessionIds,
      updatedAt: tx.stamp('task', task.id),
    });
  }
  return [
    { name: 'session:task_removed', data: { sessionId, taskId } },
    { name: 'task:session_removed', data: { taskId, sessionId } },
  ];
}

/** Emits recorded events in order. */
export function emitAll(tx: Tx, events: readonly StoreEvent[]): void {
  for (const e of events) tx.emitEvent(e);
}

/** The ids of `next` missing from `prev` (in `next` order) and of `prev` missing from `next` (in `prev` order). */
export function diffIds(prev: readonly string[], next: readonly string[]): { added: string[]; removed: string[] } {
  const prevSet = new Set(prev);
  const nextSet = new Set(next);
  return { added: next.filter((id) => !prevSet.has(id)), removed: prev.filter((id) => !nextSet.has(id)) };
}

