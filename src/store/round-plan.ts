/**
 * What a commit round changes in DATA_DIR (docs/behaviour.md §5.1, §5.4): for each touched entity whose current
 * state differs from what its file holds, the file to write (path + exact content) or to remove, in write order.
 * A pure computation over the state at the moment the round is written; it neither writes nor changes anything.
 * The per-file writer (file-commit.ts) carries the plan out; a write-ahead-log writer would log the same
 * records (path + content, or a delete marker) and replay them in the same order.
 *
 * Always true of a plan:
 * - one write per entity whose current state differs from its file, with the content `serializeEntity` gives;
 *   a remove of its old file when the entity is gone or its path changed;
 * - the order (two phases): a queue file is written after its session and removed before it (an orphan queue is
 *   quarantined at load, §5.5), and removals come after writes, so that a crash during a delete leaves the
 *   entity in place rather than references to a missing file. Within a phase the order does not matter.
 */
import type { AnyEntity, EntityKind, Project, QueueState, Session, Task, Template } from './entities.js';
import { serializeEntity } from './entities.js';
import type { Layout } from './layout.js';
import type { Touch } from './touch.js';

/** One file operation: write `text` to `path` (atomically), or remove `path`. `touch`: the entity it is for. */
export interface FileOp {
  op: 'write' | 'remove';
  path: string;
  text?: string;
  touch?: Touch;
}

export interface RoundPlan {
  /** Phase 1: every entity write except queues, and queue removals. */
  first: FileOp[];
  /** Phase 2: queue writes, and every other removal. */
  second: FileOp[];
  /** Projects the round removes (their empty `tasks/{id}/` folder goes too, best effort: §2.2 E5). */
  deletedProjects: string[];
  /** For every touch, the state its file holds once the plan is carried out. */
  reached: { touch: Touch; state: AnyEntity | undefined }[];
}

/** The path of an entity's file (docs/behaviour.md §5.1); throws UnsafeIdError for an unsafe id. */
export function entityPath(layout: Layout, kind: EntityKind, entity: AnyEntity): string {
  switch (kind) {
    case 'project':
      return layout.projectFile((entity as Project).id);
    case 'task':
      return layout.taskFile((entity as Task).projectId, (entity as Task).id);
    case 'session':
      return layout.sessionFile((entity as Session).id);
    case 'queue':
      return layout.queueFile((entity as QueueState).sessionId);
    case 'template':
      return layout.templateFile((entity as Template).id);
  }
}

/** The plan that makes the current state of `touches` (`current`) what their files hold. */
export function planRound(
  touches: readonly Touch[],
  current: (kind: EntityKind, id: string) => AnyEntity | undefined,
  layout: Layout,
): RoundPlan {
  const plan: RoundPlan = { first: [], second: [], deletedProjects: [], reached: [] };
  for (const touch of touches) {
    const now = current(touch.kind, touch.id);
    plan.reached.push({ touch, state: now });
    if (now === touch.onDisk) continue;
    const oldPath = touch.onDisk === undefined ? undefined : entityPath(layout, touch.kind, touch.onDisk);
    if (now !== undefined) {
      const path = entityPath(layout, touch.kind, now);
      (touch.kind === 'queue' ? plan.second : plan.first).push({ op: 'write', path, text: serializeEntity(now), touch });
      if (oldPath !== undefined && oldPath !== path) plan.second.push({ op: 'remove', path: oldPath, touch });
    } else if (oldPath !== undefined) {
      (touch.kind === 'queue' ? plan.first : plan.second).push({ op: 'remove', path: oldPath, touch });
      if (touch.kind === 'project') plan.deletedProjects.push(touch.id);
    }
  }
  return plan;
}

/** Record on each touch that its file now holds the planned state (after the plan was carried out). */
export function markReached(plan: RoundPlan): void {
  for (const { touch, state } of plan.reached) {
    touch.onDisk = state;
    touch.dirty = false;
  }
}
