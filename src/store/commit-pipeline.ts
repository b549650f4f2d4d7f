/**
 * The commit pipeline (docs/behaviour.md §0.8, §5.4): from "callback finished" to "acknowledged" or "rejected".
 * Group commit: a finished mutation joins the next commit round, and a round writes the net changes of all its
 * mutations at once (through a `RoundWriter`, file-commit.ts). Up to `maxRoundsInFlight` rounds write at the same
 * time, so the next round's files are written while the previous round waits for its fsyncs.
 *
 * Always true:
 * - mutations are acknowledged strictly in call order — events to the commit listener, then the promise
 *   resolves — each only after its own round and every earlier round are durable (a round that finishes early
 *   waits for the rounds before it);
 * - nothing is delivered for a mutation that is not durable;
 * - a failed round fails every round started after it (they were applied on top of its state): once their file
 *   operations are over, their files are restored to the state before the failed round; then those mutations,
 *   and every mutation applied since, are undone in memory newest first — only while no callback runs, since
 *   the running callback is the newest — and rejected with 500 `INTERNAL_ERROR`;
 * - no round starts while a failure is being handled.
 * So a reader (or a later callback) may see state that is applied but not yet durable; only requests that end
 * in 500 can have observed it, never anyone who waited for an acknowledgement.
 *
 * Who calls what: only the mutation queue (transaction.ts) calls `callbackStarting`/`callbackEnded` around each
 * callback, `join` after a callback succeeded, `discard` after it threw; a transaction calls `flush`; the store
 * facade calls `settled` (close) and `setCommitListener`.
 */
import { ContractError } from '../contract-error.js';
import type { CommitListener, StoreEvent, StoreObserver } from './api.js';
import type { RoundWriter } from './file-commit.js';
import type { StoreLogger } from './load.js';
import type { StoreState } from './state.js';
import type { Touch } from './touch.js';
import { mergeTouches } from './touch.js';

/**
 * How many commit rounds may be writing at once. A round's latency is mostly waiting for the disk (file fsyncs,
 * then one fsync per folder); letting the next round write while the previous one syncs keeps the disk busy the
 * way a server that syncs every request on its own does, while still syncing each folder once per round.
 */
export const DEFAULT_MAX_ROUNDS_IN_FLIGHT = 3;

/** What the pipeline needs of a mutation whose callback has finished. */
export interface FinishedMutation {
  /** Its events, in emit order. */
  readonly events: readonly StoreEvent[];
  /** Every entity it touched. */
  allTouches(): Touch[];
  /** The entities it changed since its last flush. */
  dirtyTouches(): Touch[];
}

/** A mutation whose callback has finished, waiting for its commit round (group commit). */
interface Applied {
  tx: FinishedMutation;
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

export class CommitPipeline {
  /** Applied mutations waiting for the next commit round, in call order. */
  private batch: Applied[] = [];
  /** Commit rounds started and not yet acknowledged, oldest first. */
  private inFlight: Round[] = [];
  /** Set while a failed round's files (and those of the rounds after it) are being restored. */
  private failing: Promise<void> | undefined;
  /** Rounds failed: they and every mutation applied after them are undone once no callback runs. */
  private failure: { error: ContractError; round: Applied[] } | undefined;
  private callbackRunning = false;
  private readonly maxRoundsInFlight: number;

  constructor(
    private readonly writer: RoundWriter,
    private readonly state: StoreState,
    private readonly logger: StoreLogger,
    private commitListener: CommitListener | undefined,
    maxRoundsInFlight: number = DEFAULT_MAX_ROUNDS_IN_FLIGHT,
    /** Told about every commit round (metrics); absent → no clock is read. */
    private readonly observer: StoreObserver | undefined = undefined,
  ) {
    this.maxRoundsInFlight = Math.max(1, Math.floor(maxRoundsInFlight));
  }

  /** Set (or replace) the listener that receives committed events. */
  setCommitListener(listener: CommitListener | undefined): void {
    this.commitListener = listener;
  }

  /** A callback is about to run: first undo failed rounds still waiting for a moment without a callback. */
  callbackStarting(): void {
    if (this.failure !== undefined) this.undoFailedRound();
    this.callbackRunning = true;
  }

  /** The callback is over (and, if it threw, discarded): undo failed rounds that waited for it. */
  callbackEnded(): void {
    this.callbackRunning = false;
    if (this.failure !== undefined) this.undoFailedRound();
  }

  /**
   * A callback finished: its mutation joins the next commit round. The promise resolves once the mutation is
   * acknowledged (after its events were delivered), or rejects with 500 if its round, or an earlier one, fails.
   */
  join(tx: FinishedMutation): Promise<void> {
    const durable = new Promise<void>((resolve, reject) => this.batch.push({ tx, resolve, reject }));
    durable.catch(() => undefined); // handled by mutate; this only keeps an early rejection from being "unhandled"
    this.startRound();
    return durable;
  }

  /** Undo a mutation whose callback threw: memory from the before-images; files where a flush wrote them. */
  async discard(tx: FinishedMutation): Promise<void> {
    this.state.restore(tx.allTouches());
    await this.writer.restore(tx.allTouches());
  }

  /** `tx.flush()`: everything applied before this mutation is made durable first, then its own changes. */
  async flush(tx: FinishedMutation): Promise<void> {
    await this.settled();
    if (this.failure !== undefined) throw this.failure.error;
    try {
      await this.writer.write(tx.dirtyTouches());
    } catch (err) {
      throw this.writeFailure(err);
    }
  }

  /** Resolves once every applied mutation is durable (or failed) and no commit round runs. */
  async settled(): Promise<void> {
    for (;;) {
      if (this.failing !== undefined) await this.failing;
      else if (this.inFlight.length > 0) await this.inFlight[0]!.written;
      else return;
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
    const observe = this.observer?.commitRound === undefined ? undefined : this.roundTimer(applied.length);
    round.written = this.writer.write(round.touches).then(
      () => {
        round.done = true;
        observe?.(true);
      },
      (err: unknown) => {
        round.done = true;
        round.error = err ?? new Error('write failed');
        observe?.(false);
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
    await this.writer.restore(mergeTouches(rounds.map((r) => r.touches)));
    this.failure = { error, round: rounds.flatMap((r) => r.applied) };
    this.failing = undefined;
    // With a callback running, its own end (or the next mutation's start) undoes the rounds: memory must be
    // restored newest first, and the running callback is the newest.
    if (!this.callbackRunning) this.undoFailedRound();
  }

  /** Undo the failed rounds and every mutation applied after them (newest first), and reject them all. */
  private undoFailedRound(): void {
    const failure = this.failure;
    if (failure === undefined) return;
    this.failure = undefined;
    const followers = this.batch.splice(0);
    const all = [...failure.round, ...followers];
    for (let i = all.length - 1; i >= 0; i--) this.state.restore(all[i]!.tx.allTouches());
    for (const a of all) a.reject(failure.error);
  }

  /** Starts timing a round of `mutations`; the returned function reports it to the observer once written. */
  private roundTimer(mutations: number): (ok: boolean) => void {
    const start = performance.now();
    return (ok) => {
      try {
        this.observer?.commitRound?.(mutations, (performance.now() - start) / 1000, ok);
      } catch {
        // an observer is told, never obeyed: its failure must not touch the commit
      }
    };
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
}
