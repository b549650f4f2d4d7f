/**
 * The lookups of a spawn (docs/behaviour.md §8.2 steps 9–11) and what they establish. Reads only: the spawn
 * service runs them once before the manifest is written and again inside the mutation that commits the session,
 * and compares the two with `manifestKey`.
 */
import type { Task } from '../../generated/types/index.js';
import { ContractError } from '../contract-error.js';
import type { StoreReader } from '../store/index.js';
import { resolveTemplateForRole } from '../templates/resolve.js';
import { buildServerManifest } from './manifest.js';
import type { SpawnOrder } from './order.js';

/** What the lookups found for an order, at one moment of the store. */
export interface SpawnPlan {
  order: SpawnOrder;
  /** The order's tasks, in `taskIds` order. */
  tasks: Task[];
  /** The project's `workingDir`: the session's `cwd` and the manifest's `workingDirectory`. */
  workingDir: string;
  /** The template §10.3 resolves for the role (its id goes into the manifest); undefined when there is none. */
  templateId: string | undefined;
}

/**
 * §8.2 steps 9–11, in this order: each task exists, in `taskIds` order (404 `task_not_found` with
 * `details.taskId`) → the project exists (404 `project_not_found`) → for a `session` spawn, the parent session
 * exists (404 `parent_session_not_found`).
 */
export function planSpawn(reader: StoreReader, order: SpawnOrder): SpawnPlan {
  const tasks: Task[] = [];
  for (const taskId of order.taskIds) {
    const task = reader.getTask(taskId);
    if (task === undefined) throw new ContractError(404, 'task_not_found', `Task ${taskId} not found`, { taskId });
    tasks.push(task);
  }
  const project = reader.getProject(order.projectId);
  if (project === undefined) throw new ContractError(404, 'project_not_found', `Project ${order.projectId} not found`);
  if (order.spawnSource === 'session') {
    // The router has already refused a session spawn without a usable parent id (step 5); kept for direct callers.
    if (order.parentSessionId === null) {
      throw new ContractError(400, 'missing_session_id', "sessionId is required when spawnSource is 'session'");
    }
    if (reader.getSession(order.parentSessionId) === undefined) {
      throw new ContractError(404, 'parent_session_not_found', `Parent session ${order.parentSessionId} not found`);
    }
  }
  return {
    order,
    tasks,
    workingDir: project.workingDir,
    // §10.3: the role's template; spawn goes on without one.
    templateId: resolveTemplateForRole(reader.listTemplates({ role: order.role }), order.role)?.id,
  };
}

/**
 * Everything of the store that a server-mode manifest is made of (the tasks' manifest fields, the project's
 * workingDir, the role's template), as one string: two plans with the same key give the same manifest. In cli
 * mode the CLI reads the same entities from DATA_DIR, so the key tells the same there.
 */
export function manifestKey(plan: SpawnPlan): string {
  try {
    return JSON.stringify(
      buildServerManifest({
        role: plan.order.role,
        strategy: plan.order.strategy,
        project: { workingDir: plan.workingDir },
        tasks: plan.tasks,
        skills: plan.order.skills,
        context: plan.order.context,
        templateId: plan.templateId,
      }),
    );
  } catch (error) {
    // Cannot happen after validation (taskIds is never empty); generation reports the real error.
    return `unbuildable: ${error instanceof Error ? error.message : String(error)}`;
  }
}
