import { requestDefaults, sessionFromCreate, sessionWithUpdate } from '../../generated/model/index.js';
import type { Handlers } from '../../generated/routes/handlers.js';
import type { Session, SessionEvent, SessionTimelineEvent } from '../../generated/types/index.js';
import { notFound, validationError } from '../contract-error.js';
import { save } from './save.js';
import { found, getById } from './found.js';
import { isValidClientSessionId } from '../ids.js';
import { createQueue } from '../queue/queue-ops.js';
import type { DataStore, StoreEvent, Tx } from '../store/index.js';
import { dedupeIds, isTerminalSessionStatus, normaliseSessionStatus } from '../domain/input.js';
import { diffIds, emitAll, link, newEntryId, timelineEntry, unlink } from '../domain/links.js';
import { attachTasksToNewSession, buildNewSession, type HostFacts } from '../domain/new-session.js';

type SessionHandlers = Pick<
  Handlers,
  | 'listSessions'
  | 'createSession'
  | 'getSession'
  | 'updateSession'
  | 'deleteSession'
  | 'addSessionEvent'
  | 'addSessionTimelineEntry'
  | 'addTaskToSession'
  | 'removeTaskFromSession'
>;

const sessionNotFound = () => notFound('SESSION_NOT_FOUND', 'Session not found');

