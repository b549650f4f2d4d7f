/**
 * The store side of a spawn, run inside the one mutation that commits it (docs/behaviour.md §8.3 steps 1–3 and 5,
 * §8.7): the session, its task links, its queue, the events and the answer. No files here: the manifest is already
 * on disk, and the store writes the entities durably before it hands the events on.
 *
 * Events, in this order: `session:spawn` → `task:session_added` per task (`taskIds` order) → `queue:created`
 * (strategy `queue` only). Never `session:created`, `session:task_added` or `session:updated`.
 */
import type { Session, SpawnRequestEvent, SpawnResponse } from '../../generated/types/index.js';
import { attachTasksToNewSession, buildNewSession, type HostFacts } from '../domain/new-session.js';
import { createQueue } from '../queue/queue-ops.js';
import type { StoreEvent, Tx } from '../store/index.js';
import { spawnCommandFor, type SpawnEnvVars } from './env.js';
import type { GeneratedManifest } from './generate.js';
import type { SpawnPlan } from './plan.js';

const SPAWN_MESSAGE = 'Spawn request sent to Agent Maestro';

export interface SpawnCommitInput {
  sessionId: string;
  /** The plan re-read inside this mutation (it gave the manifest's key). */
  plan: SpawnPlan;
  manifest: GeneratedManifest;
  /** §8.4 for this session id. */
  envVars: SpawnEnvVars;
  host: HostFacts;
}

/** Puts the session, links and queue, emits the events and returns the 201 answer. */
export function commitSpawn(tx: Tx, input: SpawnCommitInput): SpawnResponse {
  const { sessionId, plan, envVars } = input;
  const { order } = plan;
  const { session, events } = createEntities(tx, input);
  tx.emit('session:spawn', {
    session: session as SpawnRequestEvent['session'],
    command: spawnCommandFor(order.role),
    cwd: plan.workingDir,
    envVars: { ...envVars },
    manifest: input.manifest.manifest,
    projectId: order.projectId,
    taskIds: order.taskIds,
    spawnSource: order.spawnSource,
    parentSessionId: order.parentSessionId,
    _isSpawnCreated: true,
  });
  for (const event of events) tx.emitEvent(event);
  return {
    success: true,
    sessionId,
    manifestPath: input.manifest.manifestPath,
    message: SPAWN_MESSAGE,
    session: session as SpawnResponse['session'],
    envVars: { ...envVars },
    initialCommand: spawnCommandFor(order.role) as SpawnResponse['initialCommand'],
    cwd: plan.workingDir,
  };
}

/**
 * §8.3 steps 1–3: the `spawning` session (env, metadata of §1.4, initial timeline), each task's link
 * (`sessionIds` + `updatedAt` only; status and sessionStatus untouched), the queue. Returns the session and the
 * events that follow `session:spawn`.
 */
function createEntities(tx: Tx, input: SpawnCommitInput): { session: Session; events: StoreEvent[] } {
  const { sessionId, plan, envVars } = input;
  const { order } = plan;
  const session = buildNewSession(
    tx,
    {
      id: sessionId,
      projectId: order.projectId,
      taskIds: order.taskIds,
      name: order.name,
      env: { ...envVars },
      strategy: order.strategy,
      status: 'spawning',
      metadata: {
        skills: order.skills,
        spawnedBy: order.parentSessionId,
        spawnSource: order.spawnSource,
        role: order.role,
        strategy: order.strategy,
        context: order.context,
      },
    },
    input.host,
  );
  tx.putSession(session);
  const events = attachTasksToNewSession(tx, session);
  if (order.strategy === 'queue') {
    const queue = createQueue(sessionId, order.taskIds, tx.now);
    tx.putQueue(queue);
    events.push({ name: 'queue:created', data: { sessionId, queue } });
  }
  return { session, events };
}
