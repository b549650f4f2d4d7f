import { sessionDefaults } from '../../generated/model/index.js';
import type { Session, SessionTimelineEvent } from '../../generated/types/index.js';
import type { StoreEvent, Tx } from '../store/index.js';
import { isTerminalSessionStatus } from './input.js';
import { timelineEntry } from './links.js';

/**
 * What E14 and E20 decide about a new session (docs/behaviour.md §1.4, §2.0.3): these keys, and any other key of the
 * entity (E14 passes every plain field of its request, generated/model); the rest is derived.
 */
export type NewSessionSpec = Partial<Session> & Pick<Session, 'id' | 'projectId' | 'taskIds' | 'name' | 'env' | 'strategy' | 'status'>;

/** The host facts stamped on every new session (docs/behaviour.md §0.3). */
export interface HostFacts {
  hostname: string;
  platform: string;
}

/**
 * Builds a new session with the initial timeline of docs/behaviour.md §2.0.3 (`session_started`, then one `task_started`
 * per task), all stamped with the request's clock reading.
 */
export function buildNewSession(tx: Tx, spec: NewSessionSpec, host: HostFacts): Session {
  const { id, ...decided } = spec;
  const session: Session = {
    id,
    ...sessionDefaults(),
    ...decided,
    startedAt: tx.now,
    lastActivity: tx.now,
    completedAt: isTerminalSessionStatus(spec.status) ? tx.now : null,
    hostname: host.hostname,
    platform: host.platform,
    events: [],
    timeline: [],
  };
  const timeline: SessionTimelineEvent[] = [];
  const withTimeline = (): Session => ({ ...session, timeline });
  timeline.push(timelineEntry(tx, withTimeline(), 'session_started', 'Session started'));
  for (const taskId of spec.taskIds) {
    timeline.push(timelineEntry(tx, withTimeline(), 'task_started', 'Task added to session', taskId));
  }
  return withTimeline();
}

/**
 * The task side of a new session (E14, E20): the session id is appended to each task's `sessionIds` unless
 * present, and the task is stamped. Returns `task:session_added` per task, in `taskIds` order.
 */
export function attachTasksToNewSession(tx: Tx, session: Session): StoreEvent[] {
  const events: StoreEvent[] = [];
  for (const taskId of session.taskIds) {
    const task = tx.getTask(taskId);
    if (task === undefined) continue;
    tx.putTask({
      ...task,
      sessionIds: task.sessionIds.includes(session.id) ? task.sessionIds : [...task.sessionIds, session.id],
      updatedAt: tx.stamp('task', task.id),
    });
    events.push({ name: 'task:session_added', data: { taskId, sessionId: session.id } });
  }
  return events;
}
