import type { Handlers } from '../../generated/routes/handlers.js';
import type { Role, Session, SpawnRequest, SpawnResponse, Task, WorkerStrategy } from '../../generated/types/index.js';
import { ContractError } from '../http/contract-error.js';
import { createQueue } from '../queue/queue-ops.js';
import { buildSpawnEnv, spawnCommandFor } from '../spawn/env.js';
import { ManifestGenerationError } from '../spawn/errors.js';
import type { SchemaValidator } from '../spawn/finalise.js';
import { generateManifest, removeSessionManifestDir, type GeneratedManifest, type ManifestGeneratorMode } from '../spawn/generate.js';
import { normaliseSkills } from '../spawn/manifest.js';
import { validateSpawnManifest } from '../spawn/manifest-validator.js';
import type { Store, StoreEvent, Tx } from '../store/index.js';
import { resolveTemplateForRole } from '../templates/resolve.js';
import { dedupeIds } from './input.js';
import { attachTasksToNewSession, buildNewSession, type HostFacts } from './new-session.js';
import { RequestStamps } from './request-stamps.js';

type SpawnHandlers = Pick<Handlers, 'spawnSession'>;

/** The part of a pino logger spawn uses (CONTRACT §6.5: spawn and manifest steps are logged). */
export interface SpawnHandlerLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface SpawnHandlerConfig {
  /** Absolute SESSION_DIR and DATA_DIR (CONTRACT §6.1). */
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
 * The parent session id of a `session` spawn (CONTRACT §8.1): `sessionId`, else the deprecated `spawnedBy` when
 * `sessionId` is absent, null or blank. `null` for `ui` spawns, whose `sessionId` is ignored.
 */
export function parentSessionIdOf(body: Pick<SpawnRequest, 'spawnSource' | 'sessionId' | 'spawnedBy'>): string | null {
  if ((body.spawnSource ?? 'ui') !== 'session') return null;
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
  spawnSource: 'ui' | 'session';
  parentSessionId: string | null;
  skills: string[];
  context: Record<string, unknown>;
  name: string;
}

/**
 * E20 steps 9–11 (CONTRACT §8.2), after the router's steps 1–8: each task exists in `taskIds` order
 * (404 `task_not_found` with `details.taskId`) → the project exists (404 `project_not_found`) → for a `session`
 * spawn, the parent session exists (404 `parent_session_not_found`).
 */
function planSpawn(tx: Tx, body: SpawnRequest): SpawnPlan {
  const taskIds = dedupeIds(body.taskIds);
  const tasks: Task[] = [];
  for (const taskId of taskIds) {
    const task = tx.getTask(taskId);
    if (task === undefined) throw new ContractError(404, 'task_not_found', `Task ${taskId} not found`, { taskId });
    tasks.push(task);
  }
  const project = tx.getProject(body.projectId);
  if (project === undefined) throw new ContractError(404, 'project_not_found', `Project ${body.projectId} not found`);
  const spawnSource = body.spawnSource ?? 'ui';
  const parentSessionId = parentSessionIdOf(body);
  if (spawnSource === 'session') {
    // The router has already refused a session spawn without a usable parent id (step 5); kept for direct callers.
    if (parentSessionId === null) {
      throw new ContractError(400, 'missing_session_id', "sessionId is required when spawnSource is 'session'");
    }
    if (tx.getSession(parentSessionId) === undefined) {
      throw new ContractError(404, 'parent_session_not_found', `Parent session ${parentSessionId} not found`);
    }
  }
  const role = body.role ?? 'worker';
  return {
    taskIds,
    tasks,
    workingDir: project.workingDir,
    role,
    strategy: body.strategy ?? 'simple',
    spawnSource,
    parentSessionId,
    skills: normaliseSkills(body.skills ?? []),
    context: { ...(body.context ?? {}) },
    name: body.sessionName ?? `${ROLE_TITLES[role]} for ${taskIds[0]}`,
  };
}

/**
 * Session spawning, CONTRACT §8 (E20). Builds the session, its task links, its queue and its manifest in one
 * store mutation; any failure after validation rolls all of it back (§8.6) and answers 500.
 */
export function createSpawnHandlers({
  store,
  config,
  host,
  logger,
}: {
  store: Store;
  config: SpawnHandlerConfig;
  host: HostFacts;
  logger: SpawnHandlerLogger;
}): SpawnHandlers {
  const validate = config.validateManifest ?? validateSpawnManifest;

  return {
    /**
     * CONTRACT §8.2–§8.7. Sequence: lookups (§8.2 9–11) → session `spawning` with env, metadata and initial
     * timeline → task links (sessionIds + updatedAt only) → queue (strategy `queue`) → manifest (cli mode: after
     * the store's files are flushed, since the CLI reads them) → events `session:spawn` → `task:session_added`
     * per task → `queue:created`. Never `session:created`, `session:task_added` or `session:updated`.
     */
    async spawnSession({ body }) {
      // Set once validation has passed: from then on a failure must also remove {SESSION_DIR}/{sessionId}/.
      let sessionId: string | undefined;
      try {
        return await store.mutate(async (tx) => {
          const plan = planSpawn(tx, body);
          const id = tx.newId('sess');
          sessionId = id;
          logger.info(
            {
              sessionId: id,
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
          const envVars = buildSpawnEnv({
            sessionId: id,
            sessionDir: config.sessionDir,
            dataDir: config.dataDir,
            serverUrl: config.serverUrl,
            strategy: plan.strategy,
          });
          const metadata = {
            skills: plan.skills,
            spawnedBy: plan.parentSessionId,
            spawnSource: plan.spawnSource,
            role: plan.role,
            strategy: plan.strategy,
            context: plan.context,
          };

          /** §8.3 steps 1–3: session, task links, queue; returns their events in contract order. */
          const createEntities = (): { session: Session; events: StoreEvent[] } => {
            const session = buildNewSession(
              tx,
              {
                id,
                projectId: body.projectId,
                taskIds: plan.taskIds,
                name: plan.name,
                env: { ...envVars },
                strategy: plan.strategy,
                status: 'spawning',
                metadata,
              },
              host,
            );
            tx.putSession(session);
            const events = attachTasksToNewSession(tx, new RequestStamps(tx), session);
            if (plan.strategy === 'queue') {
              const queue = createQueue(id, plan.taskIds, tx.now);
              tx.putQueue(queue);
              events.push({ name: 'queue:created', data: { sessionId: id, queue } });
            }
            return { session, events };
          };

          const generate = (): Promise<GeneratedManifest> =>
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
              // §10.3: the role's template; spawn goes on without one.
              templateId: resolveTemplateForRole(tx.listTemplates({ role: plan.role }), plan.role)?.id,
              validate,
              logger,
              cliPath: config.cliPath,
              ...(config.cliTimeoutMs !== undefined && { cliTimeoutMs: config.cliTimeoutMs }),
              ...(config.cliEnv !== undefined && { env: config.cliEnv }),
            });

          let created: { session: Session; events: StoreEvent[] };
          let generated: GeneratedManifest;
          if (config.manifestGenerator === 'cli') {
            // §8.3: in cli mode the store's files must be on disk before the CLI runs (it reads DATA_DIR).
            created = createEntities();
            await tx.flush();
            generated = await generate();
          } else {
            // Server mode builds from memory: generate first, so the new session becomes visible only briefly
            // before it is durable.
            generated = await generate();
            created = createEntities();
          }
          logger.info({ sessionId: id, manifestPath: generated.manifestPath }, 'Spawn: manifest written');

          const { session } = created;
          tx.emit('session:spawn', {
            session,
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
          for (const event of created.events) tx.emit(event.name, event.data);

          const response: SpawnResponse = {
            success: true,
            sessionId: id,
            manifestPath: generated.manifestPath,
            message: SPAWN_MESSAGE,
            session: session as SpawnResponse['session'],
            envVars: { ...envVars },
            initialCommand: spawnCommandFor(plan.role) as SpawnResponse['initialCommand'],
            cwd: plan.workingDir,
          };
          return response;
        });
      } catch (error) {
        if (sessionId === undefined) throw error; // a §8.2 lookup failed: nothing was created
        // §8.6: the store has restored memory and files; the manifest folder is ours to remove.
        try {
          await removeSessionManifestDir(config.sessionDir, sessionId);
        } catch (rmError) {
          logger.warn({ sessionId, err: errorText(rmError) }, 'Spawn rollback: could not remove the manifest folder');
        }
        const answer = spawnFailure(error);
        logger.error(
          {
            sessionId,
            code: answer.code,
            err: errorText(error),
            ...(error instanceof ManifestGenerationError && error.output !== undefined && {
              cliStdout: error.output.stdout,
              cliStderr: error.output.stderr,
            }),
          },
          'Spawn failed; rolled back',
        );
        throw answer;
      }
    },
  };
}

/**
 * The answer to a failure after validation (CONTRACT §8.2 steps 12–13): 500 `manifest_generation_failed` for a
 * manifest problem, else 500 `spawn_error` with the error's message (the error middleware replaces it with
 * "Spawn failed" when NODE_ENV=production).
 */
function spawnFailure(error: unknown): ContractError {
  if (error instanceof ManifestGenerationError) return error.toContractError();
  const message = errorText(error);
  return new ContractError(500, 'spawn_error', message === '' ? 'Spawn failed' : message);
}
