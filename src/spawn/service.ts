/**
 * Session spawning as a service (docs/behaviour.md §8, E20): takes a SpawnOrder (§8.1, already normalised), owns
 * the whole protocol — lookups, session id, manifest folder and file, the store mutation, rollback — and answers
 * the 201 body of §8.7 or throws the ContractError of §8.2. The HTTP handler only maps the request to an order.
 *
 * Two phases, so that other writes never wait for the manifest (server mode: file I/O; cli mode: the CLI, up to
 * 30 s): the manifest is generated OUTSIDE the store's write lock, and one mutation then commits or gives up.
 *   1. Reserve: the lookups of §8.2 steps 9–11 (a 404 here creates nothing) and a session id held in
 *      `pendingIds`, so that two concurrent spawns never share an id or a manifest folder. In cli mode the
 *      lookups run in an empty mutation, which resolves only once every earlier mutation is on disk: the CLI
 *      reads DATA_DIR (§8.3: the task files are on disk before it runs; §11.16: it does not read the new
 *      session or its links, so they need not be there).
 *   2. Manifest, outside the lock: `{SESSION_DIR}/{id}/` and its manifest.json, generated, checked and
 *      finalised (§8.5), written atomically.
 *   3. Commit, one mutation: the lookups again (a 404 now is answered as-is, like a spawn serialised after the
 *      change), the id still free, the manifest's inputs unchanged (`manifestKey`). Then the session, its task
 *      links and its queue are put and the events emitted (src/spawn/commit.ts). If the id was taken or the
 *      inputs changed, the manifest is generated again (back to 2); the last of OPTIMISTIC_ATTEMPTS generates it
 *      inside the mutation instead (cli mode: after `tx.flush()`, so that the CLI sees every earlier change).
 *
 * Durability: nothing of the spawn is in DATA_DIR before the commit; the store writes the session, links and
 * queue durably before it broadcasts the events and before this service answers. The manifest is on disk
 * (atomic rename) before the commit mutation starts, so it is there when `session:spawn` is sent.
 *
 * Failure after validation (§8.6): the commit never happened (or the store undid it), so the only thing to roll
 * back is every manifest folder this request created; they are removed, no event is sent, and the answer is
 * 500 `manifest_generation_failed` or `spawn_error` (§8.2 steps 12–13). A successful spawn leaves exactly one
 * folder, its own.
 *
 * Events, only on commit, in this order: `session:spawn` → `task:session_added` per task → `queue:created`.
 */
import type { SpawnResponse } from '../../generated/types/index.js';
import { ContractError } from '../contract-error.js';
import type { HostFacts } from '../domain/new-session.js';
import type { Store, Tx } from '../store/index.js';
import { commitSpawn } from './commit.js';
import { buildSpawnEnv, type SpawnEnvVars } from './env.js';
import { ManifestGenerationError } from './errors.js';
import type { SchemaValidator } from './finalise.js';
import { generateManifest, removeSessionManifestDir, type GeneratedManifest, type ManifestGeneratorMode } from './generate.js';
import { validateSpawnManifest } from './manifest-validator.js';
import type { SpawnOrder } from './order.js';
import { manifestKey, planSpawn, type SpawnPlan } from './plan.js';

/** The part of a pino logger spawn uses (docs/behaviour.md §6.5: spawn and manifest steps are logged). */
export interface SpawnServiceLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface SpawnServiceConfig {
  /** Absolute SESSION_DIR and DATA_DIR (docs/behaviour.md §6.1). */
  sessionDir: string;
  dataDir: string;
  /** SERVER_URL, passed to the session as MAESTRO_SERVER_URL (§8.4). */
  serverUrl: string;
  /** MANIFEST_GENERATOR (§8.5). */
  manifestGenerator: ManifestGeneratorMode;
  /** MAESTRO_CLI_PATH (cli mode). */
  cliPath: string;
  /** cli mode time limit; 30 s unless a test shortens it. */
  cliTimeoutMs?: number;
  /** cli mode: base environment of the child (default: the server's own). */
  cliEnv?: NodeJS.ProcessEnv;
  /** The manifest schema check (default: the precompiled validator of schemas/manifest/spawn-manifest.json). */
  validateManifest?: SchemaValidator;
}

