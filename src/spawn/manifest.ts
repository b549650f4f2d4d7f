import type { ModelName, Project, Role, Task, WorkerStrategy } from '../../generated/types/index.js';

/**
 * The spawn manifest exactly as the server writes it (docs/behaviour.md §1.10): the `maestro` CLI v0.1.0 schema, which
 * rejects unknown keys at the top level and inside `tasks[]`, `session` and `context`. Written out here rather
 * than taken from the generated `SpawnManifest` type because that type also allows the optional keys the
 * server never writes (task `metadata`, session `maxTurns`, context `relatedTasks`, …).
 */
export interface ServerManifest {
  manifestVersion: '1.0';
  role: Role;
  strategy?: 'queue';
  tasks: ServerManifestTask[];
  session: ServerManifestSession;
  context: { custom: Record<string, unknown> };
  skills: string[];
  templateId?: string;
}

export interface ServerManifestTask {
  id: string;
  title: string;
  description: string;
  acceptanceCriteria: string[];
  projectId: string;
  createdAt: string;
  parentId: string | null;
  dependencies: string[];
  priority: string;
  status: string;
}

export interface ServerManifestSession {
  model: ModelName;
  permissionMode: 'acceptEdits';
  thinkingMode: 'auto';
  workingDirectory: string;
}

export const MANIFEST_VERSION = '1.0';
export const DEFAULT_ACCEPTANCE_CRITERIA: readonly string[] = ['Task completion as described'];
export const DEFAULT_MANIFEST_MODEL: ModelName = 'sonnet';

export type ManifestTaskSource = Pick<
  Task,
  'id' | 'title' | 'description' | 'projectId' | 'createdAt' | 'parentId' | 'dependencies' | 'priority' | 'status' | 'model'
>;

export interface ServerManifestInput {
  role: Role;
  strategy: WorkerStrategy;
  project: Pick<Project, 'workingDir'>;
  /** The spawn's tasks in normalised `taskIds` order (at least one). */
  tasks: readonly ManifestTaskSource[];
  /** The spawn's skills; normalised again here (blank entries dropped, first occurrence kept). */
  skills: readonly string[];
  /** The spawn request's `context`, `{}` when absent. */
  context?: Record<string, unknown>;
  /** The template §10.3 resolves for the role, when there is one. */
  templateId?: string;
}

/** Spawn `skills` normalisation (docs/behaviour.md §8.1): blank entries dropped, duplicates removed, first kept. */
export function normaliseSkills(skills: readonly string[]): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const skill of skills) {
    if (typeof skill !== 'string' || !/\S/.test(skill) || seen.has(skill)) continue;
    seen.add(skill);
    result.push(skill);
  }
  return result;
}

/**
 * The server-mode manifest of docs/behaviour.md §1.10 (§8.5 `server` mode), built from in-memory entities. Throws a
 * plain Error when there is no task; the caller turns it into the manifest_generation_failed reason.
 */
export function buildServerManifest(input: ServerManifestInput): ServerManifest {
  if (input.tasks.length === 0) throw new Error('manifest needs at least one task');
  const taskIds = input.tasks.map((task) => task.id);
  const model = input.tasks.find((task) => task.model !== undefined)?.model ?? DEFAULT_MANIFEST_MODEL;

  const manifest: ServerManifest = {
    manifestVersion: MANIFEST_VERSION,
    role: input.role,
    ...(input.strategy === 'queue' ? { strategy: 'queue' as const } : {}),
    tasks: input.tasks.map(manifestTask),
    session: {
      model,
      permissionMode: 'acceptEdits',
      thinkingMode: 'auto',
      workingDirectory: input.project.workingDir,
    },
    // `taskIds` overrides a same-named key of the request's context; nothing else goes at the top level.
    context: { custom: { ...(input.context ?? {}), taskIds } },
    skills: normaliseSkills(input.skills),
  };
  if (input.templateId !== undefined) manifest.templateId = input.templateId;
  return manifest;
}

/** One `tasks[]` entry (docs/behaviour.md §1.10): exactly these ten keys. */
function manifestTask(task: ManifestTaskSource): ServerManifestTask {
  return {
    id: task.id,
    title: task.title,
    description: task.description,
    acceptanceCriteria: [...DEFAULT_ACCEPTANCE_CRITERIA],
    projectId: task.projectId,
    createdAt: new Date(task.createdAt).toISOString(),
    parentId: task.parentId,
    dependencies: [...task.dependencies],
    priority: task.priority,
    status: task.status,
  };
}
