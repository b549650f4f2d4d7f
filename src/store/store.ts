/**
 * The store (docs/behaviour.md §5, §0.8): the file-backed `DataStore`, the only writer of DATA_DIR. A facade over
 * four parts, each with one job (src/store/README.md has the map):
 *
 * - state.ts — the in-memory state of every entity, its indexes, the reads (synchronous map lookups);
 * - transaction.ts — the FIFO queue of mutation callbacks and the `Tx` handle (put/delete, stamp, events);
 * - commit-pipeline.ts — group commit rounds, acknowledgement in call order, failure and rollback;
 * - file-commit.ts — how a round reaches the disk (today the per-file protocol; later a write-ahead log).
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
 *
 * Who calls what: `Store.open` takes the DATA_DIR lock and loads; from then on the server and the handlers use
 * only the `DataStore` surface (api.ts); `close` waits for queued mutations and releases the lock.
 */
import { mkdir } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { newId } from '../ids.js';
import type { CommitListener, DataStore, StoreObserver, Tx } from './api.js';
import { CommitPipeline } from './commit-pipeline.js';
import { StoreStartupError } from './errors.js';
import { FileRoundWriter } from './file-commit.js';
import type { StoreIO } from './io.js';
import { createFileSystemIO } from './io.js';
import { Layout } from './layout.js';
import type { StoreLogger, LoadStats, LoadOptions } from './load.js';
import { loadDataDir } from './load.js';
import type { DataDirLock } from './lock.js';
import { acquireDataDirLock } from './lock.js';
import { ReadThrough, StoreState } from './state.js';
import { MutationQueue } from './transaction.js';

export type { StoreLogger, LoadStats } from './load.js';
export type { CommitListener, DataStore, EmitPayload, SessionFilter, StoreEvent, StoreObserver, StoreReader, TaskFilter, Tx } from './api.js';

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
  /**
   * Told about commit rounds and fsync durations (src/metrics/ wires it to Prometheus). The fsyncs are timed only
   * with the default `io`: an injected one times its own.
   */
  observer?: StoreObserver;
  /** Passed to the startup load (load.ts `onProgress`): progress reports; throwing abandons the open. */
  onLoadProgress?: LoadOptions['onProgress'];
}

const NOOP_LOGGER: StoreLogger = { warn: () => undefined, info: () => undefined };

/** The file store. Create with `Store.open`, release with `close`. */
export class Store extends ReadThrough implements DataStore {
  private closed = false;

  private constructor(
    readonly layout: Layout,
    private readonly lock: DataDirLock,
    state: StoreState,
    private readonly pipeline: CommitPipeline,
    private readonly mutations: MutationQueue,
    private readonly clock: Clock,
    /** What the startup load did (quarantined files, migrations, link repairs…). */
    readonly loadStats: LoadStats,
  ) {
    super(state);
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
    const io = options.io ?? createFileSystemIO(options.observer?.fsync?.bind(options.observer));
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
      const state = new StoreState(data.skippedSessionIds);
      for (const p of data.projects.values()) state.applyPut('project', p);
      for (const t of data.tasks.values()) state.applyPut('task', t);
      for (const s of data.sessions.values()) state.applyPut('session', s);
      for (const q of data.queues.values()) state.applyPut('queue', q);
      for (const t of data.templates.values()) state.applyPut('template', t);
      const writer = new FileRoundWriter(layout, io, state, logger);
      const pipeline = new CommitPipeline(writer, state, logger, options.onCommit, options.maxRoundsInFlight, options.observer);
      const mutations = new MutationQueue(state, pipeline, clock);
      return new Store(layout, lock, state, pipeline, mutations, clock, data.stats);
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
    this.pipeline.setCommitListener(listener);
  }

  /** Wait for queued mutations, then release the lock. Further mutations are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.mutations.close();
    await this.pipeline.settled();
    this.closed = true;
    await this.lock.release();
  }

  /**
   * A generated session id (docs/behaviour.md §0.1) chosen outside a mutation, from the store's clock: free at the time of
   * the call and not rejected by `taken`. Nothing reserves it, so a caller that uses it later in a mutation must
   * check `tx.isSessionIdTaken` there again (spawn does: it writes the manifest first, then mutates).
   */
  newSessionId(taken?: (id: string) => boolean): string {
    return newId('sess', (id) => this.isSessionIdTaken(id) || (taken?.(id) ?? false), this.clock.now());
  }

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
  mutate<T>(fn: (tx: Tx) => T | Promise<T>): Promise<T> {
    return this.mutations.mutate(fn);
  }

  /** @internal Index contents, for consistency checks in tests. */
  debugIndexes(): Record<string, Map<unknown, Set<string>>> {
    return this.state.debugIndexes();
  }
}
