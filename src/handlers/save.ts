import type { EventPayloads } from '../../generated/events/index.js';
import type { IdPrefix } from '../ids.js';
import type { ContractError } from '../contract-error.js';
import type { DataStore, StoreEvent, Tx } from '../store/index.js';
import { found } from './found.js';

/** The events that announce a project, task, session or template stored as it now is (their payload is the entity). */
export type SavedEvent = `${'project' | 'task' | 'session' | 'template'}:${'created' | 'updated'}`;

const put: { [K in SavedEvent extends `${infer Kind}:${string}` ? Kind : never]: (tx: Tx, entity: never) => void } = {
  project: (tx, entity) => tx.putProject(entity),
  task: (tx, entity) => tx.putTask(entity),
  session: (tx, entity) => tx.putSession(entity),
  template: (tx, entity) => tx.putTemplate(entity),
};

/**
 * Stores a new or changed entity and records the event that announces it (docs/behaviour.md §4: `<kind>:created` /
 * `<kind>:updated` carry the entity as stored); returns the entity, which is also what the endpoint answers.
 * The event name fixes the entity's type, so a project cannot be announced as a task.
 */
export function save<N extends SavedEvent>(tx: Tx, name: N, entity: EventPayloads[N]): EventPayloads[N] {
  const kind = name.slice(0, name.indexOf(':')) as keyof typeof put;
  put[kind](tx, entity as never);
  tx.emitEvent({ name, data: entity } as StoreEvent);
  return entity;
}

/**
 * A new entity from the fields a create request gives (generated/model `<kind>FromCreate`): the server adds a fresh
 * id of the kind and stamps it created and updated now (docs/behaviour.md §0.2).
 */
export function newEntity<F extends object>(tx: Tx, prefix: IdPrefix, fields: F): F & { id: string; createdAt: number; updatedAt: number } {
  return { id: tx.newId(prefix), ...fields, createdAt: tx.now, updatedAt: tx.now };
}

/** A changed entity carrying this request's stamp for it (`tx.stamp`: once per entity per request, docs/behaviour.md §0.2). */
export function stamped<E extends { id: string; updatedAt: number }>(tx: Tx, kind: 'project' | 'task' | 'template', entity: E): E {
  return { ...entity, updatedAt: tx.stamp(kind, entity.id) };
}

/**
 * An update handler for a kind whose update is only "merge the body's plain fields" (projects E4, templates E39):
 * lookup (404) → read and validate the body → merge (generated/model `<kind>WithUpdate`) → stamp → store and announce.
 * An empty body still stamps and emits.
 */
export function updateById<N extends 'project:updated' | 'template:updated', Body>(
  store: DataStore,
  name: N,
  lookup: (tx: Tx, id: string) => EventPayloads[N] | undefined,
  notFoundError: () => ContractError,
  merge: (current: EventPayloads[N], body: Body) => EventPayloads[N],
) {
  const kind = name === 'project:updated' ? 'project' : 'template';
  return async (input: { params: { id: string }; readBody: () => Body }): Promise<EventPayloads[N]> =>
    store.mutate((tx) => {
      const current = found(lookup(tx, input.params.id), notFoundError);
      return save(tx, name, stamped(tx, kind, merge(current, input.readBody())));
    });
}
