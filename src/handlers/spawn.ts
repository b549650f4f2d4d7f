import { requestDefaults } from '../../generated/model/index.js';
import type { Handlers } from '../../generated/routes/handlers.js';
import type { Role, Session, SpawnRequest, SpawnRequestEvent, SpawnResponse, SpawnSource, Task, WorkerStrategy } from '../../generated/types/index.js';
import { ContractError } from '../contract-error.js';
import { createQueue } from '../queue/queue-ops.js';
import { buildSpawnEnv, spawnCommandFor, type SpawnEnvVars } from '../spawn/env.js';
import { ManifestGenerationError } from '../spawn/errors.js';
import type { SchemaValidator } from '../spawn/finalise.js';
import { generateManifest, removeSessionManifestDir, type GeneratedManifest, type ManifestGeneratorMode } from '../spawn/generate.js';
import { buildServerManifest, normaliseSkills } from '../spawn/manifest.js';
import { validateSpawnManifest } from '../spawn/manifest-validator.js';
import type { Store, StoreEvent, StoreReader, Tx } from '../store/index.js';
import { resolveTemplateForRole } from '../templates/resolve.js';
import { dedupeIds } from './input.js';
import { attachTasksToNewSession, buildNewSession, type HostFacts } from './new-session.js';

type SpawnHandlers = Pick<Handlers, 'spawnSession'>;

