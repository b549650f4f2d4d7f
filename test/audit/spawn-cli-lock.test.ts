/**
 * cli mode runs the `maestro` CLI outside the store's write lock (src/spawn/service.ts, docs/decisions.md): while
 * a slow CLI runs, other writes are answered before the spawn is, and the spawn's outcome is still that of a spawn
 * serialised at its commit — the same answer, events and rollback as docs/behaviour.md §8 asks. Real server, real
 * port, the fake CLI of test/domain/fixtures/fake-maestro.mjs with FAKE_MAESTRO_DELAY_MS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SpawnHooks } from '../../src/spawn/service.js';
import { expectError, expectEvents, startApi, type Api } from '../api/harness.js';
import type { RawResponse } from '../support/http.js';
import { testConfig } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { startAudit, type AuditServer } from './helpers.js';
import { expectSpawnCommitted, spawnEventNames } from './spawn-helpers.js';

const FAKE_CLI = path.resolve('test/domain/fixtures/fake-maestro.mjs');

let api: Api | undefined;
let audit: AuditServer | undefined;
let calls: string;

beforeEach(() => {
  const config = testConfig({ MANIFEST_GENERATOR: 'cli', MAESTRO_CLI_PATH: FAKE_CLI });
  calls = path.join(config.dataDir, '..', 'cli-calls.txt');
  process.env.FAKE_MAESTRO_CALLS = calls;
  return startApi(config).then((a) => {
    api = a;
  });
});

afterEach(async () => {
  delete process.env.FAKE_MAESTRO_CALLS;
  delete process.env.FAKE_MAESTRO_DELAY_MS;
  delete process.env.FAKE_MAESTRO_MODE;
  delete process.env.FAKE_MAESTRO_READ_DATA;
  await api?.close();
  api = undefined;
  await audit?.close();
  audit = undefined;
});

/** The --output paths of the CLI calls so far. */
function cliCalls(): string[] {
  return fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').split('\n').filter(Boolean) : [];
}

/**
 * Resolves once the CLI has been called `n` times: the positive signal that a spawn is inside its CLI (the fake
 * CLI appends its call before it sleeps FAKE_MAESTRO_DELAY_MS), so the writes sent next overlap it.
 */
async function cliStarted(n: number): Promise<string> {
  await waitFor(() => cliCalls().length >= n, 10_000, `the CLI called ${n} times`);
  return cliCalls()[n - 1]!;
}

/** Records the order in which requests are answered. */
function tracker() {
  const order: string[] = [];
  const track = <T extends RawResponse>(name: string, p: Promise<T>): Promise<T> =>
    p.then((res) => {
      order.push(name);
      return res;
    });
  return { order, track };
}

async function fixture(a: Api) {
  const p = (await a.json('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' })).json as { id: string };
  const t1 = (await a.json('POST', '/api/tasks', { projectId: p.id, title: 'spawned' })).json as { id: string };
  const t2 = (await a.json('POST', '/api/tasks', { projectId: p.id, title: 'other' })).json as { id: string };
  await expectEvents(a, ['project:created', 'task:created', 'task:created']);
  return { p, t1, t2 };
}

function sessionDirs(a: Api): string[] {
  return fs.existsSync(a.config.sessionDir) ? fs.readdirSync(a.config.sessionDir).sort() : [];
}

