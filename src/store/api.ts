/**
 * The store's contract with the rest of the server (docs/behaviour.md §5, §0.8): what the handlers, the queue,
 * spawn and the server may rely on, whatever keeps the data. `Store` (store.ts, the file store) implements
 * `DataStore`; another back end (a database, later) implements the same interfaces and its callers do not change.
 *
 * Always true, for every implementation:
 * - reads are synchronous and return shared objects: callers never change them (a change is always a new
 *   object passed to `tx.put…`);
 * - every change goes through `mutate`: callbacks run one at a time in call order, and a callback reads its own
 *   writes (through `tx` or the store);
 * - when `mutate` resolves, the mutation is durable and its events were handed to the commit listener, in emit
 *   order, all together; mutations are acknowledged in call order;
 * - when `mutate` rejects, nothing of the mutation is left (memory or storage) and none of its events was
 *   delivered; a storage failure rejects with `ContractError(500, 'INTERNAL_ERROR')` (src/contract-error.ts),
 *   a callback's own error is rethrown as it is.
 *
 * This file holds only types: no behaviour, no imports of the implementation.
 */
import type { EventName, EventPayloads } from '../../generated/events/index.js';
import type { IdPrefix } from '../ids.js';
import type { EntityKind, Project, QueueState, Session, Task, Template } from './entities.js';

/**
 * One event recorded by `tx.emit`, delivered to `onCommit` after the mutation's files are durable: a name of the
 * AsyncAPI event catalogue (generated/events) with exactly that event's payload type. A discriminated union, so
 * an object literal `{ name: 'task:deleted', data: task }` does not compile.
 */
export type StoreEvent = { [N in EventName]: { name: N; data: EventPayloads[N] } }[EventName];

/**
 * The payload `tx.emit(name, data)` accepts for the name type `N`: for one event name, exactly that event's
 * payload type. For a name chosen at run time (`N` a union of names), a payload that is valid for every one of
 * them (the intersection of their payload types), so that a computed name can never be paired with another
 * event's payload: `EventPayloads[N]` alone would accept the union of the payloads.
 */
export type EmitPayload<N extends EventName> = (N extends EventName ? (data: EventPayloads[N]) => void : never) extends (
  data: infer P,
) => void
  ? P
  : never;

/** Receives the events of one committed mutation, in emit order (docs/behaviour.md §4.5). Called synchronously. */
export type CommitListener = (events: readonly StoreEvent[]) => void;

/**
 * Optional hooks a store calls so that the server can count what it does (src/metrics/ wires them to
 * Prometheus). Plain callbacks: the store depends on no metrics library, and a store without an observer
 * pays nothing. Called synchronously; they must be cheap and must not throw.
 */
export interface StoreObserver {
  /** A commit round finished writing (`ok` false: it failed); `mutations` it carried, `seconds` it took. */
  commitRound?(mutations: number, seconds: number, ok: boolean): void;
  /** One fsync (of a file or of a folder) finished, successfully or not, after `seconds`. */
  fsync?(seconds: number): void;
}

/** E6 filters. `parentId: null` selects root tasks. Values are compared exactly (normalise legacy values first). */
export interface TaskFilter {
  projectId?: string;
  status?: string;
  parentId?: string | null;
}

/** E13 filters. `active: true` excludes terminal statuses; `false`/absent does not filter. */
export interface SessionFilter {
  projectId?: string;
  taskId?: string;
  status?: string;
  active?: boolean;
}

/** Read access, shared by the store and its transactions. Returned objects are shared: never mutate them. */
export interface StoreReader {
  getProject(id: string): Project | undefined;
  getTask(id: string): Task | undefined;
  getSession(id: string): Session | undefined;
  /** The queue of a session (keyed by session id). */
  getQueue(sessionId: string): QueueState | undefined;
  getTemplate(id: string): Template | undefined;
  /** docs/behaviour.md §0.4 order: createdAt, then id. */
  listProjects(): Project[];
  listTasks(filter?: TaskFilter): Task[];
  /** Direct children (E11), §0.4 order. */
  listChildren(taskId: string): Task[];
  /** docs/behaviour.md §0.4 order: startedAt, then id. */
  listSessions(filter?: SessionFilter): Session[];
  listTemplates(filter?: { role?: string }): Template[];
  countTasksOfProject(projectId: string): number;
  countSessionsOfProject(projectId: string): number;
  /** True when a session has this id, or a session file with this name was skipped at load (E14 step 6). */
  isSessionIdTaken(id: string): boolean;
}

