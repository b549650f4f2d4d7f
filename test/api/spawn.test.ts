/** docs/behaviour.md §8 (E20) through the real server: validation order, both generator modes, rollback, events. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/server.js';
import { expectError, expectEvents, projectWithTask, startApi, type Api } from './harness.js';

const FAKE_CLI = path.resolve('test/domain/fixtures/fake-maestro.mjs');

describe('spawn (server mode)', () => {
  let api: Api;
  let projectId: string;
  let taskId: string;
  beforeAll(async () => {
    api = await startApi();
    const { project, task } = await projectWithTask(api);
    projectId = project.id;
    taskId = task.id;
  });
  afterAll(async () => api.close());

  it('validation order of §8.2: first failure wins, nothing is created', async () => {
    const parent = await api.client.createSession({ body: { projectId, taskIds: [] } });
    await expectEvents(api, ['session:created']);
    const cases: Array<[unknown, number, string, Record<string, unknown>?]> = [
      [{}, 400, 'missing_project_id'],
      [{ projectId: '  ', taskIds: 'x', role: 'boss' }, 400, 'missing_project_id'],
      [{ projectId, taskIds: [] }, 400, 'invalid_task_ids'],
      [{ projectId, taskIds: ['', 'x'] }, 400, 'invalid_task_ids'],
      [{ projectId, taskIds: [taskId], spawnSource: 'cli', role: 'boss' }, 400, 'invalid_spawn_source'],
      [{ projectId, taskIds: [taskId], spawnSource: 'session', role: 'boss' }, 400, 'missing_session_id'],
      [{ projectId, taskIds: [taskId], spawnSource: 'session', sessionId: ' ', spawnedBy: '' }, 400, 'missing_session_id'],
      [{ projectId, taskIds: [taskId], role: 'boss', strategy: 'fast' }, 400, 'invalid_role'],
      [{ projectId, taskIds: [taskId], strategy: 'fast', sessionName: 3 }, 400, 'invalid_strategy'],
      [{ projectId, taskIds: [taskId], sessionName: '' }, 400, 'VALIDATION_ERROR', { field: 'sessionName' }],
      [{ projectId, taskIds: [taskId], skills: 'a' }, 400, 'VALIDATION_ERROR', { field: 'skills' }],
      [{ projectId, taskIds: [taskId], context: [] }, 400, 'VALIDATION_ERROR', { field: 'context' }],
      [{ projectId: 'proj_missing', taskIds: ['task_missing', taskId] }, 404, 'task_not_found', { taskId: 'task_missing' }],
      [{ projectId: 'proj_missing', taskIds: [taskId] }, 404, 'project_not_found'],
      [{ projectId, taskIds: [taskId], spawnSource: 'session', sessionId: 'sess_missing' }, 404, 'parent_session_not_found'],
    ];
    for (const [body, status, code, details] of cases) {
      const res = await api.json('POST', '/api/sessions/spawn', body);
      expectError(res, status, code);
      expect((res.json as { details?: unknown }).details).toEqual(details);
    }
    // The protocol checks come first.
    expectError(await api.raw('POST', '/api/sessions/spawn', { headers: { 'Content-Type': 'application/json' }, body: '[1]' }), 400, 'VALIDATION_ERROR');
    // The deprecated spawnedBy alias is accepted as the parent id.
    const alias = await api.json('POST', '/api/sessions/spawn', { projectId, taskIds: [taskId], spawnSource: 'session', spawnedBy: parent.id });
    expect(alias.status).toBe(201);
    expect((alias.json as { session: { metadata: { spawnedBy: string } } }).session.metadata.spawnedBy).toBe(parent.id);
    await expectEvents(api, ['session:spawn', 'task:session_added']);
    expect(await api.client.listSessions({ query: { projectId } })).toHaveLength(2);
  });

  it('a UI spawn with queue strategy, duplicates and a model: name, queue, manifest, events', async () => {
    const t2 = await api.client.createTask({ body: { projectId, title: 'second', model: 'opus' } });
    await expectEvents(api, ['task:created']);
    const res = await api.client.spawnSession({
      body: { projectId, taskIds: [taskId, t2.id, taskId], strategy: 'queue', role: 'orchestrator', skills: ['a', '', 'a', 'b'] },
    });
    expect(res.session).toMatchObject({
      name: `Orchestrator for ${taskId}`,
      status: 'spawning',
      strategy: 'queue',
      taskIds: [taskId, t2.id],
      metadata: { spawnSource: 'ui', spawnedBy: null, role: 'orchestrator', skills: ['a', 'b'], context: {} },
    });
    expect(res.session).not.toHaveProperty('agentId');
    const manifest = JSON.parse(fs.readFileSync(res.manifestPath, 'utf8'));
    expect(manifest).toMatchObject({ strategy: 'queue', role: 'orchestrator', skills: ['a', 'b'], session: { model: 'opus' } });
    expect(manifest.tasks.map((t: { id: string }) => t.id)).toEqual([taskId, t2.id]);
    const events = await expectEvents(api, ['session:spawn', 'task:session_added', 'task:session_added', 'queue:created']);
    expect(events[0]!.data).toMatchObject({ session: res.session, parentSessionId: null, spawnSource: 'ui', command: 'maestro orchestrator init' });
    expect(events[3]!.data).toMatchObject({ sessionId: res.sessionId, queue: { items: [{ taskId }, { taskId: t2.id }] } });
    // Task status and sessionStatus are not changed by a spawn.
    const task = await api.client.getTask({ params: { id: taskId } });
    expect(task.status).toBe('todo');
    expect(task).not.toHaveProperty('sessionStatus');
  });

  it('strategy tree is accepted and written as simple in the manifest', async () => {
    const res = await api.client.spawnSession({ body: { projectId, taskIds: [taskId], strategy: 'tree' } });
    expect(res.session.strategy).toBe('tree');
    expect(res.envVars.MAESTRO_STRATEGY).toBe('tree');
    expect(JSON.parse(fs.readFileSync(res.manifestPath, 'utf8'))).not.toHaveProperty('strategy');
    await expectEvents(api, ['session:spawn', 'task:session_added']);
  });
});

describe('spawn (cli mode)', () => {
  it('runs the CLI with the arguments of docs/behaviour.md; a failing CLI rolls everything back and emits nothing', async () => {
    const record = path.join(testConfig().dataDir, '..', 'record.json');
    process.env.FAKE_MAESTRO_RECORD = record;
    const config = testConfig({ MANIFEST_GENERATOR: 'cli', MAESTRO_CLI_PATH: FAKE_CLI });
    const api = await startApi(config);
    try {
      const { project, task } = await projectWithTask(api);
      const ok = await api.client.spawnSession({ body: { projectId: project.id, taskIds: [task.id], strategy: 'tree' } });
      const args = JSON.parse(fs.readFileSync(record, 'utf8'));
      expect(args.args).toEqual([
        'manifest', 'generate', '--role', 'worker', '--project-id', project.id, '--task-ids', task.id,
        '--skills', '', '--strategy', 'simple', '--output', ok.manifestPath,
      ]);
      expect(args.DATA_DIR).toBe(config.dataDir);
      await expectEvents(api, ['session:spawn', 'task:session_added']);

      process.env.FAKE_MAESTRO_MODE = 'fail';
      const before = { sessions: await api.client.listSessions(), task: await api.client.getTask({ params: { id: task.id } }) };
      const sessionDirs = fs.readdirSync(config.sessionDir);
      const res = await api.json('POST', '/api/sessions/spawn', { projectId: project.id, taskIds: [task.id], strategy: 'queue' });
      expectError(res, 500, 'manifest_generation_failed');
      expect((res.json as { message: string }).message).toMatch(/^Failed to generate manifest: Manifest generation failed \(exit code 3\)/);
      await expectEvents(api, []);
      expect(await api.client.listSessions()).toEqual(before.sessions);
      expect(await api.client.getTask({ params: { id: task.id } })).toEqual(before.task);
      expect(fs.readdirSync(config.sessionDir)).toEqual(sessionDirs);
      expect(fs.readdirSync(path.join(config.dataDir, 'queues'))).toEqual([]);
      expect(fs.readdirSync(path.join(config.dataDir, 'sessions'))).toEqual([`${ok.sessionId}.json`]);
    } finally {
      delete process.env.FAKE_MAESTRO_MODE;
      delete process.env.FAKE_MAESTRO_RECORD;
      await api.close();
    }
  });
});
