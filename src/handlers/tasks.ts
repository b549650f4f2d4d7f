import { requestDefaults, taskFromCreate, taskWithUpdate } from '../../generated/model/index.js';
import type { Handlers } from '../../generated/routes/handlers.js';
import type { Task } from '../../generated/types/index.js';
import { notFound } from '../contract-error.js';
import { newEntity, save } from './save.js';
import { found, getById } from './found.js';
import type { DataStore, StoreEvent } from '../store/index.js';
import { dedupeIds, normaliseTaskStatus } from '../domain/input.js';
import { diffIds, emitAll, link, timelineEntry, unlink } from '../domain/links.js';

type TaskHandlers = Pick<
  Handlers,
  'listTasks' | 'createTask' | 'getTask' | 'updateTask' | 'addTaskTimelineEntry' | 'listTaskChildren' | 'deleteTask'
>;

const taskNotFound = () => notFound('TASK_NOT_FOUND', 'Task not found');

/** Tasks, docs/behaviour.md §2.3 (E6–E12). */
export function createTaskHandlers({ store }: { store: DataStore }): TaskHandlers {
  return {
    /** docs/behaviour.md §2.3 E6: filters combine with AND; `parentId=null` selects root tasks; legacy status normalised. */
    async listTasks({ query }) {
      return store.listTasks({
        ...(query.projectId !== undefined && { projectId: query.projectId }),
        ...(query.status !== undefined && { status: normaliseTaskStatus(query.status) }),
        ...(query.parentId !== undefined && { parentId: query.parentId === 'null' ? null : query.parentId }),
      });
    },

    /** docs/behaviour.md §2.3 E7: validated body → project exists → parent exists. */
    async createTask({ body }) {
      return store.mutate((tx) => {
        if (tx.getProject(body.projectId) === undefined) throw notFound('PROJECT_NOT_FOUND', 'Project not found');
        const fields = taskFromCreate(body);
        if (fields.parentId !== null && tx.getTask(fields.parentId) === undefined) throw notFound('TASK_NOT_FOUND', 'Parent task not found');
        return save(tx, 'task:created', newEntity(tx, 'task', fields));
      });
    },

    /** docs/behaviour.md §2.3 E8 */
    getTask: getById((id) => store.getTask(id), taskNotFound),

    /**
     * docs/behaviour.md §2.3 E9: lookup → body (a session-sourced update applies only `sessionStatus`) → added session ids
     * exist. Events: `task:updated`, then the UNLINK pairs, then the LINK pairs.
     */
    async updateTask(input) {
      return store.mutate((tx) => {
        const current = found(tx.getTask(input.params.id), taskNotFound);
        const body = input.readBody();
        const stamp = tx.stamp('task', current.id);

        let next: Task = { ...current, updatedAt: stamp };
        let sessionIds: string[] | undefined;
        if (body.updateSource === 'session') {
          // docs/behaviour.md §11.9: agents report progress; every other field is dropped without validation.
          if (body.sessionStatus !== undefined) next.sessionStatus = body.sessionStatus;
        } else {
          next = taskWithUpdate(next, body);
          if (body.status !== undefined) next.status = normaliseTaskStatus(body.status);
          if (body.sessionIds !== undefined) {
            sessionIds = dedupeIds(body.sessionIds);
            const { added } = diffIds(current.sessionIds, sessionIds);
            if (added.some((id) => tx.getSession(id) === undefined)) throw notFound('SESSION_NOT_FOUND', 'Session not found');
          }
        }
        // docs/behaviour.md §0.3: first `in_progress` / `completed` stamps startedAt / completedAt; never cleared.
        if (next.status === 'in_progress' && next.startedAt === null) next.startedAt = tx.now;
        if (next.status === 'completed' && next.completedAt === null) next.completedAt = tx.now;
        tx.putTask(next);

        const linkEvents: StoreEvent[] = [];
        if (sessionIds !== undefined) {
          const { added, removed } = diffIds(current.sessionIds, sessionIds);
          for (const sessionId of removed) linkEvents.push(...unlink(tx, sessionId, current.id));
          for (const sessionId of added) linkEvents.push(...link(tx, sessionId, current.id));
          // The final list is exactly the (deduplicated) list that was sent, in its order.
          next = { ...tx.getTask(current.id)!, sessionIds };
          tx.putTask(next);
        }
        tx.emit('task:updated', next);
        emitAll(tx, linkEvents);
        return next;
      });
    },

    /** docs/behaviour.md §2.3 E10: appends to the *session's* timeline; the task is not modified. */
    async addTaskTimelineEntry({ params, body }) {
      return store.mutate((tx) => {
        if (tx.getTask(params.id) === undefined) throw notFound('NOT_FOUND', 'Task not found');
        const session = tx.getSession(body.sessionId);
        if (session === undefined) throw notFound('NOT_FOUND', 'Session not found');
        const type = body.type ?? requestDefaults.TaskTimelineCreateRequest.type;
        const next = {
          ...session,
          timeline: [...session.timeline, timelineEntry(tx, session, type, body.message, params.id)],
          lastActivity: tx.stamp('session', session.id),
        };
        save(tx, 'session:updated', next);
        return { success: true as const, taskId: params.id, sessionId: session.id, message: body.message, type };
      });
    },

    /** docs/behaviour.md §2.3 E11: direct children only. */
    async listTaskChildren({ params }) {
      if (store.getTask(params.id) === undefined) throw taskNotFound();
      return store.listChildren(params.id);
    },

    /**
     * docs/behaviour.md §2.3 E12: the id leaves every session's `taskIds` (no timeline entry); children keep a dangling
     * `parentId`; queue items stay (history). Only `task:deleted` is emitted.
     */
    async deleteTask({ params }) {
      return store.mutate((tx) => {
        const task = found(tx.getTask(params.id), taskNotFound);
        for (const session of tx.listSessions({ taskId: task.id })) {
          tx.putSession({
            ...session,
            taskIds: session.taskIds.filter((id) => id !== task.id),
            lastActivity: tx.stamp('session', session.id),
          });
        }
        tx.deleteTask(task.id);
        tx.emit('task:deleted', { id: task.id });
        return { success: true as const, id: task.id };
      });
    },
  };
}
