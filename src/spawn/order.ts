/**
 * A spawn request as the spawn service takes it: docs/behaviour.md §8.1 with every default applied and every
 * list normalised, so that the service never looks at the raw request. Pure: no store, no files.
 */
import { requestDefaults } from '../../generated/model/index.js';
import type { Role, SpawnRequest, SpawnSource, WorkerStrategy } from '../../generated/types/index.js';
import { dedupeIds } from '../domain/input.js';
import { normaliseSkills } from './manifest.js';

export interface SpawnOrder {
  projectId: string;
  /** Duplicates dropped, first kept; never empty (the router refused an empty list, §8.2 step 3). */
  taskIds: string[];
  role: Role;
  strategy: WorkerStrategy;
  spawnSource: SpawnSource;
  /** The parent of a `session` spawn; `null` for `ui`, and for a `session` spawn without a usable parent id. */
  parentSessionId: string | null;
  /** Blank entries and duplicates dropped, first kept. */
  skills: string[];
  /** The request's free-form context (a copy), `{}` when absent. */
  context: Record<string, unknown>;
  /** `session.name`: `sessionName`, else "Worker for {taskIds[0]}" / "Orchestrator for {taskIds[0]}". */
  name: string;
}

const ROLE_TITLES: Readonly<Record<Role, string>> = { worker: 'Worker', orchestrator: 'Orchestrator' };

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

/** docs/behaviour.md §8.1: the defaults and normalisations of a validated spawn request. */
export function spawnOrderFrom(body: SpawnRequest): SpawnOrder {
  const taskIds = dedupeIds(body.taskIds);
  const role = body.role ?? requestDefaults.SpawnRequest.role;
  return {
    projectId: body.projectId,
    taskIds,
    role,
    strategy: body.strategy ?? requestDefaults.SpawnRequest.strategy,
    spawnSource: body.spawnSource ?? requestDefaults.SpawnRequest.spawnSource,
    parentSessionId: parentSessionIdOf(body),
    skills: normaliseSkills(body.skills ?? requestDefaults.SpawnRequest.skills),
    context: { ...(body.context ?? requestDefaults.SpawnRequest.context) },
    name: body.sessionName ?? `${ROLE_TITLES[role]} for ${taskIds[0]}`,
  };
}
