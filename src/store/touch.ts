/**
 * A touch: what a mutation records about one entity it changed. The transaction creates it (transaction.ts), the
 * commit pipeline merges the touches of a round (commit-pipeline.ts), the round writer makes them durable and, on
 * failure, puts their files back (file-commit.ts); the state restores memory from them (state.ts).
 *
 * Always true:
 * - one touch per entity (kind + id) per list: a transaction's touches, a round's merged touches;
 * - `before` is the entity's state before the first mutation of the list touched it and never changes: it is
 *   what a failure restores, in memory and on disk;
 * - the state to write is never stored here: it is always the entity's current state in memory, read when the
 *   round is written;
 * - `onDisk` and `dirty` change only when a write succeeded; `attempted` and `writtenPaths` only grow, and
 *   record what the writer did so that a rollback knows what to put back.
 */
import type { AnyEntity, EntityKind } from './entities.js';

export interface Touch {
  kind: EntityKind;
  id: string;
  /** The state before the mutation (undefined: did not exist). */
  before: AnyEntity | undefined;
  /** The state the file holds after the last successful write (initially `before`). */
  onDisk: AnyEntity | undefined;
  /** Changed since the last successful write. */
  dirty: boolean;
  /** The writer started a file operation for it (so a rollback must restore its files). */
  attempted: boolean;
  /** Paths the writer wrote for it (a rollback removes those that are not the `before` file). */
  writtenPaths: Set<string>;
}

/** The map key of one entity. */
export function touchKey(kind: EntityKind, id: string): string {
  return `${kind}\u0000${id}`;
}

/** The first touch of an entity in a mutation: `prev` is its state before the mutation, and what its file holds. */
export function newTouch(kind: EntityKind, id: string, prev: AnyEntity | undefined): Touch {
  return { kind, id, before: prev, onDisk: prev, dirty: true, attempted: false, writtenPaths: new Set() };
}

/**
 * Touches merged into one per entity, for one commit round (from its mutations' touches, in call order) or for
 * restoring the files of several failed rounds (from the rounds' touches, in start order). `before` and `onDisk`
 * come from the first list that touched the entity: the state before it, which a failure restores (memory and
 * files), and what its file holds. `attempted` and `writtenPaths` collect what any of the lists did on disk. The
 * state to write is always the current one in memory.
 */
export function mergeTouches(lists: Iterable<Touch[]>): Touch[] {
  const merged = new Map<string, Touch>();
  for (const touches of lists) {
    for (const t of touches) {
      const key = touchKey(t.kind, t.id);
      const first = merged.get(key);
      if (first === undefined) {
        merged.set(key, { ...t, dirty: true, writtenPaths: new Set(t.writtenPaths) });
      } else {
        first.attempted ||= t.attempted;
        for (const path of t.writtenPaths) first.writtenPaths.add(path);
      }
    }
  }
  return [...merged.values()];
}
