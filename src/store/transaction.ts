/**
 * Transactions (docs/behaviour.md §0.2, §0.8): the FIFO queue that runs mutation callbacks one at a time, and the
 * `Tx` handle a callback gets (put/delete, `stamp`, `newId`, `emit`, `flush`).
 *
 * Always true:
 * - callbacks run one at a time, in call order; `mutate` inside a mutation of the same store rejects (it would
 *   wait for itself);
 * - a mutation applies its changes to the live state as it goes, so the callback (and anything it calls) reads
 *   its own writes; each put/delete records the entity's before-image once (a touch, touch.ts);
 * - a put always stores a new object with safe ids (§5.6): the stored object itself, or an unsafe id, is refused;
 * - `tx.stamp(kind, id)` is the same on every call within a mutation, computed from the entity's stamp before
 *   the mutation (the once-per-entity-per-request stamp rule, §0.2);
 * - events are only recorded here; the commit pipeline delivers them after the mutation is durable;
 * - a callback that throws is undone (memory, and files a `tx.flush()` wrote) and its error rethrown; a finished
 *   callback's mutation joins the commit pipeline and `mutate` resolves when the pipeline acknowledges it;
 * - a `Tx` is usable only until its callback returns: later calls throw.
 *
 * Who calls what: the store facade calls `MutationQueue.mutate` and `close`; only the queue creates a `TxImpl`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from '../clock.js';
import type { EventName } from '../../generated/events/index.js';
import type { IdPrefix } from '../ids.js';
import { newId } from '../ids.js';
import type { EmitPayload, StoreEvent, Tx } from './api.js';
import type { CommitPipeline, FinishedMutation } from './commit-pipeline.js';
import type { AnyEntity, EntityKind, Project, QueueState, Session, Task, Template } from './entities.js';
import { entityKey } from './entities.js';
import { UnsafeIdError } from './layout.js';
import type { StoreState } from './state.js';
import { ReadThrough, usableId } from './state.js';
import type { Touch } from './touch.js';
import { newTouch, touchKey } from './touch.js';

/** The transaction of the mutation whose callback is running in this async context (re-entrancy check). */
const mutationScope = new AsyncLocalStorage<TxImpl>();

/** The stamp field an entity's stamp rule reads: `lastActivity` for a session, `updatedAt` otherwise. */
function stampOf(kind: EntityKind, entity: AnyEntity): number {
  return kind === 'session' ? (entity as Session).lastActivity : (entity as Project).updatedAt;
}

/** The FIFO queue of mutation callbacks of one store. */
export class MutationQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private activeTx: TxImpl | undefined;
  private closing = false;

  constructor(
    private readonly state: StoreState,
    private readonly pipeline: CommitPipeline,
    private readonly clock: Clock,
  ) {}

  /** See `DataStore.mutate` (api.ts) and the header of this file. */
  async mutate<T>(fn: (tx: Tx) => T | Promise<T>): Promise<T> {
    if (this.closing) throw new Error('Store is closed');
    const scope = mutationScope.getStore();
    if (scope !== undefined && scope === this.activeTx) {
      throw new Error('Store.mutate called inside a mutation of the same store (it would wait for itself)');
    }
    const applied = this.tail.then(() => this.apply(fn));
    this.tail = applied.catch(() => undefined);
    const { result, durable } = await applied;
    await durable;
    return result;
  }

  /** Refuse further mutations and wait until every queued callback has run. */
  async close(): Promise<void> {
    this.closing = true;
    await this.tail.catch(() => undefined);
  }

  /** Runs the callback; on success the mutation joins the next commit round (`durable` settles with it). */
  private async apply<T>(fn: (tx: Tx) => T | Promise<T>): Promise<{ result: T; durable: Promise<void> }> {
    this.pipeline.callbackStarting();
    try {
      const tx = new TxImpl(this.state, this.pipeline, this.clock.now());
      this.activeTx = tx;
      let result: T;
      try {
        result = await mutationScope.run(tx, () => fn(tx));
      } catch (err) {
        tx.closed = true;
        await this.pipeline.discard(tx);
        throw err;
      }
      tx.closed = true;
      return { result, durable: this.pipeline.join(tx) };
    } finally {
      this.activeTx = undefined;
      this.pipeline.callbackEnded();
    }
  }
}

