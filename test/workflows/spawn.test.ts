import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Project, Session, SpawnRequest, Task } from '../../generated/types/index.js';
import { createSpawnHandlers, type SpawnHandlerConfig } from '../../src/handlers/spawn.js';
import { createTemplateHandlers } from '../../src/handlers/templates.js';
import type { SchemaValidator } from '../../src/spawn/finalise.js';
import { fileSystemIO, type StoreIO } from '../../src/store/index.js';
import { seedDefaultTemplates } from '../../src/templates/seed.js';
import { compileManifestSchema } from '../domain/helpers/manifest-schema.js';
import {
  cleanup,
  createProject,
  createSession,
  createTask,
  diskSnapshot,
  eventNames,
  expectError,
  HOST,
  memorySnapshot,
  openHarness,
  readJson,
  T0,
  tempDir,
  withBody,
  withParams,
  type Harness,
} from './helpers.js';

const FAKE_CLI = fileURLToPath(new URL('./fixtures/fake-maestro.mjs', import.meta.url));
const SERVER_URL = 'http://127.0.0.1:3999';
const NOW = T0 + 50;

let schema: SchemaValidator;
beforeAll(async () => {
  schema = await compileManifestSchema();
});

/** Records log lines as `[level, msg, obj]`. */
function recordingLogger() {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push([level, msg, obj]);
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

let h: Harness;
let sessionDir: string;
let project: Project;
let t1: Task;
let t2: Task;
let log: ReturnType<typeof recordingLogger>;

async function setup(options: { io?: StoreIO; seedTemplates?: boolean } = {}): Promise<void> {
  h = await openHarness(undefined, options.io ? { io: options.io } : {});
  if (options.seedTemplates !== false) await seedDefaultTemplates(h.store);
  sessionDir = path.join(await tempDir('maestro-sessions-'), 'sessions');
  project = await createProject(h.store, { workingDir: '/home/dev/demo' });
  t1 = await createTask(h.store, project.id, 'First task', { description: 'Do the first thing', priority: 'high' });
  t2 = await createTask(h.store, project.id, 'Second task', { dependencies: ['x'], model: 'opus' });
  log = recordingLogger();
  h.clearEvents();
  h.clock.set(NOW);
}

function spawner(config: Partial<SpawnHandlerConfig> = {}) {
  return createSpawnHandlers({
    store: h.store,
    config: {
      sessionDir,
      dataDir: h.dataDir,
      serverUrl: SERVER_URL,
      manifestGenerator: 'server',
      cliPath: 'maestro',
      validateManifest: schema,
      ...config,
    },
    host: HOST,
    logger: log,
  });
}

function spawn(body: Partial<SpawnRequest>, config: Partial<SpawnHandlerConfig> = {}) {
  return spawner(config).spawnSession(withBody({ projectId: project.id, taskIds: [t1.id], ...body } as SpawnRequest));
}

function workerTemplateId(): string {
  return h.store.listTemplates({ role: 'worker' })[0].id;
}

afterEach(cleanup);

describe('E20 server mode (docs/behaviour.md §8)', () => {
  beforeEach(() => setup());

  it('creates the spawning session, links the tasks, writes the manifest and answers 201 per §8.7', async () => {
    const t1Before = h.store.getTask(t1.id)!;
    const res = await spawn({
      taskIds: [t1.id, t2.id, t1.id],
      skills: ['maestro-worker', ' ', 'extra', 'maestro-worker'],
      context: { reason: 'split the work', taskIds: ['overridden'] },
    });
    const id = res.sessionId;
    expect(id).toMatch(/^sess_[0-9]+_[0-9a-z]{9}$/);
    const manifestPath = path.join(sessionDir, id, 'manifest.json');
    const envVars = {
      MAESTRO_SESSION_ID: id,
      MAESTRO_MANIFEST_PATH: manifestPath,
      MAESTRO_SERVER_URL: SERVER_URL,
      MAESTRO_STRATEGY: 'simple',
      DATA_DIR: h.dataDir,
      SESSION_DIR: sessionDir,
    };
    const session = h.store.getSession(id)!;
    expect(res).toEqual({
      success: true,
      sessionId: id,
      manifestPath,
      message: 'Spawn request sent to Agent Maestro',
      session,
      envVars,
      initialCommand: 'maestro worker init',
      cwd: '/home/dev/demo',
    });
    expect(Object.keys(res.envVars)).toEqual(Object.keys(envVars)); // exactly these keys (§8.4)

    expect(session).toEqual({
      id,
      projectId: project.id,
      taskIds: [t1.id, t2.id],
      name: `Worker for ${t1.id}`,
      env: envVars,
      strategy: 'simple',
      status: 'spawning',
      startedAt: NOW,
      lastActivity: NOW,
      completedAt: null,
      hostname: HOST.hostname,
      platform: HOST.platform,
      events: [],
      timeline: [
        { id: session.timeline[0].id, type: 'session_started', timestamp: NOW, message: 'Session started' },
        { id: session.timeline[1].id, type: 'task_started', timestamp: NOW, message: 'Task added to session', taskId: t1.id },
        { id: session.timeline[2].id, type: 'task_started', timestamp: NOW, message: 'Task added to session', taskId: t2.id },
      ],
      metadata: {
        skills: ['maestro-worker', 'extra'],
        spawnedBy: null,
        spawnSource: 'ui',
        role: 'worker',
        strategy: 'simple',
        context: { reason: 'split the work', taskIds: ['overridden'] },
      },
    });
    expect(session).not.toHaveProperty('agentId');

    // Task links only: sessionIds and updatedAt; status and sessionStatus untouched (§8.3 step 2).
    expect(h.store.getTask(t1.id)).toEqual({ ...t1Before, sessionIds: [id], updatedAt: NOW });
    expect(h.store.getTask(t2.id)).not.toHaveProperty('sessionStatus');

    // The manifest: exactly the CLI schema (§1.10), no unknown keys.
    const manifest = await readJson(manifestPath);
    expect(schema(manifest), JSON.stringify(schema.errors)).toBe(true);
    expect(manifest).toEqual({
      manifestVersion: '1.0',
      role: 'worker',
      tasks: [
        {
          id: t1.id,
          title: 'First task',
          description: 'Do the first thing',
          acceptanceCriteria: ['Task completion as described'],
          projectId: project.id,
          createdAt: new Date(t1.createdAt).toISOString(),
          parentId: null,
          dependencies: [],
          priority: 'high',
          status: 'todo',
        },
        {
          id: t2.id,
          title: 'Second task',
          description: '',
          acceptanceCriteria: ['Task completion as described'],
          projectId: project.id,
          createdAt: new Date(t2.createdAt).toISOString(),
          parentId: null,
          dependencies: ['x'],
          priority: 'medium',
          status: 'todo',
        },
      ],
      session: { model: 'opus', permissionMode: 'acceptEdits', thinkingMode: 'auto', workingDirectory: '/home/dev/demo' },
      context: { custom: { reason: 'split the work', taskIds: [t1.id, t2.id] } },
      skills: ['maestro-worker', 'extra'],
      templateId: workerTemplateId(),
    });

    // Events: session:spawn → task:session_added per task; one commit; nothing else.
    expect(h.commits).toHaveLength(1);
    expect(h.events).toEqual([
      {
        name: 'session:spawn',
        data: {
          session,
          command: 'maestro worker init',
          cwd: '/home/dev/demo',
          envVars,
          manifest,
          projectId: project.id,
          taskIds: [t1.id, t2.id],
          spawnSource: 'ui',
          parentSessionId: null,
          _isSpawnCreated: true,
        },
      },
      { name: 'task:session_added', data: { taskId: t1.id, sessionId: id } },
      { name: 'task:session_added', data: { taskId: t2.id, sessionId: id } },
    ]);

    // Persisted.
    expect(await diskSnapshot(h.dataDir)).toEqual(memorySnapshot(h.store));
    expect(h.store.getQueue(id)).toBeUndefined();
    await h.reopen();
    expect(h.store.getSession(id)).toEqual(session);
  });

  it('queue strategy: the queue is created from the taskIds, the manifest says "queue", queue:created comes last', async () => {
    const res = await spawn({ taskIds: [t2.id, t1.id], strategy: 'queue' });
    const id = res.sessionId;
    expect(res.session.strategy).toBe('queue');
    expect(res.envVars.MAESTRO_STRATEGY).toBe('queue');
    const queue = h.store.getQueue(id)!;
    expect(queue).toEqual({
      sessionId: id,
      strategy: 'queue',
      items: [
        { taskId: t2.id, status: 'queued', addedAt: NOW },
        { taskId: t1.id, status: 'queued', addedAt: NOW },
      ],
      currentIndex: -1,
      createdAt: NOW,
      updatedAt: NOW,
    });
    expect(await readJson(path.join(h.dataDir, 'queues', `${id}.json`))).toEqual(queue);
    const manifest = (await readJson(res.manifestPath)) as Record<string, unknown>;
    expect(manifest.strategy).toBe('queue');
    expect(schema(manifest)).toBe(true);
    expect(eventNames(h.events)).toEqual(['session:spawn', 'task:session_added', 'task:session_added', 'queue:created']);
    expect(h.events[3].data).toEqual({ sessionId: id, queue });
  });

  it('tree strategy is accepted and stored, and treated as simple in the manifest', async () => {
    const res = await spawn({ strategy: 'tree' });
    expect(res.session.strategy).toBe('tree');
    expect(res.session.metadata.strategy).toBe('tree');
    expect(res.envVars.MAESTRO_STRATEGY).toBe('tree');
    const manifest = (await readJson(res.manifestPath)) as Record<string, unknown>;
    expect(manifest).not.toHaveProperty('strategy');
    expect(schema(manifest)).toBe(true);
    expect(h.store.getQueue(res.sessionId)).toBeUndefined();
    expect(eventNames(h.events)).toEqual(['session:spawn', 'task:session_added']);
  });

  it('agent spawn (§11.11): the parent session, sessionName, orchestrator role', async () => {
    const parent = await createSession(h.store, { projectId: project.id, taskIds: [] });
    h.clearEvents();
    const res = await spawn({
      role: 'orchestrator',
      spawnSource: 'session',
      sessionId: parent.id,
      skills: ['maestro-orchestrator'],
      sessionName: 'Planner',
      context: { primaryTask: t1.id },
    });
    expect(res.session).toMatchObject({
      name: 'Planner',
      status: 'spawning',
      metadata: { role: 'orchestrator', spawnSource: 'session', spawnedBy: parent.id, skills: ['maestro-orchestrator'] },
    });
    expect(res.initialCommand).toBe('maestro orchestrator init');
    const spawnEvent = h.events[0].data as { command: string; parentSessionId: string; spawnSource: string };
    expect(spawnEvent).toMatchObject({ command: 'maestro orchestrator init', parentSessionId: parent.id, spawnSource: 'session' });
    const manifest = (await readJson(res.manifestPath)) as Record<string, unknown>;
    expect(manifest.role).toBe('orchestrator');
    expect(manifest.templateId).toBe(h.store.listTemplates({ role: 'orchestrator' })[0].id);
    // The parent session is not touched.
    expect(h.store.getSession(parent.id)).toEqual(parent);
    expect(eventNames(h.events)).not.toContain('session:updated');
  });

  it('legacy spawnedBy is the parent when sessionId is absent, null or blank; a ui spawn ignores both', async () => {
    const parent = await createSession(h.store, { projectId: project.id, taskIds: [] });
    for (const sessionId of [undefined, null, '  ']) {
      const res = await spawn({ spawnSource: 'session', sessionId, spawnedBy: parent.id } as Partial<SpawnRequest>);
      expect(res.session.metadata.spawnedBy).toBe(parent.id);
    }
    const ui = await spawn({ sessionId: 'sess_unknown', spawnedBy: 'sess_unknown' } as Partial<SpawnRequest>);
    expect(ui.session.metadata).toMatchObject({ spawnSource: 'ui', spawnedBy: null });
    expect(ui.session.name).toBe(`Worker for ${t1.id}`);
  });

  it('the name defaults to "Orchestrator for {firstTaskId}" for orchestrators', async () => {
    const res = await spawn({ role: 'orchestrator', taskIds: [t2.id, t1.id] });
    expect(res.session.name).toBe(`Orchestrator for ${t2.id}`);
  });

  it('without a template for the role the manifest has no templateId', async () => {
    const templates = createTemplateHandlers({ store: h.store });
    for (const t of h.store.listTemplates({ role: 'worker' })) await templates.deleteTemplate(withParams({ id: t.id }));
    const res = await spawn({});
    const manifest = (await readJson(res.manifestPath)) as Record<string, unknown>;
    expect(manifest).not.toHaveProperty('templateId');
    expect(schema(manifest)).toBe(true);
  });
});

describe('E20 lookups after the router validation (docs/behaviour.md §8.2 steps 9–11)', () => {
  beforeEach(() => setup());

  async function expectNothingCreated(before: Record<string, unknown>): Promise<void> {
    expect(await diskSnapshot(h.dataDir)).toEqual(before);
    expect(h.store.listSessions()).toEqual([]);
    expect(existsSync(sessionDir) ? await readdir(sessionDir) : []).toEqual([]);
    expect(h.events).toEqual([]);
  }

  it('each task exists, in order: 404 task_not_found with details.taskId of the first missing', async () => {
    const before = await diskSnapshot(h.dataDir);
    // The project is missing too, but tasks are checked first.
    await expectError(
      spawn({ projectId: 'proj_missing', taskIds: [t1.id, 'task_a', 'task_b'] }),
      404,
      'task_not_found',
      'Task task_a not found',
      { taskId: 'task_a' },
    );
    await expectNothingCreated(before);
  });

  it('then the project: 404 project_not_found', async () => {
    const before = await diskSnapshot(h.dataDir);
    const e = await expectError(spawn({ projectId: 'proj_missing' }), 404, 'project_not_found', 'Project proj_missing not found');
    expect(e.details).toBeUndefined();
    await expectNothingCreated(before);
  });

  it('then the parent session of a session spawn: 404 parent_session_not_found', async () => {
    const before = await diskSnapshot(h.dataDir);
    const e = await expectError(
      spawn({ spawnSource: 'session', sessionId: 'sess_gone' }),
      404,
      'parent_session_not_found',
      'Parent session sess_gone not found',
    );
    expect(e.message.toLowerCase()).toContain('not found'); // docs/behaviour.md §11.5
    await expectError(spawn({ spawnSource: 'session', spawnedBy: 'sess_old' } as Partial<SpawnRequest>), 404, 'parent_session_not_found', 'Parent session sess_old not found');
    await expectNothingCreated(before);
  });
});

describe('E20 failures after validation roll everything back (docs/behaviour.md §8.6)', () => {
  async function expectRolledBack(before: Record<string, unknown>, tasksBefore: Task[]): Promise<void> {
    expect(h.store.listSessions()).toEqual([]);
    expect(h.store.listTasks()).toEqual(tasksBefore);
    expect(await diskSnapshot(h.dataDir)).toEqual(before);
    expect(await readdir(path.join(h.dataDir, 'queues'))).toEqual([]);
    expect(existsSync(sessionDir) ? await readdir(sessionDir) : []).toEqual([]);
    expect(h.events).toEqual([]);
    expect(h.commits).toEqual([]);
  }

  it('a manifest that fails the schema check → 500 manifest_generation_failed', async () => {
    await setup();
    const before = await diskSnapshot(h.dataDir);
    const tasksBefore = h.store.listTasks();
    const reject: SchemaValidator = Object.assign(() => false, { errors: [{ instancePath: '/tasks', message: 'is wrong' }] });
    await expectError(
      spawn({ strategy: 'queue' }, { validateManifest: reject }),
      500,
      'manifest_generation_failed',
      /^Failed to generate manifest: manifest does not match the manifest schema: \/tasks is wrong$/,
    );
    await expectRolledBack(before, tasksBefore);
    expect(log.lines.some(([level, msg]) => level === 'error' && msg.includes('Spawn failed'))).toBe(true);
  });

  it('a store write failure → 500 spawn_error, with the manifest folder removed', async () => {
    let failSessions = false;
    const io: StoreIO = {
      ...fileSystemIO,
      writeFile: async (file, text) => {
        if (failSessions && file.includes(`${path.sep}sessions${path.sep}`)) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
        return fileSystemIO.writeFile(file, text);
      },
    };
    await setup({ io });
    const before = await diskSnapshot(h.dataDir);
    const tasksBefore = h.store.listTasks();
    failSessions = true;
    await expectError(spawn({ strategy: 'queue', taskIds: [t1.id, t2.id] }), 500, 'spawn_error', /disk full/);
    failSessions = false;
    await expectRolledBack(before, tasksBefore);
  });
});

describe('E20 cli mode (docs/behaviour.md §8.5) with a fake maestro CLI', () => {
  let record: string;
  beforeEach(async () => {
    await setup();
    record = path.join(await tempDir('maestro-record-'), 'record.json');
  });

  function cliConfig(mode: string, extra: Partial<SpawnHandlerConfig> = {}): Partial<SpawnHandlerConfig> {
    return {
      manifestGenerator: 'cli',
      cliPath: FAKE_CLI,
      cliEnv: { ...process.env, FAKE_MAESTRO_MODE: mode, FAKE_MAESTRO_RECORD: record },
      ...extra,
    };
  }

  it('runs the CLI with the arguments of docs/behaviour.md after the task files are on disk, then finalises its manifest', async () => {
    const res = await spawn({ taskIds: [t1.id, t2.id], skills: ['maestro-worker', 'extra'], strategy: 'tree' }, cliConfig('ok'));
    const id = res.sessionId;
    const seen = (await readJson(record)) as Record<string, unknown>;
    expect(seen).toEqual({
      args: [
        'manifest',
        'generate',
        '--role',
        'worker',
        '--project-id',
        project.id,
        '--task-ids',
        `${t1.id},${t2.id}`,
        '--skills',
        'maestro-worker,extra',
        '--strategy',
        'simple',
        '--output',
        res.manifestPath,
      ],
      DATA_DIR: h.dataDir,
      SESSION_DIR: sessionDir,
      // §8.3: the task files are on disk before the CLI runs. The CLI runs outside the store's write lock and
      // before the spawn's commit, so the new session and its links are not (the CLI does not read them, §11.16).
      tasksOnDisk: [true, true],
      sessionOnDisk: false,
      tasksLinkedOnDisk: [false, false],
    });
    const manifest = (await readJson(res.manifestPath)) as Record<string, unknown>;
    expect(schema(manifest), JSON.stringify(schema.errors)).toBe(true);
    expect(manifest).not.toHaveProperty('strategy'); // the CLI wrote "simple"; finalise removes it
    expect(manifest.templateId).toBe(workerTemplateId());
    expect(manifest.skills).toEqual(['maestro-worker', 'extra']);
    expect(h.events[0]).toMatchObject({ name: 'session:spawn', data: { manifest } });
    expect(eventNames(h.events)).toEqual(['session:spawn', 'task:session_added', 'task:session_added']);
    expect(h.store.getSession(id)?.status).toBe('spawning');
    // The captured CLI output is logged (§6.5).
    expect(log.lines.some(([, , obj]) => String(obj.stdout ?? '').includes('Manifest written to'))).toBe(true);
  });

  it('queue spawn passes --strategy queue, and an empty skill list as ""', async () => {
    const res = await spawn({ strategy: 'queue' }, cliConfig('ok'));
    const { args } = (await readJson(record)) as { args: string[] };
    expect(args[args.indexOf('--strategy') + 1]).toBe('queue');
    expect(args[args.indexOf('--skills') + 1]).toBe('');
    expect(((await readJson(res.manifestPath)) as Record<string, unknown>).strategy).toBe('queue');
    expect(eventNames(h.events).at(-1)).toBe('queue:created');
  });

  async function expectCliFailure(config: Partial<SpawnHandlerConfig>, message: RegExp): Promise<void> {
    const before = await diskSnapshot(h.dataDir);
    const tasksBefore = h.store.listTasks();
    await expectError(spawn({ strategy: 'queue', taskIds: [t1.id, t2.id] }, config), 500, 'manifest_generation_failed', message);
    expect(h.store.listSessions()).toEqual([]);
    expect(h.store.listTasks()).toEqual(tasksBefore);
    expect(h.store.listTasks().every((t) => t.sessionIds.length === 0)).toBe(true);
    expect(await diskSnapshot(h.dataDir)).toEqual(before);
    expect(await readdir(path.join(h.dataDir, 'queues'))).toEqual([]);
    expect(await readdir(path.join(h.dataDir, 'sessions'))).toEqual([]);
    expect(existsSync(sessionDir) ? await readdir(sessionDir) : []).toEqual([]);
    expect(h.events).toEqual([]);
  }

  it('non-zero exit → 500 manifest_generation_failed and a full rollback (nothing had been created)', async () => {
    await expectCliFailure(cliConfig('fail'), /^Failed to generate manifest: Manifest generation failed \(exit code 3\): .*something broke/);
    // The CLI ran before the spawn's commit: it saw the tasks but no session, and nothing of the spawn is left.
    expect((await readJson(record)) as object).toMatchObject({ tasksOnDisk: [true, true], sessionOnDisk: false });
    const failure = log.lines.find(([level]) => level === 'error');
    expect(failure?.[2]).toMatchObject({ code: 'manifest_generation_failed', cliStdout: 'progress\n' });
  });

  it('a CLI that hangs past the time limit is killed → 500 manifest_generation_failed', async () => {
    const started = Date.now();
    await expectCliFailure(cliConfig('hang', { cliTimeoutMs: 300 }), /^Failed to generate manifest: Manifest generation timed out after 0\.3 s$/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a missing binary → 500 manifest_generation_failed "maestro CLI not found…"', async () => {
    await expectCliFailure(
      cliConfig('ok', { cliPath: path.join(sessionDir, 'no-such-maestro') }),
      /^Failed to generate manifest: maestro CLI not found\. Please install maestro: npm install -g maestro-cli$/,
    );
  });

  it('a retry after a failure succeeds and leaves exactly one session', async () => {
    await expectCliFailure(cliConfig('fail'), /exit code 3/);
    const res = await spawn({ strategy: 'queue', taskIds: [t1.id, t2.id] }, cliConfig('ok'));
    expect(h.store.listSessions().map((s: Session) => s.id)).toEqual([res.sessionId]);
    expect(h.store.getTask(t1.id)!.sessionIds).toEqual([res.sessionId]);
    expect(await readdir(sessionDir)).toEqual([res.sessionId]);
  });
});