/** Test seam (both modes). */
export interface SpawnHooks {
  /**
   * Awaited after the manifest of an attempt is written and before the store mutation that re-checks the plan
   * and commits the session (tests use it to change the store in that window).
   */
  afterManifest?(info: { sessionId: string; attempt: number }): Promise<void> | void;
}

export interface SpawnServiceDeps {
  store: Store;
  config: SpawnServiceConfig;
  /** Stamped on the new session (docs/behaviour.md §0.3). */
  host: HostFacts;
  logger: SpawnServiceLogger;
  hooks?: SpawnHooks;
}

/**
 * How many times the manifest is generated outside the mutation before a spawn whose inputs keep changing under
 * it falls back to generating it inside the mutation. Retries happen only when a concurrent request changed a
 * task's manifest fields, the project's workingDir or the role's template in the meantime, or took the session id.
 */
export const OPTIMISTIC_ATTEMPTS = 3;

/** A §8.2 lookup failed inside a mutation: answered as it is (404), unlike a failure of the mutation itself. */
class LookupFailed {
  constructor(readonly error: unknown) {}
}

/** What the commit mutation decided: the answer, or generate the manifest again from a newer plan. */
type CommitOutcome = { committed: SpawnResponse } | { retry: SpawnPlan; idTaken: boolean };

/**
 * The session ids one request holds in the service's `pendingIds`, and the manifest folders it may have created.
 * Every held id is released when the request ends, whatever the outcome.
 */
class Reservation {
  private readonly held = new Set<string>();
  /** Session ids whose `{SESSION_DIR}/{id}/` this request may have created, oldest first. */
  readonly folders = new Set<string>();

  constructor(private readonly pending: Set<string>) {}

  hold(id: string): string {
    this.pending.add(id);
    this.held.add(id);
    return id;
  }

  release(): void {
    for (const id of this.held) this.pending.delete(id);
  }
}

export class SpawnService {
  private readonly store: Store;
  private readonly config: SpawnServiceConfig;
  private readonly host: HostFacts;
  private readonly logger: SpawnServiceLogger;
  private readonly hooks: SpawnHooks;
  private readonly validate: SchemaValidator;
  /**
   * Session ids chosen by spawns whose session does not exist yet (from the reserve to the end of the commit
   * mutation). E14 does not see them (a client-chosen id equal to one of them is not refused); the spawn notices
   * it inside its mutation and takes another id.
   */
  private readonly pendingIds = new Set<string>();

  constructor(deps: SpawnServiceDeps) {
    this.store = deps.store;
    this.config = deps.config;
    this.host = deps.host;
    this.logger = deps.logger;
    this.hooks = deps.hooks ?? {};
    this.validate = deps.config.validateManifest ?? validateSpawnManifest;
  }

