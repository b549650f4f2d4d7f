/**
 * Spawn in both manifest modes (docs/behaviour.md §8.5, §1.10, §1.11), each spawn's events checked against the AsyncAPI
 * catalogue by the recorder (harness.ts): `server` mode on the main server, `cli` mode on a server whose
 * MAESTRO_CLI_PATH is the fake CLI of test/domain/fixtures (a CLI-like manifest; one with an empty `tasks[]`;
 * an older CLI's single `task`). Every spawn gets its exact event sequence, its `session:spawn` manifest must be
 * the file on disk, and the hub must not have refused any event (it validates every broadcast).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EventRecorder, must, Target, type Conformance } from './harness.js';
import { startWithSkills, type Started } from './servers.js';
import { repoRoot } from './spec-model.js';
import { same, step, type Ctx } from './steps.js';

const FAKE_CLI = path.join(repoRoot, 'test/domain/fixtures/fake-maestro.mjs');

interface SpawnCase {
  label: string;
  body: Record<string, unknown>;
  /** The fake CLI's behaviour (cli mode only). */
  cliMode?: 'ok' | 'no-tasks' | 'legacy-task';
  /** What the manifest's task list must look like. */
  tasks: 'per-task' | 'empty' | 'legacy-task';
}

/** A cli-mode server running the fake `maestro` CLI. */
export function startFakeCliMode(): Promise<Started> {
  return startWithSkills({ env: { MANIFEST_GENERATOR: 'cli', MAESTRO_CLI_PATH: FAKE_CLI } });
}

async function fixture(ctx: Ctx, label: string): Promise<{ projectId: string; taskIds: string[] }> {
  const json = (body: unknown) => ({ json: body });
  const p = await step(ctx, 'createProject', json({ name: `spawn ${label}`, workingDir: `/tmp/spawn-${label}` }), { status: 201, events: ['project:created'] });
  const taskIds: string[] = [];
  for (const title of ['first', 'second']) {
    const t = await step(ctx, 'createTask', json({ projectId: p.body.id, title, model: 'opus' }), { status: 201, events: ['task:created'] });
    taskIds.push(t.body.id);
  }
  return { projectId: p.body.id, taskIds };
}

async function spawnCases(ctx: Ctx, mode: 'server' | 'cli', cases: SpawnCase[]): Promise<void> {
  const { projectId, taskIds } = await fixture(ctx, mode);
  for (const sc of cases) {
    const body: Record<string, unknown> = { projectId, taskIds, ...sc.body };
    const previous = process.env.FAKE_MAESTRO_MODE;
    if (sc.cliMode !== undefined) process.env.FAKE_MAESTRO_MODE = sc.cliMode; // the CLI inherits the server's environment (§8.5)
    let r;
    try {
      r = await step(ctx, 'spawnSession', { json: body }, {
        status: 201,
        events: ['session:spawn', ...taskIds.map(() => 'task:session_added'), ...(body.strategy === 'queue' ? ['queue:created'] : [])],
      });
    } finally {
      if (previous === undefined) delete process.env.FAKE_MAESTRO_MODE;
      else process.env.FAKE_MAESTRO_MODE = previous;
    }
    const what = `${mode} mode, ${sc.label}`;
    const spawnEvent = r.events[0]!.data as Record<string, any>;
    const onDisk = JSON.parse(readFileSync(r.body.manifestPath, 'utf8'));
    same(spawnEvent.manifest, onDisk, `${what}: session:spawn manifest is the file on disk (§1.11)`, r.sent);
    same(spawnEvent.session, r.body.session, `${what}: session:spawn session is the response's session`, r.sent);
    if (sc.tasks === 'per-task') same(onDisk.tasks.map((t: { id: string }) => t.id), taskIds, `${what}: one manifest task per spawn task`, r.sent);
    if (sc.tasks === 'empty') same(onDisk.tasks, [], `${what}: the CLI's empty tasks[] is kept`, r.sent);
    if (sc.tasks === 'legacy-task') must(onDisk.task?.id === taskIds[0] && !('tasks' in onDisk), `${what}: the CLI's single task is kept`, r.sent);
    same(onDisk.strategy, body.strategy === 'queue' ? 'queue' : undefined, `${what}: strategy only for queue spawns (§8.5)`, r.sent);
  }
  const refused = ctx.main.server.hub.invalidEvents;
  must(refused === 0, `${mode} mode: the hub refused ${refused} event(s) as off-spec`);
}

/** `server` mode on the main server. */
export async function spawnServerMode(ctx: Ctx): Promise<void> {
  await spawnCases(ctx, 'server', [
    { label: 'worker, simple', body: { role: 'worker', skills: ['maestro-worker'] }, tasks: 'per-task' },
    { label: 'orchestrator, queue, context', body: { role: 'orchestrator', strategy: 'queue', context: { reason: 'r' } }, tasks: 'per-task' },
    { label: 'tree', body: { strategy: 'tree', sessionName: 'tree spawn' }, tasks: 'per-task' },
  ]);
}

/** `cli` mode on its own server with the fake CLI. */
export async function spawnCliMode(c: Conformance, cli: Started): Promise<void> {
  const t = new Target('cli-fake', cli.server.port);
  const rec = await EventRecorder.open(cli.server.port, c.spec, c.coverage);
  try {
    await spawnCases({ c, t, rec, main: cli }, 'cli', [
      { label: 'CLI manifest, simple', body: { skills: ['maestro-worker'] }, cliMode: 'ok', tasks: 'per-task' },
      { label: 'CLI manifest, queue, orchestrator', body: { role: 'orchestrator', strategy: 'queue' }, cliMode: 'ok', tasks: 'per-task' },
      { label: 'CLI manifest without tasks (§8.5: a warning)', body: {}, cliMode: 'no-tasks', tasks: 'empty' },
      { label: 'older CLI manifest with a single task, tree', body: { strategy: 'tree' }, cliMode: 'legacy-task', tasks: 'legacy-task' },
    ]);
  } finally {
    rec.close();
    t.close();
  }
}
