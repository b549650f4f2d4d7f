/**
 * The store (docs/behaviour.md §5, §0.8): the in-memory state of every entity plus its indexes, the only writer of
 * DATA_DIR. Reads are synchronous map lookups; every change goes through `mutate`.
 *
 * Durability promise (docs/behaviour.md §5.4): when `mutate` resolves, every file the mutation touched has been
 * replaced atomically (temp file, fsync, rename) and its directory fsynced; only then are the mutation's
 * events handed to `onCommit`. When it rejects, memory is as it was before the call and no event was
 * delivered.
 *
 * Concurrency: mutation callbacks run one at a time, in call order (a FIFO queue). A mutation applies its
 * changes to the live maps as it goes (so the handler, and anything it calls, reads its own writes). Group
 * commit: a finished mutation joins the next commit round and the next callback starts at once; a round writes
 * the net changes of all its mutations with one fsync per folder. Up to `maxRoundsInFlight` rounds write at the
 * same time (operations on one file stay in call order), and mutations are acknowledged strictly in call order,
 * each only after its own round and every earlier round are durable. So a reader (or a later callback) may see
 * applied state before it is durable; if a round then fails, that round and every mutation applied after it are
 * rolled back (memory and files) and rejected with 500. Nobody who waited for an acknowledgement can observe
 * this. Handlers should do their slow awaits before their first `tx.put…`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir, rmdir } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { ContractError } from '../contract-error.js';
import type { IdPrefix } from '../ids.js';
import { isUnsafeId, newId } from '../ids.js';
import type { AnyEntity, EntityByKind, EntityKind, Project, QueueState, Session, Task, Template } from './entities.js';
import { SessionStatusGroups } from '../../generated/model/index.js';
import { entityKey, serializeEntity } from './entities.js';
import { StoreStartupError } from './errors.js';
import { MultiIndex, PairIndex } from './indexes.js';
import type { StoreIO } from './io.js';
import { fileSystemIO } from './io.js';
import { Layout, UnsafeIdError } from './layout.js';
import type { StoreLogger, LoadStats, LoadOptions } from './load.js';
import { loadDataDir } from './load.js';
import type { DataDirLock } from './lock.js';
import { acquireDataDirLock } from './lock.js';
import type { EventName, EventPayloads } from '../../generated/events/index.js';

export type { StoreLogger, LoadStats } from './load.js';

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

export interface StoreOpenOptions {
  dataDir: string;
  logger?: StoreLogger;
  clock?: Clock;
  onCommit?: CommitListener;
  /** Filesystem access for entity files; tests inject failures here. */
  io?: StoreIO;
  /** Values for the §5.3 session hostname/platform defaults (default: this machine). */
  hostname?: string;
  platform?: string;
  /** Commit rounds allowed to write at the same time (default 3; 1 = each round waits for the previous one). */
  maxRoundsInFlight?: number;
  /** Passed to the startup load (load.ts `onProgress`): progress reports; throwing abandons the open. */
  onLoadProgress?: LoadOptions['onProgress'];
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

/** Per entity touched by a mutation: what to restore and what is on disk. */
interface Touch {
  kind: EntityKind;
  id: string;
  /** The state before the mutation (undefined: did not exist). */
  before: AnyEntity | undefined;
  /** The state the file holds after the last successful flush (initially `before`). */
  onDisk: AnyEntity | undefined;
  /** Changed since the last flush. */
  dirty: boolean;
  /** A file operation was started for it (so a rollback must restore its files). */
  attempted: boolean;
  /** Paths written for it during the mutation. */
  writtenPaths: Set<string>;
}