  /** docs/behaviour.md §8.2 steps 9–13, §8.3, §8.6, §8.7. See the file header for the phases. */
  async spawn(order: SpawnOrder): Promise<SpawnResponse> {
    // 1. Reserve: lookups and a held session id.
    let plan = await this.lookUp(order);
    const reservation = new Reservation(this.pendingIds);
    let id = reservation.hold(this.freeSessionId());
    this.logValidated(id, plan);
    try {
      for (let attempt = 1; ; attempt++) {
        // 2. The manifest, outside the store's write lock.
        reservation.folders.add(id);
        const manifest = await this.generate(id, plan);
        this.logger.info({ sessionId: id, manifestPath: manifest.manifestPath, attempt }, 'Spawn: manifest written');
        await this.hooks.afterManifest?.({ sessionId: id, attempt });
        // 3. Commit, or another attempt from the plan re-read inside the mutation.
        const written = { id, plan, key: manifestKey(plan), manifest, lastAttempt: attempt >= OPTIMISTIC_ATTEMPTS, reservation };
        const outcome = await this.store.mutate((tx) => this.commitOrRetry(tx, written));
        if ('committed' in outcome) {
          // More than one folder only when the id was taken under the last attempt: the others are not this session's.
          const own = outcome.committed.sessionId;
          for (const other of reservation.folders) {
            if (other !== own) await removeSessionManifestDir(this.config.sessionDir, other).catch(() => undefined);
          }
          return outcome.committed;
        }
        this.logger.info(
          { sessionId: id, attempt, sessionIdTaken: outcome.idTaken },
          'Spawn: the store changed while the manifest was written; writing it again',
        );
        plan = outcome.retry;
        if (outcome.idTaken) {
          // Someone (E14 with a client-chosen id) took the id: the folder is still ours, the id is not.
          await removeSessionManifestDir(this.config.sessionDir, id);
          reservation.folders.delete(id);
          id = reservation.hold(this.freeSessionId());
        }
      }
    } catch (error) {
      if (error instanceof LookupFailed) {
        await this.removeFolders(reservation.folders, { quiet: true });
        this.logger.info({ sessionId: id, err: errorText(error.error) }, 'Spawn: a lookup failed on the re-check; manifest folder removed');
        throw error.error;
      }
      throw await this.rollBack(error, reservation.folders);
    } finally {
      reservation.release();
    }
  }

  /**
   * Phase 1's lookups. Server mode reads the current state. cli mode runs them in an (empty) mutation, which
   * resolves only once every earlier mutation is on disk, because the CLI reads DATA_DIR. A 404 creates nothing.
   */
  private async lookUp(order: SpawnOrder): Promise<SpawnPlan> {
    if (this.config.manifestGenerator !== 'cli') return planSpawn(this.store, order);
    try {
      return await this.store.mutate((tx) => lookUpInside(tx, order));
    } catch (error) {
      if (error instanceof LookupFailed) throw error.error;
      // An earlier mutation's write failed after validation had passed: §8.2 step 13, nothing was created.
      throw await this.rollBack(error, []);
    }
  }

  /**
   * Phase 3, inside the store's write lock: re-check, then commit, or ask for another attempt. On the last attempt
   * the manifest is generated here, serialised (rare: the inputs changed under every earlier attempt), under a
   * new id when the reserved one was taken.
   */
  private async commitOrRetry(
    tx: Tx,
    attempt: {
      id: string;
      plan: SpawnPlan;
      /** `manifestKey(plan)`: what the manifest was generated from. */
      key: string;
      manifest: GeneratedManifest;
      lastAttempt: boolean;
      reservation: Reservation;
    },
  ): Promise<CommitOutcome> {
    const current = lookUpInside(tx, attempt.plan.order);
    const idTaken = tx.isSessionIdTaken(attempt.id);
    const changed = manifestKey(current) !== attempt.key;
    if (!idTaken && !changed) return { committed: this.commit(tx, attempt.id, current, attempt.manifest) };
    if (!attempt.lastAttempt) return { retry: current, idTaken }; // nothing changed in the store: generate again
    // cli mode: every earlier mutation is put on disk first, since the CLI reads it.
    if (this.config.manifestGenerator === 'cli') await tx.flush();
    let id = attempt.id;
    if (idTaken) {
      id = attempt.reservation.hold(tx.newId('sess', (candidate) => this.pendingIds.has(candidate)));
      attempt.reservation.folders.add(id);
    }
    const manifest = await this.generate(id, current);
    this.logger.info({ sessionId: id, manifestPath: manifest.manifestPath, attempt: OPTIMISTIC_ATTEMPTS }, 'Spawn: manifest written again inside the mutation');
    return { committed: this.commit(tx, id, current, manifest) };
  }

  private commit(tx: Tx, sessionId: string, plan: SpawnPlan, manifest: GeneratedManifest): SpawnResponse {
    return commitSpawn(tx, { sessionId, plan, manifest, envVars: this.envVarsFor(sessionId, plan), host: this.host });
  }

