/**
 * The entity types the store holds (CONTRACT §1), taken from the generated types, and the store's names for
 * its five kinds of file.
 */
import type { Project, QueueState, Session, Task, Template } from '../../generated/types/index.js';

export type { Project, QueueState, Session, Task, Template };

/** The five kinds of entity file (CONTRACT §5.1). A queue's key is its `sessionId`. */
export type EntityKind = 'project' | 'task' | 'session' | 'queue' | 'template';

export interface EntityByKind {
  project: Project;
  task: Task;
  session: Session;
  queue: QueueState;
  template: Template;
}

export type AnyEntity = EntityByKind[EntityKind];

/** The key of an entity: `sessionId` for a queue, `id` for everything else. */
export function entityKey(kind: EntityKind, entity: AnyEntity): string {
  return kind === 'queue' ? (entity as QueueState).sessionId : (entity as Project).id;
}

/** The exact file content of an entity (CONTRACT §5.1: `JSON.stringify(value, null, 2)`, one trailing newline). */
export function serializeEntity(entity: unknown): string {
  return `${JSON.stringify(entity, null, 2)}\n`;
}

// CONTRACT §1.1 enums, used by the load migrations and the indexes.
export const TASK_STATUSES = ['todo', 'in_progress', 'completed', 'cancelled', 'blocked'] as const;
export const TASK_PRIORITIES = ['low', 'medium', 'high'] as const;
export const TASK_SESSION_STATUSES = ['queued', 'working', 'needs_input', 'blocked', 'completed', 'failed', 'skipped'] as const;
export const MODEL_NAMES = ['haiku', 'sonnet', 'opus'] as const;
export const SESSION_STATUSES = ['spawning', 'idle', 'working', 'completed', 'failed', 'stopped'] as const;
export const TERMINAL_SESSION_STATUSES = ['completed', 'failed', 'stopped'] as const;
export const ACTIVE_SESSION_STATUSES = ['spawning', 'idle', 'working'] as const;
export const WORKER_STRATEGIES = ['simple', 'queue', 'tree'] as const;
export const ROLES = ['worker', 'orchestrator'] as const;