/** A mutation whose callback has finished, waiting for its commit round (group commit). */
interface Applied {
  tx: TxImpl;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** One commit round: the net changes of the mutations that were waiting when it started. */
interface Round {
  applied: Applied[];
  /** Merged touches (one per entity); `attempted`/`writtenPaths` record what the round's file operations did. */
  touches: Touch[];
  /** Settles (never rejects) when the round's file operations are over, after `done`/`error` are set. */
  written: Promise<void>;
  done: boolean;
  error: unknown;
}

/**
 * How many commit rounds may be writing at once. A round's latency is mostly waiting for the disk (file fsyncs,
 * then one fsync per folder); letting the next round write while the previous one syncs keeps the disk busy the
 * way a server that syncs every request on its own does, while still syncing each folder once per round.
 */
const DEFAULT_MAX_ROUNDS_IN_FLIGHT = 3;

interface FileOp {
  op: 'write' | 'remove';
  path: string;
  text?: string;
  touch?: Touch;
}

const mutationScope = new AsyncLocalStorage<TxImpl>();
const NOOP_LOGGER: StoreLogger = { warn: () => undefined, info: () => undefined };

function compareCreated(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function compareStarted(a: Session, b: Session): number {
  return a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The stamp field an entity's stamp rule reads: `lastActivity` for a session, `updatedAt` otherwise. */
function stampOf(kind: EntityKind, entity: AnyEntity): number {
  return kind === 'session' ? (entity as Session).lastActivity : (entity as Project).updatedAt;
}

function usableId(id: unknown): id is string {
  return typeof id === 'string' && !isUnsafeId(id);
}

/** The file store. Create with `Store.open`, release with `close`. */
export class Store implements StoreReader {
  private readonly projects = new Map<string, Project>();
  private readonly tasks = new Map<string, Task>();
  private readonly sessions = new Map<string, Session>();
  private readonly queues = new Map<string, QueueState>();
  private readonly templates = new Map<string, Template>();
  private readonly maps: { [K in EntityKind]: Map<string, EntityByKind[K]> };

  private readonly tasksByProject = new MultiIndex<string>();
  private readonly tasksByParent = new MultiIndex<string | null>();
  private readonly tasksByStatus = new MultiIndex<string>();
  /** projectId + status (the common E6 filter): its set is exactly the result, whatever the project's size. */
  private readonly tasksByProjectStatus = new PairIndex<string, string>();
  private readonly sessionsByProject = new MultiIndex<string>();
  private readonly sessionsByTask = new MultiIndex<string>();
  private readonly sessionsByStatus = new MultiIndex<string>();
  private readonly sortedCache: Partial<Record<'project' | 'task' | 'session' | 'template', AnyEntity[]>> = {};

  /** Directories known to exist (task folders are created on first write). */
  private readonly knownDirs = new Set<string>();
  private tail: Promise<unknown> = Promise.resolve();
  private activeTx: TxImpl | undefined;
  /** Applied mutations waiting for the next commit round, in call order. */
  private batch: Applied[] = [];
  /** Commit rounds started and not yet acknowledged, oldest first. */
  private inFlight: Round[] = [];
  /** The last file operation started on each path: operations on one path run in the order they were started. */
  private readonly pathTails = new Map<string, Promise<void>>();
  /** Set while a failed round's files (and those of the rounds after it) are being restored. */
  private failing: Promise<void> | undefined;
  /** Rounds failed: they and every mutation applied after them are undone once no callback runs. */
  private failure: { error: ContractError; round: Applied[] } | undefined;
  private maxRoundsInFlight = DEFAULT_MAX_ROUNDS_IN_FLIGHT;
  private closing = false;
  private closed = false;
  private commitListener: CommitListener | undefined;

  private constructor(
    readonly layout: Layout,
    private readonly lock: DataDirLock,
    private readonly io: StoreIO,
    private readonly logger: StoreLogger,
    private readonly clock: Clock,
    private readonly skippedSessionIds: Set<string>,
    /** What the startup load did (quarantined files, migrations, link repairs…). */
    readonly loadStats: LoadStats,
  ) {
    this.maps = {
      project: this.projects,
      task: this.tasks,
      session: this.sessions,
      queue: this.queues,
      template: this.templates,
    };
    for (const dir of layout.allDirs()) this.knownDirs.add(dir);
  }

  /**
   * Take the DATA_DIR lock and load it (docs/behaviour.md §5.2–§5.5). Throws StoreStartupError (CONFIG_ERROR) when the
   * folders cannot be created or another live server holds the lock.
   */
  static async open(options: StoreOpenOptions): Promise<Store> {
    const dataDir = resolve(options.dataDir);
    const layout = new Layout(dataDir);
    const logger = options.logger ?? NOOP_LOGGER;
    const clock = options.clock ?? systemClock;
    const io = options.io ?? fileSystemIO;
    try {
      await mkdir(dataDir, { recursive: true });
    } catch (err) {
      throw new StoreStartupError(`Cannot create DATA_DIR ${dataDir}: ${(err as Error).message}`, { cause: err });
    }
    const lock = await acquireDataDirLock(dataDir, layout.lockFile);
    if (lock.tookOver) logger.warn(`Took over a stale DATA_DIR lock: ${lock.tookOver.reason}`, { ...lock.tookOver });
    try {
      const data = await loadDataDir({
        layout,
        io,
        logger,
        loadTime: clock.now(),
        hostname: options.hostname ?? osHostname(),
        platform: options.platform ?? process.platform,
        onProgress: options.onLoadProgress,
      });
      const store = new Store(layout, lock, io, logger, clock, data.skippedSessionIds, data.stats);
      for (const p of data.projects.values()) store.applyPut('project', p);
      for (const t of data.tasks.values()) store.applyPut('task', t);
      for (const s of data.sessions.values()) store.applyPut('session', s);
      for (const q of data.queues.values()) store.applyPut('queue', q);
      for (const t of data.templates.values()) store.applyPut('template', t);
      store.commitListener = options.onCommit;
      if (options.maxRoundsInFlight !== undefined) store.maxRoundsInFlight = Math.max(1, Math.floor(options.maxRoundsInFlight));
      return store;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** The absolute DATA_DIR. */
  get dataDir(): string {
    return this.layout.dataDir;
  }

  /** Files the last startup load moved to quarantine (docs/behaviour.md §1.12 `storage.quarantined`). */
  get quarantinedCount(): number {
    return this.loadStats.quarantined;
  }

  /** Set (or replace) the listener that receives committed events (the WebSocket hub). */
  setCommitListener(listener: CommitListener | undefined): void {
    this.commitListener = listener;
  }

  /** Wait for queued mutations, then release the lock. Further mutations are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    await this.tail.catch(() => undefined);
    await this.settled();
    this.closed = true;
    await this.lock.release();
  }

  // ---- reads -------------------------------------------------------------------------------------------

  getProject(id: string): Project | undefined {
    return usableId(id) ? this.projects.get(id) : undefined;
  }

  getTask(id: string): Task | undefined {
    return usableId(id) ? this.tasks.get(id) : undefined;
  }

  getSession(id: string): Session | undefined {
    return usableId(id) ? this.sessions.get(id) : undefined;
  }

  getQueue(sessionId: string): QueueState | undefined {
    return usableId(sessionId) ? this.queues.get(sessionId) : undefined;
  }

  getTemplate(id: string): Template | undefined {
    return usableId(id) ? this.templates.get(id) : undefined;
  }

  listProjects(): Project[] {
    return this.sorted('project', compareCreated).slice() as Project[];
  }

  listTemplates(filter: { role?: string } = {}): Template[] {
    const all = this.sorted('template', compareCreated) as Template[];
    return filter.role === undefined ? all.slice() : all.filter((t) => t.role === filter.role);
  }

  listTasks(filter: TaskFilter = {}): Task[] {
    const { projectId, status, parentId } = filter;
    if (projectId === undefined && status === undefined && parentId === undefined) {
      return this.sorted('task', compareCreated).slice() as Task[];
    }
    const candidates: ReadonlySet<string>[] = [];
    if (projectId !== undefined && status !== undefined) candidates.push(this.tasksByProjectStatus.get(projectId, status));
    else if (projectId !== undefined) candidates.push(this.tasksByProject.get(projectId));
    else if (status !== undefined) candidates.push(this.tasksByStatus.get(status));
    if (parentId !== undefined) candidates.push(this.tasksByParent.get(parentId));
    const smallest = candidates.reduce((a, b) => (b.size < a.size ? b : a));
    const out: Task[] = [];
    for (const id of smallest) {
      const t = this.tasks.get(id)!;
      if (projectId !== undefined && t.projectId !== projectId) continue;
      if (status !== undefined && t.status !== status) continue;
      if (parentId !== undefined && t.parentId !== parentId) continue;
      out.push(t);
    }
    return out.sort(compareCreated);
  }

  listChildren(taskId: string): Task[] {
    return this.listTasks({ parentId: taskId });
  }

  listSessions(filter: SessionFilter = {}): Session[] {
    const { projectId, taskId, status } = filter;
    const active = filter.active === true;
    if (projectId === undefined && taskId === undefined && status === undefined && !active) {
      return this.sorted('session', compareStarted).slice() as Session[];
    }
    const candidates: { size: number; ids: Iterable<string> }[] = [];
    const add = (set: ReadonlySet<string>) => candidates.push({ size: set.size, ids: set });
    if (projectId !== undefined) add(this.sessionsByProject.get(projectId));
    if (taskId !== undefined) add(this.sessionsByTask.get(taskId));
    if (status !== undefined) add(this.sessionsByStatus.get(status));
    if (active) {
      const sets = SessionStatusGroups.active.map((s) => this.sessionsByStatus.get(s));
      candidates.push({
        size: sets.reduce((n, s) => n + s.size, 0),
        ids: (function* () {
          for (const s of sets) yield* s;
        })(),
      });
    }
    const smallest = candidates.reduce((a, b) => (b.size < a.size ? b : a));
    const terminal: readonly string[] = SessionStatusGroups.terminal;
    const out: Session[] = [];
    for (const id of smallest.ids) {
      const s = this.sessions.get(id)!;
      if (projectId !== undefined && s.projectId !== projectId) continue;
      if (taskId !== undefined && !s.taskIds.includes(taskId)) continue;
      if (status !== undefined && s.status !== status) continue;
      if (active && terminal.includes(s.status)) continue;
      out.push(s);
    }
    return out.sort(compareStarted);
  }

  countTasksOfProject(projectId: string): number {
    return this.tasksByProject.size(projectId);
  }

  countSessionsOfProject(projectId: string): number {
    return this.sessionsByProject.size(projectId);
  }

  isSessionIdTaken(id: string): boolean {
    return this.sessions.has(id) || this.skippedSessionIds.has(id);
  }

  /**
   * A generated session id (docs/behaviour.md §0.1) chosen outside a mutation, from the store's clock: free at the time of
   * the call and not rejected by `taken`. Nothing reserves it, so a caller that uses it later in a mutation must
   * check `tx.isSessionIdTaken` there again (spawn does: it writes the manifest first, then mutates).
   */
  newSessionId(taken?: (id: string) => boolean): string {
    return newId('sess', (id) => this.isSessionIdTaken(id) || (taken?.(id) ?? false), this.clock.now());
  }

  // ---- mutations ---------------------------------------------------------------------------------------

  /**
   * Run `fn` as one serialised, atomic, durable mutation (docs/behaviour.md §0.8, §5.4): apply in memory → write every
   * touched file durably → deliver the events to onCommit → resolve with fn's result. If fn throws, its
   * changes are undone and the error is rethrown. If a write fails, every touched entity is restored (memory,
   * and best effort the files already written), nothing is delivered, and 500 INTERNAL_ERROR is thrown.
   * Not re-entrant: calling `mutate` from inside `fn` rejects.
   *
   * Group commit: callbacks still run one at a time in call order, but the next callback may run while the
   * files of the previous ones are being written. A finished mutation starts a commit round at once if fewer than
   * `maxRoundsInFlight` rounds are writing; otherwise it waits, and the mutations that finish meanwhile are
   * written together in one round (one file write per touched entity, one fsync per folder). Each is
   * acknowledged — events delivered in call order, promise resolved — only after its round and every earlier
   * round are durable. If a round fails, it and every mutation applied after it (they saw its state) are undone
   * and rejected with 500.
   */
  async mutate<T>(fn: (tx: Tx) => T | Promise<T>): Promise<T> {
    if (this.closing) throw new Error('Store is closed');
    const scope = mutationScope.getStore();
    if (scope !== undefined && scope === this.activeTx) {
      throw new Error('Store.mutate called inside a mutation of the same store (it would wait for itself)');
    }
    const applied = this.tail.then(() => this.applyMutation(fn));
    this.tail = applied.catch(() => undefined);
    const { result, durable } = await applied;
    await durable;
    return result;
  }

  /** Runs the callback; on success the mutation joins the next commit round (`durable` settles with it). */
  private async applyMutation<T>(fn: (tx: Tx) => T | Promise<T>): Promise<{ result: T; durable: Promise<void> }> {
    if (this.failure !== undefined) this.undoFailedRound();
    const tx = new TxImpl(this, this.clock.now());
    this.activeTx = tx;
    try {
      let result: T;
      try {
        result = await mutationScope.run(tx, () => fn(tx));
      } catch (err) {
        tx.closed = true;
        await this.rollback(tx);
        throw err;
      }
      tx.closed = true;
      const durable = new Promise<void>((resolve, reject) => this.batch.push({ tx, resolve, reject }));
      durable.catch(() => undefined); // handled by mutate; this only keeps an early rejection from being "unhandled"
      this.startRound();
      return { result, durable };
    } finally {
      this.activeTx = undefined;
      if (this.failure !== undefined) this.undoFailedRound();
    }
  }

  /**
   * Start a commit round with every waiting mutation, unless the maximum number of rounds is already writing
   * (then the mutations wait and join the round that starts when one finishes) or a failure is being handled.
   */
  private startRound(): void {
    if (this.batch.length === 0 || this.failing !== undefined || this.failure !== undefined) return;
    if (this.inFlight.length >= this.maxRoundsInFlight) return;
    const applied = this.batch.splice(0);
    const round: Round = { applied, touches: mergeTouches(applied.map((a) => a.tx.allTouches())), written: undefined!, done: false, error: undefined };
    round.written = this.commitChanges(round.touches).then(
      () => {
        round.done = true;
      },
      (err: unknown) => {
        round.done = true;
        round.error = err ?? new Error('write failed');
      },
    );
    this.inFlight.push(round);
    void round.written.then(() => this.settleRounds());
  }

  /**
   * Acknowledge finished rounds strictly in start order (a round that finishes early waits for the ones before
   * it), then start the next round. The first failed round starts the failure path.
   */
  private settleRounds(): void {
    if (this.failing !== undefined) return;
    while (this.inFlight.length > 0 && this.inFlight[0]!.done) {
      const round = this.inFlight[0]!;
      if (round.error !== undefined) {
        this.failing = this.failRounds(round.error);
        return;
      }
      this.inFlight.shift();
      for (const a of round.applied) {
        if (a.tx.events.length > 0) this.deliver(a.tx.events);
        a.resolve();
      }
    }
    this.startRound();
  }

  /**
   * The oldest unacknowledged round failed. The rounds started after it were applied on top of its state, so they
   * fail with it: once their file operations are over, the files of all of them are restored to the state before
   * the failed round, and their mutations (and those applied since) are undone in memory and rejected.
   */
  private async failRounds(err: unknown): Promise<void> {
    const error = this.writeFailure(err);
    await Promise.all(this.inFlight.map((r) => r.written));
    const rounds = this.inFlight.splice(0);
    await this.restoreFiles(mergeTouches(rounds.map((r) => r.touches)));
    this.failure = { error, round: rounds.flatMap((r) => r.applied) };
    this.failing = undefined;
    // With a callback running, its own end (or the next mutation's start) undoes the rounds: memory must be
    // restored newest first, and the running callback is the newest.
    if (this.activeTx === undefined) this.undoFailedRound();
  }

  /** Undo the failed rounds and every mutation applied after them (newest first), and reject them all. */
  private undoFailedRound(): void {
    const failure = this.failure;
    if (failure === undefined) return;
    this.failure = undefined;
    const followers = this.batch.splice(0);
    const all = [...failure.round, ...followers];
    for (let i = all.length - 1; i >= 0; i--) this.restoreMemory(all[i]!.tx);
    for (const a of all) a.reject(failure.error);
  }

  /** Resolves once every applied mutation is durable (or failed) and no commit round runs. */
  private async settled(): Promise<void> {
    for (;;) {
      if (this.failing !== undefined) await this.failing;
      else if (this.inFlight.length > 0) await this.inFlight[0]!.written;
      else return;
    }
  }

  /** @internal `tx.flush()`: everything applied before this mutation is made durable first. */
  async flushTx(tx: TxImpl): Promise<void> {
    await this.settled();
    if (this.failure !== undefined) throw this.failure.error;
    try {
      await this.commitChanges(tx.dirtyTouches());
    } catch (err) {
      throw this.writeFailure(err);
    }
  }

  private writeFailure(err: unknown): ContractError {
    if (err instanceof ContractError) return err;
    const message = `Failed to write data: ${(err as Error)?.message ?? String(err)}`;
    this.logger.warn(message, { error: (err as Error)?.message });
    return new ContractError(500, 'INTERNAL_ERROR', message);
  }

  private deliver(events: readonly StoreEvent[]): void {
    if (this.commitListener === undefined) return;
    try {
      this.commitListener(events);
    } catch (err) {
      // The data is durable; a failing listener must not turn an acknowledged change into an error.
      this.logger.warn(`Event listener failed: ${(err as Error).message}`);
    }
  }

  /** @internal put through a transaction. */
  putTx(tx: TxImpl, kind: EntityKind, entity: AnyEntity): void {
    tx.assertOpen();
    const id = entityKey(kind, entity);
    if (!usableId(id)) throw new UnsafeIdError(String(id));
    if (kind === 'task' && !usableId((entity as Task).projectId)) throw new UnsafeIdError(String((entity as Task).projectId));
    const map = this.maps[kind] as Map<string, AnyEntity>;
    const prev = map.get(id);
    if (prev === entity) {
      throw new Error(`put${kind}: ${id} is the stored object itself; pass a new object (stored objects are never changed in place)`);
    }
    tx.touch(kind, id, prev);
    this.applyPut(kind, entity);
  }

  /** @internal delete through a transaction. */
  deleteTx(tx: TxImpl, kind: EntityKind, id: string): boolean {
    tx.assertOpen();
    if (!usableId(id)) return false;
    const map = this.maps[kind] as Map<string, AnyEntity>;
    const prev = map.get(id);
    if (prev === undefined) return false;
    tx.touch(kind, id, prev);
    this.applyDelete(kind, id);
    return true;
  }

  /** @internal */
  current(kind: EntityKind, id: string): AnyEntity | undefined {
    return (this.maps[kind] as Map<string, AnyEntity>).get(id);
  }

  // ---- in-memory state and indexes ---------------------------------------------------------------------

  private applyPut(kind: EntityKind, entity: AnyEntity): void {
    const id = entityKey(kind, entity);
    const map = this.maps[kind] as Map<string, AnyEntity>;
    const prev = map.get(id);
    if (kind === 'task') {
      if (prev !== undefined) this.unindexTask(prev as Task);
      this.indexTask(entity as Task);
    } else if (kind === 'session') {
      if (prev !== undefined) this.unindexSession(prev as Session);
      this.indexSession(entity as Session);
    }
    map.set(id, entity);
    if (kind !== 'queue') delete this.sortedCache[kind];
  }

  private applyDelete(kind: EntityKind, id: string): void {
    const map = this.maps[kind] as Map<string, AnyEntity>;
    const prev = map.get(id);
    if (prev === undefined) return;
    if (kind === 'task') this.unindexTask(prev as Task);
    else if (kind === 'session') this.unindexSession(prev as Session);
    map.delete(id);
    if (kind !== 'queue') delete this.sortedCache[kind];
  }

  private indexTask(t: Task): void {
    this.tasksByProject.add(t.projectId, t.id);
    this.tasksByParent.add(t.parentId ?? null, t.id);
    this.tasksByStatus.add(t.status, t.id);
    this.tasksByProjectStatus.add(t.projectId, t.status, t.id);
  }

  private unindexTask(t: Task): void {
    this.tasksByProject.remove(t.projectId, t.id);
    this.tasksByParent.remove(t.parentId ?? null, t.id);
    this.tasksByStatus.remove(t.status, t.id);
    this.tasksByProjectStatus.remove(t.projectId, t.status, t.id);
  }

  private indexSession(s: Session): void {
    this.sessionsByProject.add(s.projectId, s.id);
    this.sessionsByStatus.add(s.status, s.id);
    for (const tid of s.taskIds) this.sessionsByTask.add(tid, s.id);
  }

  private unindexSession(s: Session): void {
    this.sessionsByProject.remove(s.projectId, s.id);
    this.sessionsByStatus.remove(s.status, s.id);
    for (const tid of s.taskIds) this.sessionsByTask.remove(tid, s.id);
  }

  private sorted(kind: 'project' | 'task' | 'session' | 'template', compare: (a: never, b: never) => number): AnyEntity[] {
    let list = this.sortedCache[kind];
    if (list === undefined) {
      list = [...(this.maps[kind] as Map<string, AnyEntity>).values()].sort(compare as (a: AnyEntity, b: AnyEntity) => number);
      this.sortedCache[kind] = list;
    }
    return list;
  }

  /** @internal Index contents, for consistency checks in tests. */
  debugIndexes(): Record<string, Map<unknown, Set<string>>> {
    const dump = (index: { entries(): Iterable<[unknown, Set<string>]> }) => new Map([...index.entries()].map(([k, v]) => [k, new Set(v)]));
    return {
      tasksByProject: dump(this.tasksByProject),
      tasksByParent: dump(this.tasksByParent),
      tasksByStatus: dump(this.tasksByStatus),
      tasksByProjectStatus: dump(this.tasksByProjectStatus),
      sessionsByProject: dump(this.sessionsByProject),
      sessionsByTask: dump(this.sessionsByTask),
      sessionsByStatus: dump(this.sessionsByStatus),
    };
  }

  // ---- persistence -------------------------------------------------------------------------------------

  private pathOf(kind: EntityKind, entity: AnyEntity): string {
    switch (kind) {
      case 'project':
        return this.layout.projectFile((entity as Project).id);
      case 'task':
        return this.layout.taskFile((entity as Task).projectId, (entity as Task).id);
      case 'session':
        return this.layout.sessionFile((entity as Session).id);
      case 'queue':
        return this.layout.queueFile((entity as QueueState).sessionId);
      case 'template':
        return this.layout.templateFile((entity as Template).id);
    }
  }

  /**
   * The commit step: make the current state of `touches` durable. This is the one place that writes entity
   * files; it runs once per commit round with the merged touches of the round's mutations (group commit).
   *
   * Two phases, each written in parallel and closed by one fsync per directory:
   *   A. every entity write except queues, and queue removals;
   *   B. queue writes, and every other removal (then, best effort, the empty task folder of a deleted project).
   * Why: a queue file is valid only while its session file exists (a queue without its session is quarantined
   * at load, §5.5), so a queue is written after its session and removed before it. Removals go last so that a
   * crash in the middle of a delete leaves the entity in place rather than references to a missing file.
   * Within a phase the order does not matter: whatever subset of files a crash leaves written, the next load's
   * link repair (§5.3) makes both sides of every task ⟷ session link agree again, and no mutation was
   * acknowledged before all its files were durable.
   */
  private async commitChanges(touches: Touch[]): Promise<void> {
    const phaseA: FileOp[] = [];
    const phaseB: FileOp[] = [];
    const deletedProjects: string[] = [];
    const done: { touch: Touch; state: AnyEntity | undefined }[] = [];
    for (const touch of touches) {
      const now = this.current(touch.kind, touch.id);
      done.push({ touch, state: now });
      if (now === touch.onDisk) continue;
      const oldPath = touch.onDisk === undefined ? undefined : this.pathOf(touch.kind, touch.onDisk);
      if (now !== undefined) {
        const path = this.pathOf(touch.kind, now);
        (touch.kind === 'queue' ? phaseB : phaseA).push({ op: 'write', path, text: serializeEntity(now), touch });
        if (oldPath !== undefined && oldPath !== path) phaseB.push({ op: 'remove', path: oldPath, touch });
      } else if (oldPath !== undefined) {
        (touch.kind === 'queue' ? phaseA : phaseB).push({ op: 'remove', path: oldPath, touch });
        if (touch.kind === 'project') deletedProjects.push(touch.id);
      }
    }
    if (phaseA.length > 0) await this.runFileOps(phaseA);
    if (phaseB.length > 0) await this.runFileOps(phaseB);
    for (const { touch, state } of done) {
      touch.onDisk = state;
      touch.dirty = false;
    }
    // docs/behaviour.md §2.2 E5: remove an empty tasks/{id}/ folder, best effort.
    for (const projectId of deletedProjects) {
      if (this.tasksByProject.size(projectId) === 0) {
        const dir = this.layout.taskDir(projectId);
        await rmdir(dir).then(
          () => this.knownDirs.delete(dir),
          () => undefined,
        );
      }
    }
  }

  /**
   * Run file operations in parallel and fsync each directory once, as soon as its own operations are done (a
   * folder does not wait for the slowest file of another folder). Throws the first error.
   */
  private async runFileOps(ops: FileOp[]): Promise<void> {
    let firstError: unknown;
    const fail = (err: unknown) => {
      if (firstError === undefined) firstError = err;
    };

    // Task folders appear with their first task; a new folder's entry lives in its parent directory, which is
    // fsynced once the new folders exist.
    const newDirs = new Set<string>();
    for (const op of ops) if (op.op === 'write' && !this.knownDirs.has(dirname(op.path))) newDirs.add(dirname(op.path));
    const newDirParents = new Set<string>();
    await Promise.all(
      [...newDirs].map(async (dir) => {
        try {
          if (await this.io.ensureDir(dir)) newDirParents.add(dirname(dir));
          this.knownDirs.add(dir);
        } catch (err) {
          fail(err);
        }
      }),
    );
    if (firstError !== undefined) throw firstError;

    const byDir = new Map<string, FileOp[]>();
    for (const op of ops) {
      const dir = dirname(op.path);
      const list = byDir.get(dir);
      if (list === undefined) byDir.set(dir, [op]);
      else list.push(op);
    }
    await Promise.all([
      ...[...newDirParents].map((dir) => this.io.syncDir(dir).catch(fail)),
      ...[...byDir].map(async ([dir, dirOps]) => {
        let wrote = false;
        let removed = false;
        await Promise.all(
          dirOps.map(async (op) => {
            if (op.touch !== undefined) {
              op.touch.attempted = true;
              if (op.op === 'write') op.touch.writtenPaths.add(op.path);
            }
            try {
              if (op.op === 'write') {
                await this.onPath(op.path, () => this.io.writeFile(op.path, op.text!));
                wrote = true;
              } else {
                await this.onPath(op.path, () => this.io.removeFile(op.path));
                removed = true;
              }
            } catch (err) {
              fail(err);
            }
          }),
        );
        if (wrote) await this.io.syncDir(dir).catch(fail);
        // docs/behaviour.md §5.4: after a delete the directory fsync is best effort.
        else if (removed) await this.io.syncDir(dir).catch(() => undefined);
      }),
    ]);
    if (firstError !== undefined) throw firstError;
  }

  /**
   * Run a file operation after every operation started earlier on the same path (rounds overlap, so a later
   * round's write of a file must not overtake an earlier round's write or removal of it).
   */
  private onPath(path: string, run: () => Promise<void>): Promise<void> {
    const previous = this.pathTails.get(path);
    const result = previous === undefined ? run() : previous.then(run);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.pathTails.set(path, tail);
    void tail.then(() => {
      if (this.pathTails.get(path) === tail) this.pathTails.delete(path);
    });
    return result;
  }

  /** Undo a transaction whose callback threw: memory from the before-images; files where a flush wrote them. */
  private async rollback(tx: TxImpl): Promise<void> {
    this.restoreMemory(tx);
    await this.restoreFiles(tx.allTouches());
  }

  /** Restore every entity the transaction touched to its state before the transaction. */
  private restoreMemory(tx: TxImpl): void {
    for (const t of tx.allTouches()) {
      if (t.before !== undefined) this.applyPut(t.kind, t.before);
      else this.applyDelete(t.kind, t.id);
    }
  }

  /** Best effort: put back the files of `before` where a file operation was started. */
  private async restoreFiles(touches: Touch[]): Promise<void> {
    const ops: FileOp[] = [];
    for (const t of touches) {
      if (!t.attempted) continue;
      const keep = t.before === undefined ? undefined : this.pathOf(t.kind, t.before);
      if (t.before !== undefined) ops.push({ op: 'write', path: keep!, text: serializeEntity(t.before) });
      for (const path of t.writtenPaths) if (path !== keep) ops.push({ op: 'remove', path });
    }
    if (ops.length === 0) return;
    try {
      await this.runFileOps(ops);
    } catch (err) {
      this.logger.warn(`Could not restore the files of a failed mutation: ${(err as Error).message}; the next load repairs links`, {
        error: (err as Error).message,
      });
    }
  }
}

/**
 * Touches merged into one per entity, for one commit round (from its mutations' touches, in call order) or for
 * restoring the files of several failed rounds (from the rounds' touches, in start order). `before` and `onDisk`
 * come from the first list that touched the entity: the state before it, which a failure restores (memory and
 * files), and what its file holds. `attempted` and `writtenPaths` collect what any of the lists did on disk. The
 * state to write is always the current one in memory.
 */
function mergeTouches(lists: Iterable<Touch[]>): Touch[] {
  const merged = new Map<string, Touch>();
  for (const touches of lists) {
    for (const t of touches) {
      const key = `${t.kind}\u0000${t.id}`;
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

/** The transaction handle (see `Tx`). */
class TxImpl implements Tx {
  closed = false;
  readonly events: StoreEvent[] = [];
  private readonly touches = new Map<string, Touch>();
  /** `stamp` results of this mutation, by kind and id. */
  private readonly stamps = new Map<string, number>();

  constructor(
    private readonly store: Store,
    readonly now: number,
  ) {}

  assertOpen(): void {
    if (this.closed) throw new Error('This transaction is over: use tx only inside the mutate callback');
  }

  touch(kind: EntityKind, id: string, prev: AnyEntity | undefined): void {
    const key = `${kind}\u0000${id}`;
    const t = this.touches.get(key);
    if (t !== undefined) {
      t.dirty = true;
      return;
    }
    this.touches.set(key, { kind, id, before: prev, onDisk: prev, dirty: true, attempted: false, writtenPaths: new Set() });
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
    const key = `${kind}\u0000${id}`;
    let stamp = this.stamps.get(key);
    if (stamp === undefined) {
      const touched = this.touches.get(key);
      const before = touched !== undefined ? touched.before : this.store.current(kind, id);
      stamp = before === undefined ? this.now : this.bump(stampOf(kind, before));
      this.stamps.set(key, stamp);
    }
    return stamp;
  }

  newId(prefix: IdPrefix, taken?: (id: string) => boolean): string {
    const s = this.store;
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
    this.store.putTx(this, 'project', project);
  }
  putTask(task: Task): void {
    this.store.putTx(this, 'task', task);
  }
  putSession(session: Session): void {
    this.store.putTx(this, 'session', session);
  }
  putQueue(queue: QueueState): void {
    this.store.putTx(this, 'queue', queue);
  }
  putTemplate(template: Template): void {
    this.store.putTx(this, 'template', template);
  }
  deleteProject(id: string): boolean {
    return this.store.deleteTx(this, 'project', id);
  }
  deleteTask(id: string): boolean {
    return this.store.deleteTx(this, 'task', id);
  }
  deleteSession(id: string): boolean {
    return this.store.deleteTx(this, 'session', id);
  }
  deleteQueue(sessionId: string): boolean {
    return this.store.deleteTx(this, 'queue', sessionId);
  }
  deleteTemplate(id: string): boolean {
    return this.store.deleteTx(this, 'template', id);
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
    await this.store.flushTx(this);
  }

  getProject(id: string) {
    return this.store.getProject(id);
  }
  getTask(id: string) {
    return this.store.getTask(id);
  }
  getSession(id: string) {
    return this.store.getSession(id);
  }
  getQueue(sessionId: string) {
    return this.store.getQueue(sessionId);
  }
  getTemplate(id: string) {
    return this.store.getTemplate(id);
  }
  listProjects() {
    return this.store.listProjects();
  }
  listTasks(filter?: TaskFilter) {
    return this.store.listTasks(filter);
  }
  listChildren(taskId: string) {
    return this.store.listChildren(taskId);
  }
  listSessions(filter?: SessionFilter) {
    return this.store.listSessions(filter);
  }
  listTemplates(filter?: { role?: string }) {
    return this.store.listTemplates(filter);
  }
  countTasksOfProject(projectId: string) {
    return this.store.countTasksOfProject(projectId);
  }
  countSessionsOfProject(projectId: string) {
    return this.store.countSessionsOfProject(projectId);
  }
  isSessionIdTaken(id: string) {
    return this.store.isSessionIdTaken(id);
  }
}