/** The transaction handle (see `Tx`). */
class TxImpl extends ReadThrough implements Tx, FinishedMutation {
  closed = false;
  readonly events: StoreEvent[] = [];
  private readonly touches = new Map<string, Touch>();
  /** `stamp` results of this mutation, by kind and id. */
  private readonly stamps = new Map<string, number>();

  constructor(
    state: StoreState,
    private readonly pipeline: CommitPipeline,
    readonly now: number,
  ) {
    super(state);
  }

  dirtyTouches(): Touch[] {
    return [...this.touches.values()].filter((t) => t.dirty);
  }

  allTouches(): Touch[] {
    return [...this.touches.values()];
  }

  bump(prev: number): number {
    return Math.max(this.now, prev + 1);
  }

  stamp(kind: EntityKind, id: string): number {
    const key = touchKey(kind, id);
    let stamp = this.stamps.get(key);
    if (stamp === undefined) {
      const touched = this.touches.get(key);
      const before = touched !== undefined ? touched.before : this.state.current(kind, id);
      stamp = before === undefined ? this.now : this.bump(stampOf(kind, before));
      this.stamps.set(key, stamp);
    }
    return stamp;
  }

  newId(prefix: IdPrefix, taken?: (id: string) => boolean): string {
    const s = this.state;
    const exists: (id: string) => boolean =
      prefix === 'proj'
        ? (id) => s.getProject(id) !== undefined
        : prefix === 'task'
          ? (id) => s.getTask(id) !== undefined
          : prefix === 'sess'
            ? (id) => s.isSessionIdTaken(id)
            : prefix === 'tmpl'
              ? (id) => s.getTemplate(id) !== undefined
              : () => false; // evt: unique per session; the caller passes `taken` for the session's entries
    return newId(prefix, (id) => exists(id) || (taken?.(id) ?? false), this.now);
  }

  putProject(project: Project): void {
    this.put('project', project);
  }
  putTask(task: Task): void {
    this.put('task', task);
  }
  putSession(session: Session): void {
    this.put('session', session);
  }
  putQueue(queue: QueueState): void {
    this.put('queue', queue);
  }
  putTemplate(template: Template): void {
    this.put('template', template);
  }
  deleteProject(id: string): boolean {
    return this.delete('project', id);
  }
  deleteTask(id: string): boolean {
    return this.delete('task', id);
  }
  deleteSession(id: string): boolean {
    return this.delete('session', id);
  }
  deleteQueue(sessionId: string): boolean {
    return this.delete('queue', sessionId);
  }
  deleteTemplate(id: string): boolean {
    return this.delete('template', id);
  }

  emit<N extends EventName>(name: N, data: NoInfer<EmitPayload<N>>): void {
    // EmitPayload<N> is assignable to EventPayloads[N] (for a single name they are equal; for a union the
    // intersection is assignable to each member), which the type checker cannot see for a generic N.
    this.emitEvent({ name, data } as StoreEvent);
  }

  emitEvent(event: StoreEvent): void {
    this.assertOpen();
    this.events.push(event);
  }

  async flush(): Promise<void> {
    this.assertOpen();
    await this.pipeline.flush(this);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('This transaction is over: use tx only inside the mutate callback');
  }

  private put(kind: EntityKind, entity: AnyEntity): void {
    this.assertOpen();
    const id = entityKey(kind, entity);
    if (!usableId(id)) throw new UnsafeIdError(String(id));
    if (kind === 'task' && !usableId((entity as Task).projectId)) throw new UnsafeIdError(String((entity as Task).projectId));
    const prev = this.state.current(kind, id);
    if (prev === entity) {
      throw new Error(`put${kind}: ${id} is the stored object itself; pass a new object (stored objects are never changed in place)`);
    }
    this.touch(kind, id, prev);
    this.state.applyPut(kind, entity);
  }

  private delete(kind: EntityKind, id: string): boolean {
    this.assertOpen();
    if (!usableId(id)) return false;
    const prev = this.state.current(kind, id);
    if (prev === undefined) return false;
    this.touch(kind, id, prev);
    this.state.applyDelete(kind, id);
    return true;
  }

  /** Record that the entity changed; its first touch keeps `prev` as the before-image. */
  private touch(kind: EntityKind, id: string, prev: AnyEntity | undefined): void {
    const key = touchKey(kind, id);
    const t = this.touches.get(key);
    if (t !== undefined) {
      t.dirty = true;
      return;
    }
    this.touches.set(key, newTouch(kind, id, prev));
  }
}
