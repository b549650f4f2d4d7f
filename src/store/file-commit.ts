/**
 * Making a commit round durable, and undoing it (docs/behaviour.md §5.4, today's per-file protocol): the one
 * place that writes entity files. The commit pipeline (commit-pipeline.ts) decides *when* a round is written and
 * what a failure rolls back; a `RoundWriter` decides *how* a round reaches the disk. `FileRoundWriter` replaces
 * each touched file atomically (temp file, fsync, rename, through `StoreIO`) and fsyncs each folder once per
 * phase. The API 1.2 write-ahead log (§5.4) is another `RoundWriter`: it would append the same plan
 * (round-plan.ts) to the log, fsync it once, then replace the files without fsync; the pipeline, the state and
 * the transactions stay as they are.
 *
 * Always true of `FileRoundWriter`:
 * - when `write` resolves, every file of the plan is replaced (or removed) and its folder fsynced (a removal's
 *   folder fsync is best effort, §5.4); each touch's `onDisk` then holds what its file holds;
 * - when `write` rejects, `attempted`/`writtenPaths` on the touches say which files may have changed, and
 *   `onDisk`/`dirty` are unchanged;
 * - operations on one path run in the order they were started, whichever round started them (rounds overlap;
 *   a later round's write of a file never overtakes an earlier round's write or removal of it);
 * - a new folder (a project's first task) is created, and its parent fsynced, before a file is written in it.
 *
 * Who calls what: only the commit pipeline calls `write` (a round, or a `tx.flush()`) and `restore` (a failure).
 */
import { rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoreIO } from './io.js';
import type { StoreLogger } from './load.js';
import type { Layout } from './layout.js';
import type { AnyEntity, EntityKind } from './entities.js';
import { serializeEntity } from './entities.js';
import type { FileOp, RoundPlan } from './round-plan.js';
import { entityPath, markReached, planRound } from './round-plan.js';
import type { Touch } from './touch.js';

/**
 * The seam between the commit pipeline and the disk. Calls to `write` may overlap (up to the pipeline's
 * `maxRoundsInFlight`); a writer must apply them to each entity in the order they were made.
 */
export interface RoundWriter {
  /**
   * Make the current state of every touch durable (the state is read from memory when the call starts). On
   * success, mark each touch as written (`onDisk` = that state, `dirty` false). On failure, throw, leaving on
   * the touches the record of what may have changed (`attempted`, `writtenPaths`) for `restore`.
   */
  write(touches: readonly Touch[]): Promise<void>;
  /** Best effort, never throws: put back what `before` held for every touch a write attempted. */
  restore(touches: readonly Touch[]): Promise<void>;
}

/** What the writer reads of the in-memory state. */
export interface CommittedState {
  current(kind: EntityKind, id: string): AnyEntity | undefined;
  countTasksOfProject(projectId: string): number;
}

/** The per-file protocol of docs/behaviour.md §5.4: one atomic file replace per touched entity. */
export class FileRoundWriter implements RoundWriter {
  /** Directories known to exist (task folders are created on first write). */
  private readonly knownDirs = new Set<string>();
  /** The last file operation started on each path: operations on one path run in the order they were started. */
  private readonly pathTails = new Map<string, Promise<void>>();
  private readonly current: (kind: EntityKind, id: string) => AnyEntity | undefined;

  constructor(
    private readonly layout: Layout,
    private readonly io: StoreIO,
    private readonly state: CommittedState,
    private readonly logger: StoreLogger,
  ) {
    this.current = (kind, id) => state.current(kind, id);
    for (const dir of layout.allDirs()) this.knownDirs.add(dir);
  }

  /**
   * Carry out the round's plan (round-plan.ts): two phases, each written in parallel and closed by one fsync per
   * directory. Within a phase the order does not matter: whatever subset of files a crash leaves written, the
   * next load's link repair (§5.3) makes both sides of every task ⟷ session link agree again, and no mutation
   * was acknowledged before all its files were durable.
   */
  async write(touches: readonly Touch[]): Promise<void> {
    const plan = planRound(touches, this.current, this.layout);
    if (plan.first.length > 0) await this.runFileOps(plan.first);
    if (plan.second.length > 0) await this.runFileOps(plan.second);
    markReached(plan);
    await this.removeEmptyTaskDirs(plan);
  }

  /** Best effort: put back the files of `before` where a file operation was started. */
  async restore(touches: readonly Touch[]): Promise<void> {
    const ops: FileOp[] = [];
    for (const t of touches) {
      if (!t.attempted) continue;
      const keep = t.before === undefined ? undefined : entityPath(this.layout, t.kind, t.before);
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

  /** docs/behaviour.md §2.2 E5: remove the empty tasks/{id}/ folder of a deleted project, best effort. */
  private async removeEmptyTaskDirs(plan: RoundPlan): Promise<void> {
    for (const projectId of plan.deletedProjects) {
      if (this.state.countTasksOfProject(projectId) === 0) {
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
}
