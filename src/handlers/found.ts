import type { ContractError } from '../contract-error.js';

/**
 * The entity a lookup found, or the operation's "not found" error (docs/behaviour.md §0.6). The error is built only
 * when it is thrown: an error object records a stack trace, which a hot GET should not pay for.
 */
export function found<T>(entity: T | undefined, notFoundError: () => ContractError): T {
  if (entity === undefined) throw notFoundError();
  return entity;
}

/** A GET-by-id handler: the entity `get` finds for the path's `id`, or the operation's 404. */
export function getById<T>(get: (id: string) => T | undefined, notFoundError: () => ContractError) {
  return async ({ params }: { params: { id: string } }): Promise<T> => found(get(params.id), notFoundError);
}
