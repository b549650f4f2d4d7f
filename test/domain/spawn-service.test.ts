/**
 * The spawn service (src/spawn/service.ts) on its own: a real file store in a temp folder, the real fake CLI child
 * process (test/domain/fixtures/fake-maestro.mjs), and the `afterManifest` seam to change the store between a
 * manifest and its commit. These are the paths the endpoint tests do not reach: a generation that fails on a
 * later attempt (after the reserve and a retry), the last attempt failing inside the commit mutation after its
 * flush, and the session id taken under the last attempt. Plus the §8.1 mapping of src/spawn/order.ts.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SpawnRequest } from '../../generated/types/index.js';
import { ContractError } from '../../src/contract-error.js';
import { createProjectHandlers } from '../../src/handlers/projects.js';
import { createSessionHandlers } from '../../src/handlers/sessions.js';
import { createTaskHandlers } from '../../src/handlers/tasks.js';
import { spawnOrderFrom } from '../../src/spawn/order.js';
import { OPTIMISTIC_ATTEMPTS, SpawnService, type SpawnHooks } from '../../src/spawn/service.js';
import { Store, type StoreEvent } from '../../src/store/index.js';

const FAKE_CLI = fileURLToPath(new URL('./fixtures/fake-maestro.mjs', import.meta.url));
const HOST = { hostname: 'test-host', platform: 'linux' };
const none = { params: {}, query: {} } as const;

let root: string;
let store: Store;
let events: StoreEvent[];
let errors: Array<Record<string, unknown>>;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'maestro-spawn-service-'));
  events = [];
  errors = [];
  store = await Store.open({ dataDir: path.join(root, 'data'), onCommit: (batch) => void events.push(...batch) });
});

afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

const sessionDir = () => path.join(root, 'sessions');
const dataDir = () => path.join(root, 'data');

/** A project and one task, through the real handlers; the events they made are cleared. */
async function fixture(): Promise<{ projectId: string; taskId: string }> {
  const project = await createProjectHandlers({ store }).createProject({ ...none, body: { name: 'P', workingDir: '/tmp/p' } });
  const task = await createTaskHandlers({ store }).createTask({ ...none, body: { projectId: project.id, title: 'T1' } });
  events.length = 0;
  return { projectId: project.id, taskId: task.id };
}

function rename(taskId: string, title: string) {
  return createTaskHandlers({ store }).updateTask({ params: { id: taskId }, query: {}, readBody: () => ({ title }) });
}

/**
 * A cli-mode service whose CLI is the fake, reading task titles from DATA_DIR. `cliEnv` is the object the service
 * spreads into each child's environment, so a hook may switch the fake's mode for the next run.
 */
function cliService(hooks: SpawnHooks) {
  const cliEnv: NodeJS.ProcessEnv = { ...process.env, FAKE_MAESTRO_MODE: 'ok', FAKE_MAESTRO_READ_DATA: '1', FAKE_MAESTRO_CALLS: path.join(root, 'calls.txt') };
  const service = new SpawnService({
    store,
    host: HOST,
    hooks,
    logger: { info: () => undefined, warn: () => undefined, error: (obj) => void errors.push(obj) },
    config: { sessionDir: sessionDir(), dataDir: dataDir(), serverUrl: 'http://127.0.0.1:3999', manifestGenerator: 'cli', cliPath: FAKE_CLI, cliEnv },
  });
  return { service, cliEnv };
}

async function cliCalls(): Promise<string[]> {
  return (await readFile(path.join(root, 'calls.txt'), 'utf8')).split('\n').filter(Boolean);
}

/** Every file under `dir` (relative path → content), the DATA_DIR lock left out. */
async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name === '.lock') continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = await readFile(file, 'utf8');
  }
  return out;
}

async function expectFailure(spawning: Promise<unknown>, status: number, code: string): Promise<ContractError> {
  const error = await spawning.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ContractError);
  expect(error).toMatchObject({ status, code });
  return error as ContractError;
}