/** The handle a mutation callback gets. Valid only until the callback returns. */
export interface Tx extends StoreReader {
  /** The request's single clock reading (docs/behaviour.md §0.2). */
  readonly now: number;
  /** A stamp for a changed entity: max(now, prev + 1) (docs/behaviour.md §0.2). Handlers use `stamp`. */
  bump(prev: number): number;
  /**
   * The request's stamp for one entity (docs/behaviour.md §0.2), the same on every call within the mutation:
   * `max(now, previous + 1)` from the entity's stamp before the mutation (`lastActivity` for a session,
   * `updatedAt` otherwise), or `now` for an entity the mutation creates. So no entity is stamped twice by one
   * request, however many steps change it (a PATCH that also links it, say).
   */
  stamp(kind: EntityKind, id: string): number;
  /** A fresh id of the kind, unique among existing entities of that kind (and not rejected by `taken`). */
  newId(prefix: IdPrefix, taken?: (id: string) => boolean): string;
  /** Insert or replace. Always pass a new object, never a stored one changed in place. */
  putProject(project: Project): void;
  putTask(task: Task): void;
  putSession(session: Session): void;
  putQueue(queue: QueueState): void;
  putTemplate(template: Template): void;
  /** Remove; returns false when there was nothing to remove. */
  deleteProject(id: string): boolean;
  deleteTask(id: string): boolean;
  deleteSession(id: string): boolean;
  deleteQueue(sessionId: string): boolean;
  deleteTemplate(id: string): boolean;
  /**
   * Record an event; delivered after the commit, in emit order. Only names of the event catalogue, each with
   * exactly its payload type (see EmitPayload); a wrong name or payload shape does not compile.
   */
  emit<N extends EventName>(name: N, data: NoInfer<EmitPayload<N>>): void;
  /** Record an event built beforehand (e.g. a LINK/UNLINK pair); the same as `emit(event.name, event.data)`. */
  emitEvent(event: StoreEvent): void;
  /**
   * Write everything changed so far durably now, inside the mutation, after every earlier mutation (a cli-mode
   * spawn that runs the CLI inside its mutation needs the task files on disk first). If the callback later throws, memory and the flushed files are restored.
   */
  flush(): Promise<void>;
}

/**
 * Everything the handlers, the queue, spawn and the server use of a store: the reads, `mutate`, spawn's
 * `newSessionId`, `/health`'s `quarantinedCount`, and the lifecycle (`setCommitListener`, `close`). Opening is
 * the implementation's own business (`Store.open` for the file store).
 */
export interface DataStore extends StoreReader {
  /**
   * Run `fn` as one serialised, atomic, durable mutation (docs/behaviour.md §0.8, §5.4); resolves with fn's result
   * once the mutation is durable and its events delivered. Not re-entrant: calling `mutate` from inside `fn`
   * rejects.
   */
  mutate<T>(fn: (tx: Tx) => T | Promise<T>): Promise<T>;
  /**
   * A generated session id (docs/behaviour.md §0.1) chosen outside a mutation: free at the time of the call and not
   * rejected by `taken`. Nothing reserves it: a caller that uses it later in a mutation checks
   * `tx.isSessionIdTaken` there again.
   */
  newSessionId(taken?: (id: string) => boolean): string;
  /** Files the last startup load moved to quarantine (docs/behaviour.md §1.12 `storage.quarantined`). */
  readonly quarantinedCount: number;
  /** Set (or replace) the listener that receives committed events (the WebSocket hub). */
  setCommitListener(listener: CommitListener | undefined): void;
  /** Wait for queued mutations, then release the store. Further mutations are refused. */
  close(): Promise<void>;
}
