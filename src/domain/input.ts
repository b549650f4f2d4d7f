/**
 * Normalisation of accepted input (docs/behaviour.md §0.5, §0.7): legacy values and id-array deduplication. The router
 * has already validated types; this only maps accepted values to what the server stores.
 */
import { SessionStatusGroups } from '../../generated/model/index.js';

/** docs/behaviour.md §0.7: task status `pending` is stored as `todo`. */
export function normaliseTaskStatus<T extends string>(status: T): Exclude<T, 'pending'> | 'todo' {
  return (status === 'pending' ? 'todo' : status) as Exclude<T, 'pending'> | 'todo';
}

/** docs/behaviour.md §0.7: session status `running` is stored as `working`. */
export function normaliseSessionStatus<T extends string>(status: T): Exclude<T, 'running'> | 'working' {
  return (status === 'running' ? 'working' : status) as Exclude<T, 'running'> | 'working';
}

/** docs/behaviour.md §0.5: duplicates in an id array are removed, keeping the first occurrence. */
export function dedupeIds(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

/** True when the session status is terminal (docs/behaviour.md §1.1). */
export function isTerminalSessionStatus(status: string): boolean {
  return (SessionStatusGroups.terminal as readonly string[]).includes(status);
}