/** The part of a pino logger spawn uses (docs/behaviour.md §6.5: spawn and manifest steps are logged). */
export interface SpawnHandlerLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface SpawnHandlerConfig {
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

const ROLE_TITLES: Readonly<Record<Role, string>> = { worker: 'Worker', orchestrator: 'Orchestrator' };

const SPAWN_MESSAGE = 'Spawn request sent to Agent Maestro';

function isNonBlankString(value: unknown): value is string {
  return typeof value === 'string' && /\S/.test(value);
}

/**
 * The parent session id of a `session` spawn (docs/behaviour.md §8.1): `sessionId`, else the deprecated `spawnedBy` when
 * `sessionId` is absent, null or blank. `null` for `ui` spawns, whose `sessionId` is ignored.
 */
export function parentSessionIdOf(body: Pick<SpawnRequest, 'spawnSource' | 'sessionId' | 'spawnedBy'>): string | null {
  if ((body.spawnSource ?? requestDefaults.SpawnRequest.spawnSource) !== 'session') return null;
  if (isNonBlankString(body.sessionId)) return body.sessionId;
  if (isNonBlankString(body.spawnedBy)) return body.spawnedBy;
  return null;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What the lookups of §8.2 steps 9–11 established. */
interface SpawnPlan {
  taskIds: string[];
  tasks: Task[];
  workingDir: string;
  role: Role;
  strategy: WorkerStrategy;
  spawnSource: SpawnSource;
  parentSessionId: string | null;
  skills: string[];
  context: Record<string, unknown>;
  name: string;
  /** The template §10.3 resolves for the role (its id goes into the manifest); undefined when there is none. */
  templateId: string | undefined;
}

/**
 * E20 steps 9–11 (docs/behaviour.md §8.2), after the router's steps 1–8: each task exists in `taskIds` order
 * (404 `task_not_found` with `details.taskId`) → the project exists (404 `project_not_found`) → for a `session`
 * spawn, the parent session exists (404 `parent_session_not_found`). Reads only: runs on the store before the
 * manifest is written (in cli mode inside an empty mutation, so that the CLI finds them on disk) and again inside
 * the mutation that creates the session.
 */
function planSpawn(reader: StoreReader, body: SpawnRequest): SpawnPlan {
  const taskIds = dedupeIds(body.taskIds);
  const tasks: Task[] = [];
  for (const taskId of taskIds) {
    const task = reader.getTask(taskId);
    if (task === undefined) throw new ContractError(404, 'task_not_found', `Task ${taskId} not found`, { taskId });
    tasks.push(task);
  }
  const project = reader.getProject(body.projectId);
  if (project === undefined) throw new ContractError(404, 'project_not_found', `Project ${body.projectId} not found`);
  const spawnSource = body.spawnSource ?? requestDefaults.SpawnRequest.spawnSource;
  const parentSessionId = parentSessionIdOf(body);
  if (spawnSource === 'session') {
    // The router has already refused a session spawn without a usable parent id (step 5); kept for direct callers.
    if (parentSessionId === null) {
      throw new ContractError(400, 'missing_session_id', "sessionId is required when spawnSource is 'session'");
    }
    if (reader.getSession(parentSessionId) === undefined) {
      throw new ContractError(404, 'parent_session_not_found', `Parent session ${parentSessionId} not found`);
    }
  }
  const role = body.role ?? requestDefaults.SpawnRequest.role;
  return {
    taskIds,
    tasks,
    workingDir: project.workingDir,
    role,
    strategy: body.strategy ?? requestDefaults.SpawnRequest.strategy,
    spawnSource,
    parentSessionId,
    skills: normaliseSkills(body.skills ?? requestDefaults.SpawnRequest.skills),
    context: { ...(body.context ?? requestDefaults.SpawnRequest.context) },
    name: body.sessionName ?? `${ROLE_TITLES[role]} for ${taskIds[0]}`,
    // §10.3: the role's template; spawn goes on without one.
    templateId: resolveTemplateForRole(reader.listTemplates({ role }), role)?.id,
  };
}

/**
 * Everything of the store that a server-mode manifest is made of (the tasks' manifest fields, the project's
 * workingDir, the role's template), as one string: two plans with the same key give the same manifest. Spawn
 * compares the key of the plan it wrote the manifest from with the key of the plan re-read inside the mutation.
 */
function manifestKey(plan: SpawnPlan): string {
  try {
    return JSON.stringify(
      buildServerManifest({
        role: plan.role,
        strategy: plan.strategy,
        project: { workingDir: plan.workingDir },
        tasks: plan.tasks,
        skills: plan.skills,
        context: plan.context,
        templateId: plan.templateId,
      }),
    );
  } catch (error) {
    // Cannot happen after validation (taskIds is never empty); generation reports the real error.
    return `unbuildable: ${errorText(error)}`;
  }
}

/**
 * How many times the manifest is written (server mode) or generated by the CLI (cli mode) outside the mutation
 * before a spawn whose inputs keep changing under it falls back to doing it inside the mutation. Retries happen
 * only when a concurrent request changed a task's manifest fields, the project's workingDir or the role's
 * template between the manifest write and the mutation, or took the session id.
 */
const OPTIMISTIC_ATTEMPTS = 3;

/** Test seam (both modes). */
export interface SpawnHooks {
  /**
   * Awaited (both modes) after the manifest of an attempt is written and before the store mutation that
   * re-checks the plan and creates the session (tests use it to change the store in that window).
   */
  afterManifest?(info: { sessionId: string; attempt: number }): Promise<void> | void;
}

/**
 * Session spawning, docs/behaviour.md §8 (E20). Validates against the store, then builds the session, its task links, its
 * queue and its manifest; any failure after validation rolls all of it back (§8.6) and answers 500.
 *
 * Both modes write the manifest *outside* the store's write lock, in two phases, so other writes do not wait for
 * the file I/O (server mode) or the CLI run of up to 30 s (cli mode): reserve — plan (lookups of §8.2 9–11) and a
 * pending id (in cli mode the lookups run in an empty mutation, which resolves once every earlier mutation is on
 * disk, since the CLI reads DATA_DIR) → manifest folder + file (server: built in memory; cli: the CLI, then check
 * and finalise) → commit: one mutation that re-runs the lookups (a failure there answers that 404, like a spawn
 * serialised after the change, and removes the folder), checks the id is still free and the manifest inputs
 * unchanged (else generates the manifest again, see OPTIMISTIC_ATTEMPTS), then puts the session, links and queue
 * and emits the events. The CLI does not read the new session or its links (§11.16), so they need not be on disk
 * before it runs; nothing is created before the commit, so a failure only has the folder to remove (§8.6).
 */
export function createSpawnHandlers({
  store,
  config,
  host,
  logger,
  hooks,
}: {
  store: Store;
  config: SpawnHandlerConfig;
  host: HostFacts;
  logger: SpawnHandlerLogger;
  hooks?: SpawnHooks;
}): SpawnHandlers {
  const validate = config.validateManifest ?? validateSpawnManifest;
  /**
   * Session ids chosen by spawns whose session does not exist yet (between choosing the id and the end of the
   * commit mutation), so that two concurrent spawns never pick the same id and so never share a manifest
   * folder. E14 does not see them (a client-chosen id equal to one of them is not refused); the spawn notices it
   * inside its mutation and takes another id.
   */
  const pendingIds = new Set<string>();

  const logValidated = (sessionId: string, body: SpawnRequest, plan: SpawnPlan): void =>
    logger.info(
      {
        sessionId,
        projectId: body.projectId,
        taskIds: plan.taskIds,
        role: plan.role,
        strategy: plan.strategy,
        spawnSource: plan.spawnSource,
        parentSessionId: plan.parentSessionId,
        manifestGenerator: config.manifestGenerator,
      },
      'Spawn: request validated',
    );

  const envVarsFor = (id: string, plan: SpawnPlan): SpawnEnvVars =>
    buildSpawnEnv({
      sessionId: id,
      sessionDir: config.sessionDir,
      dataDir: config.dataDir,
      serverUrl: config.serverUrl,
      strategy: plan.strategy,
    });

  /** §8.5: the manifest folder and file of session `id`, checked and finalised. */
  const generate = (id: string, body: SpawnRequest, plan: SpawnPlan): Promise<GeneratedManifest> =>
    generateManifest({
      mode: config.manifestGenerator,
      sessionId: id,
      sessionDir: config.sessionDir,
      dataDir: config.dataDir,
      role: plan.role,
      strategy: plan.strategy,
      projectId: body.projectId,
      workingDir: plan.workingDir,
      tasks: plan.tasks,
      skills: plan.skills,
      context: plan.context,
      templateId: plan.templateId,
      validate,
      logger,
      cliPath: config.cliPath,
      ...(config.cliTimeoutMs !== undefined && { cliTimeoutMs: config.cliTimeoutMs }),
      ...(config.cliEnv !== undefined && { env: config.cliEnv }),
    });

  /** §8.3 steps 1–3: session, task links, queue; returns their events in the order of docs/behaviour.md. */
  const createEntities = (tx: Tx, id: string, body: SpawnRequest, plan: SpawnPlan): { session: Session; events: StoreEvent[] } => {
    const session = buildNewSession(
      tx,
      {
        id,
        projectId: body.projectId,
        taskIds: plan.taskIds,
        name: plan.name,
        env: { ...envVarsFor(id, plan) },
        strategy: plan.strategy,
        status: 'spawning',
        metadata: {
          skills: plan.skills,
          spawnedBy: plan.parentSessionId,
          spawnSource: plan.spawnSource,
          role: plan.role,
          strategy: plan.strategy,
          context: plan.context,
        },
      },
      host,
    );
    tx.putSession(session);
    const events = attachTasksToNewSession(tx, session);
    if (plan.strategy === 'queue') {
      const queue = createQueue(id, plan.taskIds, tx.now);
      tx.putQueue(queue);
      events.push({ name: 'queue:created', data: { sessionId: id, queue } });
    }
    return { session, events };
  };

  /** §8.3 step 5 (events: `session:spawn` → `task:session_added` per task → `queue:created`) and §8.7. */
  const announce = (
    tx: Tx,
    id: string,
    body: SpawnRequest,
    plan: SpawnPlan,
    created: { session: Session; events: StoreEvent[] },
    generated: GeneratedManifest,
  ): SpawnResponse => {
    const envVars = envVarsFor(id, plan);
    const { session } = created;
    tx.emit('session:spawn', {
      session: session as SpawnRequestEvent['session'],
      command: spawnCommandFor(plan.role),
      cwd: plan.workingDir,
      envVars: { ...envVars },
      manifest: generated.manifest,
      projectId: body.projectId,
      taskIds: plan.taskIds,
      spawnSource: plan.spawnSource,
      parentSessionId: plan.parentSessionId,
      _isSpawnCreated: true,
    });
    for (const event of created.events) tx.emitEvent(event);
    return {
      success: true,
      sessionId: id,
      manifestPath: generated.manifestPath,
      message: SPAWN_MESSAGE,
      session: session as SpawnResponse['session'],
      envVars: { ...envVars },
      initialCommand: spawnCommandFor(plan.role) as SpawnResponse['initialCommand'],
      cwd: plan.workingDir,
    };
  };

  /** §8.6 after a failure once validation has passed: remove the manifest folders, map the error to the answer. */
  const rollBack = async (error: unknown, sessionIds: Iterable<string>): Promise<ContractError> => {
    const ids = [...sessionIds];
    for (const id of ids) {
      try {
        await removeSessionManifestDir(config.sessionDir, id);
      } catch (rmError) {
        logger.warn({ sessionId: id, err: errorText(rmError) }, 'Spawn rollback: could not remove the manifest folder');
      }
    }
    const answer = spawnFailure(error);
    logger.error(
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
  };

  /**
   * Both modes, in two phases (see createSpawnHandlers): reserve (plan + a pending id) → manifest outside the
   * store's write lock → commit or roll back in one mutation.
   */
  const spawnTwoPhase = async (body: SpawnRequest): Promise<SpawnResponse> => {
    const cli = config.manifestGenerator === 'cli';
    let plan: SpawnPlan;
    if (!cli) {
      plan = planSpawn(store, body); // §8.2 9–11 on the current state: a 404 here creates nothing
    } else {
      // cli mode: the CLI reads DATA_DIR (§8.3, §11.16), so the lookups run in an (empty) mutation, which
      // resolves only once every earlier mutation is on disk. A 404 here creates nothing.
      let lookupFailure: unknown;
      try {
        plan = await store.mutate((tx) => {
          try {
            return planSpawn(tx, body);
          } catch (error) {
            lookupFailure = error;
            throw error;
          }
        });
      } catch (error) {
        if (error === lookupFailure) throw error;
        // An earlier mutation's write failed after validation had passed: §8.2 step 13, nothing was created.
        throw await rollBack(error, []);
      }
    }
    const chooseId = (): string => {
      const id = store.newSessionId((candidate) => pendingIds.has(candidate));
      pendingIds.add(id);
      return id;
    };
    let id = chooseId();
    /** Session ids whose manifest folder this request may have created (all of them are removed on failure). */
    const folders = new Set<string>();
    /** Session ids in pendingIds for this request (released at the end). */
    const chosen = new Set<string>([id]);
    /** The 404 of the re-check inside the mutation: answered as it is, like any §8.2 lookup failure. */
    let recheckFailure: unknown;
    logValidated(id, body, plan);
    try {
      for (let attempt = 1; ; attempt++) {
        folders.add(id);
        const generated = await generate(id, body, plan);
        logger.info({ sessionId: id, manifestPath: generated.manifestPath, attempt }, 'Spawn: manifest written');
        await hooks?.afterManifest?.({ sessionId: id, attempt });
        const writtenKey = manifestKey(plan);
        const optimistic = attempt < OPTIMISTIC_ATTEMPTS;
        const writtenId = id;
        const outcome = await store.mutate(
          async (tx): Promise<{ response: SpawnResponse; id: string } | { retry: SpawnPlan; idTaken: boolean }> => {
            let current: SpawnPlan;
            try {
              current = planSpawn(tx, body);
            } catch (error) {
              recheckFailure = error;
              throw error;
            }
            const idTaken = tx.isSessionIdTaken(writtenId);
            const changed = manifestKey(current) !== writtenKey;
            if (!idTaken && !changed) {
              return { response: announce(tx, writtenId, body, current, createEntities(tx, writtenId, body, current), generated), id: writtenId };
            }
            if (optimistic) return { retry: current, idTaken }; // nothing changed in the store: write the manifest again
            // The last attempt: write the manifest inside the mutation, serialised (rare: the inputs changed
            // under every earlier attempt). cli mode: every earlier mutation is put on disk first (the CLI reads it).
            if (cli) await tx.flush();
            let finalId = writtenId;
            if (idTaken) {
              finalId = tx.newId('sess', (candidate) => pendingIds.has(candidate));
              pendingIds.add(finalId);
              chosen.add(finalId);
              folders.add(finalId);
            }
            const regenerated = await generate(finalId, body, current);
            logger.info({ sessionId: finalId, manifestPath: regenerated.manifestPath, attempt }, 'Spawn: manifest written again inside the mutation');
            return { response: announce(tx, finalId, body, current, createEntities(tx, finalId, body, current), regenerated), id: finalId };
          },
        );
        if ('response' in outcome) {
          // Only when the id was taken under the last attempt: the first id's folder is not this session's.
          for (const other of folders) {
            if (other !== outcome.id) await removeSessionManifestDir(config.sessionDir, other).catch(() => undefined);
          }
          return outcome.response;
        }
        logger.info(
          { sessionId: id, attempt, sessionIdTaken: outcome.idTaken },
          'Spawn: the store changed while the manifest was written; writing it again',
        );
        plan = outcome.retry;
        if (outcome.idTaken) {
          // Someone (E14 with a client-chosen id) took the id: the folder is still ours, the id is not.
          await removeSessionManifestDir(config.sessionDir, id);
          folders.delete(id);
          id = chooseId();
          chosen.add(id);
        }
      }
    } catch (error) {
      if (error === recheckFailure) {
        for (const folder of folders) await removeSessionManifestDir(config.sessionDir, folder).catch(() => undefined);
        logger.info({ sessionId: id, err: errorText(error) }, 'Spawn: a lookup failed on the re-check; manifest folder removed');
        throw error;
      }
      throw await rollBack(error, folders);
    } finally {
      for (const pendingId of chosen) pendingIds.delete(pendingId);
    }
  };

  return {
    /**
     * docs/behaviour.md §8.2–§8.7. Result: lookups (§8.2 9–11) → session `spawning` with env, metadata and initial
     * timeline → task links (sessionIds + updatedAt only) → queue (strategy `queue`) → manifest → events
     * `session:spawn` → `task:session_added` per task → `queue:created`. Never `session:created`,
     * `session:task_added` or `session:updated`.
     */
    async spawnSession({ body }) {
      return spawnTwoPhase(body);
    },
  };
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