describe('SpawnService, cli mode: failures after the reserve roll back to the state before the spawn (§8.6)', () => {
  it('the CLI succeeds, the task is renamed, the CLI fails on the retry: 500, no session, no link, no folder, only the rename', async () => {
    const { projectId, taskId } = await fixture();
    const { service, cliEnv } = cliService({
      afterManifest: async ({ attempt }) => {
        if (attempt !== 1) return;
        await rename(taskId, 'renamed');
        cliEnv.FAKE_MAESTRO_MODE = 'fail';
      },
    });
    const order = spawnOrderFrom({ projectId, taskIds: [taskId], strategy: 'queue' });
    const error = await expectFailure(service.spawn(order), 500, 'manifest_generation_failed');
    expect(error.message).toMatch(/^Failed to generate manifest: Manifest generation failed \(exit code 3\)/);
    const [first, second] = await cliCalls();
    expect(second).toBe(first); // the retry ran the CLI again for the same reserved id
    expect(events.map((e) => e.name)).toEqual(['task:updated']);
    expect(store.listSessions()).toEqual([]);
    expect(store.getTask(taskId)).toMatchObject({ title: 'renamed', sessionIds: [] });
    expect(Object.keys(await files(dataDir())).filter((f) => !f.startsWith('projects') && !f.startsWith('tasks'))).toEqual([]);
    expect(await readdir(sessionDir())).toEqual([]);
    expect(errors).toEqual([expect.objectContaining({ code: 'manifest_generation_failed', sessionId: path.basename(path.dirname(first!)) })]);
  });

  it('the last attempt runs the CLI inside the mutation, after its flush, and the CLI fails: the flushed renames stay, nothing of the spawn', async () => {
    const { projectId, taskId } = await fixture();
    let renames = 0;
    const { service, cliEnv } = cliService({
      afterManifest: async ({ attempt }) => {
        await rename(taskId, `rename ${++renames}`);
        if (attempt === OPTIMISTIC_ATTEMPTS) cliEnv.FAKE_MAESTRO_MODE = 'fail';
      },
    });
    await expectFailure(service.spawn(spawnOrderFrom({ projectId, taskIds: [taskId] })), 500, 'manifest_generation_failed');
    expect(await cliCalls()).toHaveLength(OPTIMISTIC_ATTEMPTS + 1);
    expect(events.map((e) => e.name)).toEqual(Array(OPTIMISTIC_ATTEMPTS).fill('task:updated'));
    expect(store.listSessions()).toEqual([]);
    const onDisk = await files(dataDir());
    const taskFile = Object.keys(onDisk).find((f) => f.startsWith('tasks'))!;
    expect(JSON.parse(onDisk[taskFile]!)).toMatchObject({ title: `rename ${OPTIMISTIC_ATTEMPTS}`, sessionIds: [] });
    expect(Object.keys(onDisk).filter((f) => f.startsWith('sessions') || f.startsWith('queues'))).toEqual([]);
    expect(await readdir(sessionDir())).toEqual([]);
  });

  it('the reserved id is taken under the last attempt: the mutation takes another id, and only that folder is left', async () => {
    const { projectId, taskId } = await fixture();
    let taken = '';
    const { service } = cliService({
      afterManifest: async ({ sessionId, attempt }) => {
        if (attempt < OPTIMISTIC_ATTEMPTS) {
          await rename(taskId, `rename ${attempt}`);
          return;
        }
        taken = sessionId;
        await createSessionHandlers({ store, host: HOST }).createSession({ ...none, body: { id: sessionId, projectId, taskIds: [] } });
      },
    });
    const res = await service.spawn(spawnOrderFrom({ projectId, taskIds: [taskId] }));
    expect(res.sessionId).not.toBe(taken);
    const calls = await cliCalls();
    expect(calls).toEqual([...Array(OPTIMISTIC_ATTEMPTS).fill(path.join(sessionDir(), taken, 'manifest.json')), res.manifestPath]);
    expect(await readdir(sessionDir())).toEqual([res.sessionId]);
    const manifest = JSON.parse(await readFile(res.manifestPath, 'utf8'));
    expect(manifest.tasks[0].title).toBe(`rename ${OPTIMISTIC_ATTEMPTS - 1}`);
    expect(events.map((e) => e.name)).toEqual([
      ...Array(OPTIMISTIC_ATTEMPTS - 1).fill('task:updated'),
      'session:created',
      'session:spawn',
      'task:session_added',
    ]);
    expect(events.find((e) => e.name === 'session:spawn')!.data).toMatchObject({ manifest, session: { id: res.sessionId } });
    expect(store.getSession(taken)).toMatchObject({ taskIds: [] });
    expect(store.getTask(taskId)!.sessionIds).toEqual([res.sessionId]);
  });
});

describe('spawnOrderFrom: the §8.1 defaults and normalisations', () => {
  const base: SpawnRequest = { projectId: 'proj_1', taskIds: ['task_b', 'task_a', 'task_b'] };

  it('fills the defaults and drops duplicate task ids, first kept', () => {
    expect(spawnOrderFrom(base)).toEqual({
      projectId: 'proj_1',
      taskIds: ['task_b', 'task_a'],
      role: 'worker',
      strategy: 'simple',
      spawnSource: 'ui',
      parentSessionId: null,
      skills: [],
      context: {},
      name: 'Worker for task_b',
    });
    expect(spawnOrderFrom({ ...base, role: 'orchestrator', sessionName: 'Mine' })).toMatchObject({ name: 'Mine' });
    expect(spawnOrderFrom({ ...base, role: 'orchestrator' })).toMatchObject({ name: 'Orchestrator for task_b' });
  });

  it('skills lose blanks and duplicates; the context is a copy', () => {
    const context = { reason: 'x' };
    const order = spawnOrderFrom({ ...base, skills: ['a', ' ', 'b', 'a', ''], context });
    expect(order.skills).toEqual(['a', 'b']);
    expect(order.context).toEqual(context);
    expect(order.context).not.toBe(context);
  });

  it('the parent: sessionId, else spawnedBy when sessionId is blank; ignored for ui spawns', () => {
    expect(spawnOrderFrom({ ...base, spawnSource: 'session', sessionId: 'sess_p', spawnedBy: 'sess_q' }).parentSessionId).toBe('sess_p');
    expect(spawnOrderFrom({ ...base, spawnSource: 'session', sessionId: '  ', spawnedBy: 'sess_q' }).parentSessionId).toBe('sess_q');
    expect(spawnOrderFrom({ ...base, spawnSource: 'session' }).parentSessionId).toBeNull();
    expect(spawnOrderFrom({ ...base, sessionId: 'sess_p' }).parentSessionId).toBeNull();
  });
});
