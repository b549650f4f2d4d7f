/**
 * The entity types the store holds (docs/behaviour.md §1), taken from the generated types, and the store's names for
 * its kinds of file.
 */
import type { StoredEntities, StoredKind } from '../../generated/model/index.js';
import type { Project, QueueState, Session, Task, Template } from '../../generated/types/index.js';

export type { Project, QueueState, Session, Task, Template };

/** The kinds of entity file (docs/behaviour.md §5.1; the schemas with `x-stored-as`). A queue's key is its `sessionId`. */
export type EntityKind = StoredKind;

export type EntityByKind = StoredEntities;

export type AnyEntity = EntityByKind[EntityKind];

/** The key of an entity: `sessionId` for a queue, `id` for everything else. */
export function entityKey(kind: EntityKind, entity: AnyEntity): string {
  return kind === 'queue' ? (entity as QueueState).sessionId : (entity as Project).id;
}

/**
 * Where an entity keeps the keys of its file that the running spec does not know (docs/behaviour.md §14.2). A symbol key:
 * object spread (`{ ...current, name }`) carries it into the next version of the entity, so every later write
 * keeps those keys, while JSON.stringify, and so every response and event, leaves it out.
 */
export const UNKNOWN_KEYS: unique symbol = Symbol('unknown keys (docs/behaviour.md §14.2)');

/** The unknown keys an entity carries, if any. */
export function unknownKeysOf(entity: object): Record<string, unknown> | undefined {
  return (entity as { [UNKNOWN_KEYS]?: Record<string, unknown> })[UNKNOWN_KEYS];
}

/** Attaches the unknown keys of an entity's file to the entity (an enumerable symbol property, see UNKNOWN_KEYS). */
export function keepUnknownKeys<T extends object>(entity: T, unknown: Record<string, unknown> | undefined): T {
  if (unknown !== undefined) (entity as { [UNKNOWN_KEYS]?: Record<string, unknown> })[UNKNOWN_KEYS] = unknown;
  return entity;
}

/**
 * The exact file content of an entity (docs/behaviour.md §5.1: `JSON.stringify(value, null, 2)`, one trailing newline),
 * with the keys the running spec does not know after the known ones (docs/behaviour.md §14.2).
 */
export function serializeEntity(entity: unknown): string {
  const unknown = typeof entity === 'object' && entity !== null ? unknownKeysOf(entity) : undefined;
  return `${JSON.stringify(unknown === undefined ? entity : { ...(entity as object), ...unknown }, null, 2)}\n`;
}