/** Sessions and their task associations, docs/behaviour.md §2.4 (E13–E19, E21, E22). */
export function createSessionHandlers({ store, host }: { store: DataStore; host: HostFacts }): SessionHandlers {
  return {
    /** docs/behaviour.md §2.4 E13: only `active=true` filters (non-terminal statuses); legacy status normalised. */
    async listSessions({ query }) {
      return store.listSessions({
        ...(query.projectId !== undefined && { projectId: query.projectId }),
        ...(query.taskId !== undefined && { taskId: query.taskId }),
        ...(query.status !== undefined && { status: normaliseSessionStatus(query.status) }),
        ...(query.active === 'true' && { active: true }),
      });
    },

    /**
     * docs/behaviour.md §2.4 E14: validated body → id free → project exists → each task exists. Events:
     * `session:created` (unless suppressed) → `task:session_added` per task → `queue:created` (queue strategy).
     */
    async createSession({ body }) {
      return store.mutate((tx) => {
        if (body.id !== undefined) {
          // The schema enforces the charset; this keeps the file-name rule true even if the schema drifts.
          if (!isValidClientSessionId(body.id)) throw validationError('id', 'id must be 1-128 characters from [A-Za-z0-9._-]');
          if (tx.isSessionIdTaken(body.id)) throw validationError('id', `Session ${body.id} already exists`);
        }
        if (tx.getProject(body.projectId) === undefined) throw notFound('PROJECT_NOT_FOUND', 'Project not found');
        const taskIds = dedupeIds(body.taskIds ?? (typeof body.taskId === 'string' ? [body.taskId] : []));
        for (const taskId of taskIds) {
          if (tx.getTask(taskId) === undefined) throw notFound('TASK_NOT_FOUND', 'Task not found');
        }
        const session = buildNewSession(
          tx,
          { ...sessionFromCreate(body), id: body.id ?? tx.newId('sess'), taskIds, status: normaliseSessionStatus(body.status ?? requestDefaults.SessionCreateRequest.status) },
          host,
        );
        tx.putSession(session);
        const taskEvents = attachTasksToNewSession(tx, session);
        if (body._suppressCreatedEvent !== true) tx.emit('session:created', session);
        emitAll(tx, taskEvents);
        if (session.strategy === 'queue') {
          const queue = createQueue(session.id, taskIds, tx.now);
          tx.putQueue(queue);
          tx.emit('queue:created', { sessionId: session.id, queue });
        }
        return session;
      });
    },

    /** docs/behaviour.md §2.4 E15 */
    getSession: getById((id) => store.getSession(id), sessionNotFound),

    /**
     * docs/behaviour.md §2.4 E16: lookup → body → added task ids exist; then taskIds diff, status (+ completedAt rule),
     * agentId, env merge, events, timeline, lastActivity. Events: `session:updated` → UNLINK pairs → LINK pairs.
     */
    async updateSession(input) {
      return store.mutate((tx) => {
        const current = found(tx.getSession(input.params.id), sessionNotFound);
        const body = input.readBody();
        const taskIds = body.taskIds === undefined ? undefined : dedupeIds(body.taskIds);
        if (taskIds !== undefined) {
          for (const taskId of diffIds(current.taskIds, taskIds).added) {
            if (tx.getTask(taskId) === undefined) throw notFound('TASK_NOT_FOUND', 'Task not found');
          }
        }

        // 1. Associations first, so that the LINK/UNLINK timeline entries precede the body's own entries.
        const linkEvents: StoreEvent[] = [];
        const unlinkEvents: StoreEvent[] = [];
        if (taskIds !== undefined) {
          const { added, removed } = diffIds(current.taskIds, taskIds);
          for (const taskId of removed) unlinkEvents.push(...unlink(tx, current.id, taskId));
          for (const taskId of added) linkEvents.push(...link(tx, current.id, taskId));
        }

        const next: Session = sessionWithUpdate(tx.getSession(current.id)!, body);
        if (taskIds !== undefined) next.taskIds = taskIds;
        // 2. Status with the completedAt rule of docs/behaviour.md §0.3.
        if (body.status !== undefined) {
          const status = normaliseSessionStatus(body.status);
          if (status !== current.status) {
            next.completedAt = isTerminalSessionStatus(status) ? tx.now : null;
          }
          next.status = status;
        }
        // 3.–4.
        if (body.env !== undefined) next.env = { ...next.env, ...body.env };
        // 5.–6. Appends, filling in ids, timestamps and the default type.
        if (body.events !== undefined && body.events.length > 0) {
          const events = [...next.events];
          for (const e of body.events) {
            const entry: SessionEvent = {
              id: e.id ?? newEntryId(tx, { ...next, events }),
              timestamp: e.timestamp ?? tx.now,
              type: e.type,
            };
            if ('data' in e) entry.data = e.data;
            events.push(entry);
          }
          next.events = events;
        }
        if (body.timeline !== undefined && body.timeline.length > 0) {
          const timeline = [...next.timeline];
          for (const t of body.timeline) {
            const entry: SessionTimelineEvent = {
              id: t.id ?? newEntryId(tx, { ...next, timeline }),
              type: t.type ?? requestDefaults.SessionTimelineEventInput.type,
              timestamp: t.timestamp ?? tx.now,
            };
            if (t.message !== undefined) entry.message = t.message;
            if (t.taskId !== undefined) entry.taskId = t.taskId;
            if (t.metadata !== undefined) entry.metadata = t.metadata;
            timeline.push(entry);
          }
          next.timeline = timeline;
        }
        // 7.
        next.lastActivity = tx.stamp('session', current.id);
        save(tx, 'session:updated', next);
        emitAll(tx, unlinkEvents);
        emitAll(tx, linkEvents);
        return next;
      });
    },

    /**
     * docs/behaviour.md §2.4 E17: each existing task loses the session id; the queue file goes; the manifest folder stays.
     * Events: per task `task:session_removed` → `session:task_removed`, then `session:deleted`.
     */
    async deleteSession({ params }) {
      return store.mutate((tx) => {
        const session = found(tx.getSession(params.id), sessionNotFound);
        for (const taskId of session.taskIds) {
          const task = tx.getTask(taskId);
          if (task === undefined) continue;
          tx.putTask({
            ...task,
            sessionIds: task.sessionIds.filter((id) => id !== session.id),
            updatedAt: tx.stamp('task', task.id),
          });
          tx.emit('task:session_removed', { taskId, sessionId: session.id });
          tx.emit('session:task_removed', { sessionId: session.id, taskId });
        }
        tx.deleteQueue(session.id);
        tx.deleteSession(session.id);
        tx.emit('session:deleted', { id: session.id });
        return { success: true as const, id: session.id };
      });
    },

    /** docs/behaviour.md §2.4 E18: validated body → session exists (NOT_FOUND). */
    async addSessionEvent({ params, body }) {
      return store.mutate((tx) => {
        const session = tx.getSession(params.id);
        if (session === undefined) throw notFound('NOT_FOUND', 'Session not found');
        const entry: SessionEvent = { id: newEntryId(tx, session), timestamp: tx.now, type: body.type };
        if ('data' in body) entry.data = body.data;
        const next = { ...session, events: [...session.events, entry], lastActivity: tx.stamp('session', session.id) };
        return save(tx, 'session:updated', next);
      });
    },

    /** docs/behaviour.md §2.4 E19: any non-blank type is accepted (e.g. `task_status_changed`). */
    async addSessionTimelineEntry({ params, body }) {
      return store.mutate((tx) => {
        const session = tx.getSession(params.id);
        if (session === undefined) throw notFound('NOT_FOUND', 'Session not found');
        const entry = timelineEntry(tx, session, body.type ?? requestDefaults.SessionTimelineCreateRequest.type, body.message, body.taskId);
        if (body.metadata !== undefined) entry.metadata = body.metadata;
        const next = { ...session, timeline: [...session.timeline, entry], lastActivity: tx.stamp('session', session.id) };
        return save(tx, 'session:updated', next);
      });
    },

    /** docs/behaviour.md §2.4 E21: LINK, idempotent. */
    async addTaskToSession({ params }) {
      return store.mutate((tx) => changeAssociation(tx, params, link));
    },

    /** docs/behaviour.md §2.4 E22: UNLINK; nothing happens when they are not associated. */
    async removeTaskFromSession({ params }) {
      return store.mutate((tx) => changeAssociation(tx, params, unlink));
    },
  };
}

/** E21/E22: both ids must exist (session first, docs/behaviour.md §2.4), then LINK or UNLINK; the answer is the session. */
function changeAssociation(tx: Tx, params: { id: string; taskId: string }, change: typeof link): Session {
  if (tx.getSession(params.id) === undefined) throw notFound('NOT_FOUND', 'Session not found');
  if (tx.getTask(params.taskId) === undefined) throw notFound('NOT_FOUND', 'Task not found');
  emitAll(tx, change(tx, params.id, params.taskId));
  return tx.getSession(params.id)!;
}