describe('cli mode: the CLI runs outside the write lock', () => {
  it('while a slow CLI runs, a task PATCH and a project create are answered before the spawn; the spawn is unchanged', async () => {
    const a = api!;
    const { p, t1, t2 } = await fixture(a);
    process.env.FAKE_MAESTRO_DELAY_MS = '3000';
    const { order, track } = tracker();
    const spawn = track('spawn', a.json('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id], strategy: 'queue' }));
    await cliStarted(1);
    const patch = track('patch', a.json('PATCH', `/api/tasks/${t2.id}`, { title: 'renamed meanwhile' }));
    const project = track('project', a.json('POST', '/api/projects', { name: 'Q', workingDir: '/tmp/q' }));
    expect((await patch).status).toBe(200);
    expect((await project).status).toBe(201);
    const res = await spawn;
    expect(res.status, res.text).toBe(201);
    // The positive signal: both writes were answered while the spawn was still waiting for its CLI.
    expect(order).toEqual(['patch', 'project', 'spawn']);

    const body = res.json as { sessionId: string; manifestPath: string; session: { id: string; status: string } };
    expect(body.manifestPath).toBe(path.join(a.config.sessionDir, body.sessionId, 'manifest.json'));
    expect(cliCalls()).toEqual([body.manifestPath]);
    expect(body.session).toMatchObject({ id: body.sessionId, status: 'spawning', taskIds: [t1.id] });
    const spawned = { taskIds: [t1.id], strategy: 'queue' };
    const before = ['task:updated', 'project:created'];
    const events = await expectEvents(a, [...before, ...spawnEventNames(spawned)]);
    expectSpawnCommitted(events, { before, spawn: spawned, answer: body, sessionDir: a.config.sessionDir });
    const task = (await a.json('GET', `/api/tasks/${t1.id}`, undefined)).json as { sessionIds: string[] };
    expect(task.sessionIds).toEqual([body.sessionId]);
  });

  it('a slow CLI that fails: other writes are answered first, and the spawn still rolls back fully (§8.6)', async () => {
    const a = api!;
    const { p, t1, t2 } = await fixture(a);
    const before = {
      sessions: (await a.json('GET', '/api/sessions', undefined)).json,
      task: (await a.json('GET', `/api/tasks/${t1.id}`, undefined)).json,
    };
    process.env.FAKE_MAESTRO_DELAY_MS = '1500';
    process.env.FAKE_MAESTRO_MODE = 'fail';
    const { order, track } = tracker();
    const spawn = track('spawn', a.json('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id], strategy: 'queue' }));
    const output = await cliStarted(1);
    expect(fs.existsSync(path.dirname(output))).toBe(true); // the folder is made before the CLI runs (§8.3 step 4)
    const patch = track('patch', a.json('PATCH', `/api/tasks/${t2.id}`, { priority: 'high' }));
    expect((await patch).status).toBe(200);
    const res = await spawn;
    expect(order).toEqual(['patch', 'spawn']);
    expectError(res, 500, 'manifest_generation_failed');
    expect((res.json as { message: string }).message).toMatch(/^Failed to generate manifest: Manifest generation failed \(exit code 3\)/);
    // Only the PATCH's event: nothing of the spawn.
    await expectEvents(a, ['task:updated']);
    expect((await a.json('GET', '/api/sessions', undefined)).json).toEqual(before.sessions);
    expect((await a.json('GET', `/api/tasks/${t1.id}`, undefined)).json).toEqual(before.task);
    expect(sessionDirs(a)).toEqual([]);
    expect(fs.readdirSync(path.join(a.config.dataDir, 'queues'))).toEqual([]);
    expect(fs.readdirSync(path.join(a.config.dataDir, 'sessions'))).toEqual([]);
  });

  it('E14 creates a session with the reserved id while the CLI runs: E14 succeeds, the spawn takes another id', async () => {
    const a = api!;
    const { p, t1, t2 } = await fixture(a);
    process.env.FAKE_MAESTRO_DELAY_MS = '1500';
    const { order, track } = tracker();
    const spawn = track('spawn', a.json('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id] }));
    const reserved = path.basename(path.dirname(await cliStarted(1)));
    const e14 = track('e14', a.json('POST', '/api/sessions', { id: reserved, projectId: p.id, taskIds: [t2.id] }));
    expect((await e14).status).toBe(201);
    const res = await spawn;
    expect(res.status, res.text).toBe(201);
    expect(order).toEqual(['e14', 'spawn']);
    const body = res.json as { sessionId: string; manifestPath: string };
    expect(body.sessionId).not.toBe(reserved);
    // The CLI ran again for the new id; the reserved id's folder was removed with it.
    expect(cliCalls()).toEqual([path.join(a.config.sessionDir, reserved, 'manifest.json'), body.manifestPath]);
    expect((await a.json('GET', `/api/sessions/${reserved}`, undefined)).json).toMatchObject({ id: reserved, taskIds: [t2.id] });
    const spawned = { taskIds: [t1.id] };
    const before = ['session:created', 'task:session_added'];
    const events = await expectEvents(a, [...before, ...spawnEventNames(spawned)]);
    expectSpawnCommitted(events, { before, spawn: spawned, answer: body, sessionDir: a.config.sessionDir });
  });

  it('the spawned task is renamed while the CLI runs: the CLI runs again, so the manifest is of the state at the commit', async () => {
    const a = api!;
    const { p, t1 } = await fixture(a);
    process.env.FAKE_MAESTRO_DELAY_MS = '1000';
    process.env.FAKE_MAESTRO_READ_DATA = '1'; // the fake reads the titles from DATA_DIR after its delay
    const { order, track } = tracker();
    const spawn = track('spawn', a.json('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id] }));
    await cliStarted(1);
    const patch = track('patch', a.json('PATCH', `/api/tasks/${t1.id}`, { title: 'renamed under the CLI' }));
    expect((await patch).status).toBe(200);
    const res = await spawn;
    expect(res.status, res.text).toBe(201);
    expect(order).toEqual(['patch', 'spawn']);
    const body = res.json as { sessionId: string; manifestPath: string };
    expect(cliCalls()).toEqual([body.manifestPath, body.manifestPath]);
    const spawned = { taskIds: [t1.id] };
    const events = await expectEvents(a, ['task:updated', ...spawnEventNames(spawned)]);
    const manifest = expectSpawnCommitted(events, { before: ['task:updated'], spawn: spawned, answer: body, sessionDir: a.config.sessionDir });
    expect(manifest.tasks[0].title).toBe('renamed under the CLI');
  });

  it('the spawned task is renamed under every attempt: the last attempt runs the CLI inside the mutation, after a flush', async () => {
    await api?.close(); // this one needs the SpawnHooks seam
    api = undefined;
    const config = testConfig({ MANIFEST_GENERATOR: 'cli', MAESTRO_CLI_PATH: FAKE_CLI });
    process.env.FAKE_MAESTRO_READ_DATA = '1';
    let t1 = '';
    let n = 0;
    const hooks: SpawnHooks = {
      afterManifest: async () => {
        await audit!.ok('PATCH', `/api/tasks/${t1}`, { title: `rename ${++n}` });
      },
    };
    audit = await startAudit({ config, spawnHooks: hooks });
    const p = await audit.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' });
    t1 = (await audit.ok('POST', '/api/tasks', { projectId: p.id, title: 'T1' })).id;
    await audit.drain(2);
    const res = await audit.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1], strategy: 'queue' }, 201);
    // Three attempts outside the lock, each followed by a rename; the third attempt's mutation then runs the CLI
    // again inside itself, after tx.flush(), and the CLI reads the third rename from disk.
    expect(cliCalls()).toEqual([res.manifestPath, res.manifestPath, res.manifestPath, res.manifestPath]);
    expect(n).toBe(3);
    const manifest = expectSpawnCommitted(await audit.drain(6), {
      before: ['task:updated', 'task:updated', 'task:updated'],
      spawn: { taskIds: [t1], strategy: 'queue' },
      answer: res,
      sessionDir: config.sessionDir,
    });
    expect(manifest.tasks[0].title).toBe('rename 3');
  });

  it('the spawned task is deleted while the CLI runs: 404 task_not_found as a spawn serialised after it, nothing left', async () => {
    const a = api!;
    const { p, t1 } = await fixture(a);
    process.env.FAKE_MAESTRO_DELAY_MS = '1000';
    const { order, track } = tracker();
    const spawn = track('spawn', a.json('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id] }));
    await cliStarted(1);
    const del = track('delete', a.json('DELETE', `/api/tasks/${t1.id}`, undefined));
    expect((await del).status).toBe(200);
    const res = await spawn;
    expect(order).toEqual(['delete', 'spawn']);
    expectError(res, 404, 'task_not_found');
    expect(res.json).toMatchObject({ details: { taskId: t1.id } });
    await expectEvents(a, ['task:deleted']);
    expect(sessionDirs(a)).toEqual([]);
    expect(fs.readdirSync(path.join(a.config.dataDir, 'sessions'))).toEqual([]);
  });
});