  /** A session id that is neither taken in the store nor held by another spawn in flight. */
  private freeSessionId(): string {
    return this.store.newSessionId((candidate) => this.pendingIds.has(candidate));
  }

  private envVarsFor(sessionId: string, plan: SpawnPlan): SpawnEnvVars {
    return buildSpawnEnv({
      sessionId,
      sessionDir: this.config.sessionDir,
      dataDir: this.config.dataDir,
      serverUrl: this.config.serverUrl,
      strategy: plan.order.strategy,
    });
  }

  /** Phase 2 (§8.5): the manifest folder and file of session `id`, generated, checked and finalised. */
  private generate(id: string, plan: SpawnPlan): Promise<GeneratedManifest> {
    const { config } = this;
    const { order } = plan;
    return generateManifest({
      mode: config.manifestGenerator,
      sessionId: id,
      sessionDir: config.sessionDir,
      dataDir: config.dataDir,
      role: order.role,
      strategy: order.strategy,
      projectId: order.projectId,
      workingDir: plan.workingDir,
      tasks: plan.tasks,
      skills: order.skills,
      context: order.context,
      templateId: plan.templateId,
      validate: this.validate,
      logger: this.logger,
      cliPath: config.cliPath,
      ...(config.cliTimeoutMs !== undefined && { cliTimeoutMs: config.cliTimeoutMs }),
      ...(config.cliEnv !== undefined && { env: config.cliEnv }),
    });
  }

  /** §8.6 after a failure once validation has passed: remove the manifest folders, log, map the error to the answer. */
  private async rollBack(error: unknown, folders: Iterable<string>): Promise<ContractError> {
    const ids = [...folders];
    await this.removeFolders(ids, { quiet: false });
    const answer = spawnFailure(error);
    this.logger.error(
      {
        sessionId: ids.at(-1),
        code: answer.code,
        err: errorText(error),
        ...(error instanceof ManifestGenerationError && error.output !== undefined && {
          cliStdout: error.output.stdout,
          cliStderr: error.output.stderr,
        }),
      },
      'Spawn failed; rolled back',
    );
    return answer;
  }

  /** Removes `{SESSION_DIR}/{id}/` of each id; a folder that cannot be removed is logged (unless quiet), never thrown. */
  private async removeFolders(ids: Iterable<string>, { quiet }: { quiet: boolean }): Promise<void> {
    for (const id of ids) {
      try {
        await removeSessionManifestDir(this.config.sessionDir, id);
      } catch (rmError) {
        if (!quiet) this.logger.warn({ sessionId: id, err: errorText(rmError) }, 'Spawn rollback: could not remove the manifest folder');
      }
    }
  }

  private logValidated(sessionId: string, plan: SpawnPlan): void {
    const { order } = plan;
    this.logger.info(
      {
        sessionId,
        projectId: order.projectId,
        taskIds: order.taskIds,
        role: order.role,
        strategy: order.strategy,
        spawnSource: order.spawnSource,
        parentSessionId: order.parentSessionId,
        manifestGenerator: this.config.manifestGenerator,
      },
      'Spawn: request validated',
    );
  }
}

/** `planSpawn` inside a mutation, its 404s marked so that the caller tells them from a failed mutation. */
function lookUpInside(tx: Tx, order: SpawnOrder): SpawnPlan {
  try {
    return planSpawn(tx, order);
  } catch (error) {
    throw new LookupFailed(error);
  }
}

/**
 * The answer to a failure after validation (docs/behaviour.md §8.2 steps 12–13): 500 `manifest_generation_failed` for a
 * manifest problem, else 500 `spawn_error` with the error's message (the error middleware replaces it with
 * "Spawn failed" when NODE_ENV=production).
 */
function spawnFailure(error: unknown): ContractError {
  if (error instanceof ManifestGenerationError) return error.toContractError();
  const message = errorText(error);
  return new ContractError(500, 'spawn_error', message === '' ? 'Spawn failed' : message);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
