/**
 * The workflow endpoints through the real server (HTTP port, WebSocket client, temp DATA_DIR/SESSION_DIR/SKILLS_DIR):
 * what the `maestro` CLI v0.1.0 sends (docs/behaviour.md §11) and what a UI receives.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SchemaValidator } from '../../src/spawn/finalise.js';
import { expectError, expectEvents, startApi, type Api } from '../api/harness.js';
import { compileManifestSchema } from '../domain/helpers/manifest-schema.js';

let api: Api;
let schema: SchemaValidator;

beforeAll(async () => {
  schema = await compileManifestSchema();
});

beforeEach(async () => {
  api = await startApi();
});

afterEach(async () => {
  await api.close();
  for (const dir of [api.config.dataDir, api.config.sessionDir, api.config.skillsDir]) {
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

async function post(urlPath: string, body: unknown = {}) {
  return api.json('POST', urlPath, body);
}

async function projectAndTasks(n: number) {
  const project = (await post('/api/projects', { name: 'P', workingDir: '/srv/p' })).json as { id: string };
  const tasks: string[] = [];
  for (let i = 0; i < n; i++) {
    tasks.push(((await post('/api/tasks', { projectId: project.id, title: `T${i}`, description: '', priority: 'medium' })).json as { id: string }).id);
  }
  await expectEvents(api, ['project:created', ...tasks.map(() => 'task:created')]);
  return { projectId: project.id, tasks };
}

describe('CLI sequences over HTTP (docs/behaviour.md §11)', () => {
  it('queue worker loop on a registered queue session', async () => {
    const { projectId, tasks } = await projectAndTasks(2);
    const reg = await post('/api/sessions', { id: 'session-1-abc', projectId, taskIds: [tasks[0]], status: 'running', strategy: 'queue', name: 'w', metadata: { role: 'worker' } });
    expect(reg.status).toBe(201);
    await expectEvents(api, ['session:created', 'task:session_added', 'queue:created']);

    const start = await post('/api/sessions/session-1-abc/queue/start');
    expect(start.status).toBe(200);
    expect(start.json).toMatchObject({ success: true, item: { taskId: tasks[0], status: 'processing' } });
    await expectEvents(api, ['queue:item_started', 'queue:updated', 'task:updated']);

    const again = await post('/api/sessions/session-1-abc/queue/start');
    expectError(again, 400, 'VALIDATION_ERROR');
    expect((again.json as { message: string }).message.toLowerCase()).toContain('already processing');

    const done = await post('/api/sessions/session-1-abc/queue/complete');
    expect(done.json).toMatchObject({ completedItem: { taskId: tasks[0], status: 'completed' }, nextItem: null, hasMore: false });
    await expectEvents(api, ['queue:item_completed', 'queue:updated', 'task:updated']);

    const empty = await post('/api/sessions/session-1-abc/queue/start');
    expect(empty.json).toEqual({ success: true, item: null, empty: true, message: 'Queue is empty — no items to process' });

    const top = await api.raw('GET', '/api/sessions/session-1-abc/queue/top', { headers: { 'Content-Type': 'application/json' } });
    expect(top.json).toMatchObject({ hasMore: false, item: null });
    const push = await post('/api/sessions/session-1-abc/queue/push', { taskId: tasks[1] });
    expect(push.status).toBe(200);
    await expectEvents(api, ['queue:updated', 'session:task_added', 'task:session_added']);
    expect((await api.raw('GET', '/api/sessions/session-1-abc/queue/top')).json).toMatchObject({ hasMore: true, item: { taskId: tasks[1] } });

    expectError(await post('/api/sessions/session-1-abc/queue/push', { taskId: tasks[0] }), 400, 'VALIDATION_ERROR');
    expectError(await post('/api/sessions/session-1-abc/queue/push', {}), 400, 'VALIDATION_ERROR', 'taskId');
    expectError(await post('/api/sessions/session-1-abc/queue/fail', { reason: 5 }), 400, 'VALIDATION_ERROR', 'reason');
    const task = (await api.raw('GET', `/api/tasks/${tasks[0]}`)).json as { status: string; sessionStatus: string };
    expect(task).toMatchObject({ status: 'todo', sessionStatus: 'completed' });
  });

  it('queue endpoints on a simple session answer 400 "queue strategy" before reading the body', async () => {
    const { projectId } = await projectAndTasks(0);
    await post('/api/sessions', { projectId, taskIds: [] });
    const [created] = await expectEvents(api, ['session:created']);
    const id = (created!.data as { id: string }).id;
    const res = await post(`/api/sessions/${id}/queue/push`, { taskId: 42 });
    expectError(res, 400, 'VALIDATION_ERROR');
    expect((res.json as { message: string }).message).toContain('queue strategy');
    expectError(await api.raw('GET', '/api/sessions/nope/queue'), 404, 'NOT_FOUND');
  });

  it('agent spawn (§11.11): 201, manifest valid against the CLI schema, session:spawn then task:session_added', async () => {
    const { projectId, tasks } = await projectAndTasks(1);
    await post('/api/sessions', { id: 'orch-123', projectId, taskIds: [], status: 'running', metadata: { role: 'orchestrator' } });
    await expectEvents(api, ['session:created']);
    const res = await post('/api/sessions/spawn', {
      projectId,
      taskIds: [tasks[0]],
      role: 'worker',
      spawnSource: 'session',
      sessionId: 'orch-123',
      skills: ['maestro-worker'],
      sessionName: 'Worker A',
      context: { reason: 'delegate' },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const body = res.json as { sessionId: string; manifestPath: string; session: Record<string, unknown> };
    expect(body.session).toMatchObject({ status: 'spawning', name: 'Worker A', strategy: 'simple', metadata: { spawnedBy: 'orch-123' } });
    expect(body.manifestPath).toBe(path.join(api.config.sessionDir, body.sessionId, 'manifest.json'));
    const manifest = JSON.parse(fs.readFileSync(body.manifestPath, 'utf8')) as Record<string, unknown>;
    expect(schema(manifest), JSON.stringify(schema.errors)).toBe(true);
    expect(manifest.skills).toEqual(['maestro-worker']);
    expect((manifest.session as { workingDirectory: string }).workingDirectory).toBe('/srv/p');
    const events = await expectEvents(api, ['session:spawn', 'task:session_added']);
    expect((events[0].data as { manifest: unknown }).manifest).toEqual(manifest);

    // The agent's init (§11.13).
    expect((await api.json('PATCH', `/api/sessions/${body.sessionId}`, { status: 'running' })).status).toBe(200);
    const init = await api.json('PATCH', `/api/tasks/${tasks[0]}`, { sessionStatus: 'working', updateSource: 'session', sessionId: body.sessionId });
    expect(init.status).toBe(200);
  });

  it('spawn errors in the validation order of §8.2', async () => {
    const { projectId, tasks } = await projectAndTasks(1);
    expectError(await post('/api/sessions/spawn', { taskIds: ['x'] }), 400, 'missing_project_id');
    expectError(await post('/api/sessions/spawn', { projectId, taskIds: [] }), 400, 'invalid_task_ids');
    expectError(await post('/api/sessions/spawn', { projectId, taskIds: [tasks[0]], spawnSource: 'session' }), 400, 'missing_session_id');
    const missingTask = await post('/api/sessions/spawn', { projectId: 'proj_x', taskIds: [tasks[0], 'task_x'] });
    expectError(missingTask, 404, 'task_not_found');
    expect((missingTask.json as { details: unknown }).details).toEqual({ taskId: 'task_x' });
    expectError(await post('/api/sessions/spawn', { projectId: 'proj_x', taskIds: [tasks[0]] }), 404, 'project_not_found');
    expectError(await post('/api/sessions/spawn', { projectId, taskIds: [tasks[0]], spawnSource: 'session', sessionId: 'sess_x' }), 404, 'parent_session_not_found');
    expect(fs.readdirSync(api.config.sessionDir)).toEqual([]);
    expect(await api.log.take(), 'refused spawns send no event').toEqual([]);

    const tree = await post('/api/sessions/spawn', { projectId, taskIds: [tasks[0]], strategy: 'tree' });
    expect(tree.status).toBe(201);
    expect(JSON.parse(fs.readFileSync((tree.json as { manifestPath: string }).manifestPath, 'utf8'))).not.toHaveProperty('strategy');
  });
});

describe('templates and skills over HTTP', () => {
  it('a fresh server lists the two seeded defaults; reset equals E42; bad roles are 400', async () => {
    const list = (await api.raw('GET', '/api/templates')).json as Array<{ id: string; role: string; isDefault: boolean }>;
    expect(list.map((t) => [t.role, t.isDefault]).sort()).toEqual([
      ['orchestrator', true],
      ['worker', true],
    ]);
    const worker = list.find((t) => t.role === 'worker')!;
    await api.json('PUT', `/api/templates/${worker.id}`, { content: '# changed' });
    const reset = (await post(`/api/templates/${worker.id}/reset`)).json as { content: string };
    const builtIn = (await api.raw('GET', '/api/templates/default/worker')).json as { content: string };
    expect(reset.content).toBe(builtIn.content);
    await expectEvents(api, ['template:updated', 'template:updated']);
    expectError(await api.raw('GET', '/api/templates/role/admin'), 400, 'VALIDATION_ERROR');
    expectError(await api.raw('GET', '/api/templates/default/admin'), 400, 'VALIDATION_ERROR');
    expectError(await api.json('PUT', `/api/templates/${worker.id}`, {}), 400, 'VALIDATION_ERROR');
  });

  it('skills: a missing SKILLS_DIR lists []; escaping ids are 404', async () => {
    const list = await api.raw('GET', '/api/skills');
    expect(list.status).toBe(200);
    expect(list.json).toEqual([]);
    for (const id of ['..', '%2E%2E', '..%2Fdata', 'nope']) {
      expectError(await api.raw('GET', `/api/skills/${id}`), 404, 'NOT_FOUND');
    }
    expectError(await api.raw('GET', '/api/skills/role/admin'), 400, 'VALIDATION_ERROR');
  });
});
