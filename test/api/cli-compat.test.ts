/**
 * docs/behaviour.md §11: the unmodified `maestro` CLI v0.1.0 must work against this server. These tests replay the
 * request sequences that CLI sends (headers included: it sends Content-Type: application/json on every request,
 * even bodiless GET and DELETE, and `{}` on queue start/complete/skip) through a real port.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/server.js';
import { validator } from '../spec/schema-kit.js';
import { expectError, expectEvents, startApi, type Api } from './harness.js';

const CT = { 'Content-Type': 'application/json' };

/** A CLI-style call: always the JSON content type; body `{}`-or-object for writes. */
async function cli(api: Api, method: string, url: string, body?: unknown) {
  const res = await api.raw(method, url, { headers: CT, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: res.json as Record<string, any> };
}

/** The manifest schema (the CLI's, docs/behaviour.md §1.10), compiled here from schemas/, independent of generated code. */
function compileManifestSchema() {
  return validator('manifest/spawn-manifest.json');
}

describe('maestro CLI v0.1.0 compatibility', () => {
  let api: Api;
  beforeAll(async () => {
    const config = testConfig();
    fs.mkdirSync(path.join(config.skillsDir, 'maestro-worker'), { recursive: true });
    fs.writeFileSync(path.join(config.skillsDir, 'maestro-worker', 'manifest.json'), JSON.stringify({ name: 'maestro-worker', version: '0.1.0' }));
    api = await startApi(config);
  });
  afterAll(async () => api.close());

  it('projects and tasks as the CLI creates and reads them (§11.6, §11.7)', async () => {
    const p = await cli(api, 'POST', '/api/projects', { name: 'cli project', workingDir: '/tmp/cli' });
    expect(p.status).toBe(201);
    expect(p.json).toMatchObject({ id: expect.any(String), name: 'cli project', workingDir: '/tmp/cli', description: '' });
    const list = await cli(api, 'GET', '/api/projects');
    expect(list.json[0]).toMatchObject({ id: p.json.id, name: 'cli project', workingDir: '/tmp/cli', description: '' });
    const t = await cli(api, 'POST', '/api/tasks', { projectId: p.json.id, title: 'do it', description: '', priority: 'medium' });
    expect(t.status).toBe(201);
    for (const key of ['id', 'title', 'status', 'priority', 'description', 'parentId', 'projectId', 'dependencies', 'startedAt', 'completedAt', 'sessionIds']) {
      expect(t.json).toHaveProperty(key);
    }
    const missingParent = await cli(api, 'POST', '/api/tasks', { projectId: p.json.id, title: 'x', description: '', priority: 'medium', parentId: 'task_nope' });
    expect(missingParent.status).toBe(404);
    expect((await cli(api, 'GET', `/api/tasks?projectId=${p.json.id}`)).json).toHaveLength(1);
    expect((await cli(api, 'GET', `/api/tasks/${t.json.id}/children`)).status).toBe(200);
    const patched = await cli(api, 'PATCH', `/api/tasks/${t.json.id}`, { status: 'in_progress', priority: 'high', title: 'do it now' });
    expect(patched.json).toMatchObject({ status: 'in_progress', priority: 'high', title: 'do it now' });
    // Deleting a project with tasks is refused with a 4xx (not 5xx: the CLI would retry).
    const del = await cli(api, 'DELETE', `/api/projects/${p.json.id}`);
    expect(del.status).toBeGreaterThanOrEqual(400);
    expect(del.status).toBeLessThan(500);
    expect(typeof del.json.message).toBe('string');
    await api.log.take(); // settled, then dropped
  });

  it('session register (404 → create with client id, running), reports, track-file, complete (§11.8–§11.10)', async () => {
    const p = (await cli(api, 'POST', '/api/projects', { name: 'reg', workingDir: '/tmp/reg' })).json;
    const t = (await cli(api, 'POST', '/api/tasks', { projectId: p.id, title: 't', description: '', priority: 'medium' })).json;
    const id = `session-${Date.now()}-abc123`;
    // The CLI first looks the session up and relies on 404 to fall back to create.
    expect((await cli(api, 'GET', `/api/sessions/${id}`)).status).toBe(404);
    const created = await cli(api, 'POST', '/api/sessions', {
      id,
      projectId: p.id,
      taskIds: [t.id],
      name: 'Worker session',
      status: 'running',
      strategy: 'simple',
      metadata: { role: 'worker' },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ id, status: 'working', name: 'Worker session', taskIds: [t.id] });
    expect((await cli(api, 'PATCH', `/api/sessions/${id}`, { status: 'running' })).json.status).toBe('working');
    const report = await cli(api, 'PATCH', `/api/tasks/${t.id}`, { sessionStatus: 'working', updateSource: 'session', sessionId: id });
    expect(report.status).toBe(200);
    expect(report.json).toMatchObject({ sessionStatus: 'working', status: 'todo', title: 't', priority: 'medium' });
    for (const type of ['progress', 'task_completed', 'task_blocked', 'error', 'needs_input', 'task_status_changed']) {
      expect((await cli(api, 'POST', `/api/sessions/${id}/timeline`, { type, message: `report ${type}`, taskId: t.id })).status).toBe(200);
    }
    const track = await cli(api, 'POST', `/api/sessions/${id}/events`, { type: 'file_modified', data: { file: 'src/a.ts', timestamp: '2026-11-22T10:00:00.000Z' } });
    expect(track.json.events.at(-1)).toMatchObject({ type: 'file_modified', data: { file: 'src/a.ts', timestamp: '2026-11-22T10:00:00.000Z' } });
    const done = await cli(api, 'PATCH', `/api/sessions/${id}`, { status: 'completed', completedAt: 1 });
    expect(done.json.status).toBe('completed');
    expect(done.json.completedAt).toBe(done.json.lastActivity);
    const session = (await cli(api, 'GET', `/api/sessions/${id}`)).json;
    expect(session.timeline.slice(-6).map((e: { type: string }) => e.type)).toEqual(['progress', 'task_completed', 'task_blocked', 'error', 'needs_input', 'task_status_changed']);
    const listed = (await cli(api, 'GET', `/api/sessions?taskId=${t.id}&projectId=${p.id}`)).json as unknown as Array<Record<string, unknown>>;
    expect(listed.map((s) => [s.id, s.name, s.status, s.taskIds])).toEqual([[id, 'Worker session', 'completed', [t.id]]]);
    await api.log.take(); // settled, then dropped
  });

  it('agent spawn → manifest the CLI accepts → worker init (§11.11–§11.13, §11.18)', async () => {
    const p = (await cli(api, 'POST', '/api/projects', { name: 'spawn', workingDir: '/tmp/spawn-wd' })).json;
    const t = (await cli(api, 'POST', '/api/tasks', { projectId: p.id, title: 'spawned work', description: '', priority: 'medium' })).json;
    const parent = (await cli(api, 'POST', '/api/sessions', { id: 'orch-1', projectId: p.id, taskIds: [], status: 'running', metadata: { role: 'orchestrator' } })).json;
    await api.log.take(); // settled, then dropped
    const spawn = await cli(api, 'POST', '/api/sessions/spawn', {
      projectId: p.id,
      taskIds: [t.id],
      role: 'worker',
      spawnSource: 'session',
      sessionId: parent.id,
      skills: ['maestro-worker'],
      sessionName: 'Worker: spawned work',
      context: { reason: 'delegation', primaryTask: t.id },
    });
    expect(spawn.status).toBe(201);
    const body = spawn.json;
    expect(body).toMatchObject({ success: true, sessionId: expect.stringMatching(/^sess_/), message: 'Spawn request sent to Agent Maestro', initialCommand: 'maestro worker init', cwd: '/tmp/spawn-wd' });
    expect(body.session).toMatchObject({
      status: 'spawning',
      name: 'Worker: spawned work',
      taskIds: [t.id],
      strategy: 'simple',
      metadata: { role: 'worker', spawnSource: 'session', skills: ['maestro-worker'], spawnedBy: parent.id, strategy: 'simple', context: { reason: 'delegation', primaryTask: t.id } },
    });
    const manifestPath = path.join(api.config.sessionDir, body.sessionId, 'manifest.json');
    expect(body.manifestPath).toBe(manifestPath);
    expect(body.session.env).toEqual({
      MAESTRO_SESSION_ID: body.sessionId,
      MAESTRO_MANIFEST_PATH: manifestPath,
      MAESTRO_SERVER_URL: api.config.serverUrl,
      MAESTRO_STRATEGY: 'simple',
      DATA_DIR: api.config.dataDir,
      SESSION_DIR: api.config.sessionDir,
    });
    expect(body.envVars).toEqual(body.session.env);
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    const validate = compileManifestSchema();
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    expect(manifest).toMatchObject({
      manifestVersion: '1.0',
      role: 'worker',
      skills: ['maestro-worker'],
      session: { model: 'sonnet', permissionMode: 'acceptEdits', thinkingMode: 'auto', workingDirectory: '/tmp/spawn-wd' },
      context: { custom: { reason: 'delegation', primaryTask: t.id, taskIds: [t.id] } },
      tasks: [{ id: t.id, title: 'spawned work', acceptanceCriteria: ['Task completion as described'], createdAt: new Date(t.createdAt).toISOString() }],
    });
    expect(manifest).not.toHaveProperty('strategy');
    expect(typeof manifest.templateId).toBe('string');
    const events = await expectEvents(api, ['session:spawn', 'task:session_added']);
    expect(events[0]!.data).toMatchObject({ command: 'maestro worker init', cwd: '/tmp/spawn-wd', projectId: p.id, taskIds: [t.id], spawnSource: 'session', parentSessionId: parent.id, _isSpawnCreated: true, manifest });
    // The spawned agent's `maestro worker init`.
    expect((await cli(api, 'PATCH', `/api/sessions/${body.sessionId}`, { status: 'running' })).status).toBe(200);
    expect((await cli(api, 'PATCH', `/api/tasks/${t.id}`, { sessionStatus: 'working', updateSource: 'session', sessionId: body.sessionId })).status).toBe(200);
    // Error messages the CLI shows and users match on (§11.5).
    const noParent = await cli(api, 'POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], spawnSource: 'session' });
    expect(noParent.status).toBe(400);
    expect(noParent.json.code).toBe('missing_session_id');
    expect(noParent.json.message).toContain('sessionId');
    const missingTask = await cli(api, 'POST', '/api/sessions/spawn', { projectId: p.id, taskIds: ['task_x'] });
    expect(missingTask.json).toMatchObject({ code: 'task_not_found', details: { taskId: 'task_x' } });
    expect(missingTask.json.message.toLowerCase()).toContain('not found');
    const missingParent = await cli(api, 'POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], spawnSource: 'session', sessionId: 'nope' });
    expect(missingParent.json.code).toBe('parent_session_not_found');
    expect(missingParent.json.message.toLowerCase()).toContain('not found');
    await api.log.take(); // settled, then dropped
  });

  it('the queue worker loop (§11.14)', async () => {
    const p = (await cli(api, 'POST', '/api/projects', { name: 'q', workingDir: '/tmp/q' })).json;
    const t1 = (await cli(api, 'POST', '/api/tasks', { projectId: p.id, title: 'one', description: '', priority: 'medium' })).json;
    const t2 = (await cli(api, 'POST', '/api/tasks', { projectId: p.id, title: 'two', description: '', priority: 'medium' })).json;
    const t3 = (await cli(api, 'POST', '/api/tasks', { projectId: p.id, title: 'three', description: '', priority: 'medium' })).json;
    const s = (await cli(api, 'POST', '/api/sessions', { id: 'queue-worker', projectId: p.id, taskIds: [t1.id, t2.id], strategy: 'queue', status: 'running' })).json;
    await api.log.take(); // settled, then dropped

    const top = await cli(api, 'GET', `/api/sessions/${s.id}/queue/top`);
    expect(top.json).toMatchObject({ hasMore: true, item: { taskId: t1.id, status: 'queued', addedAt: expect.any(Number) } });
    const start = await cli(api, 'POST', `/api/sessions/${s.id}/queue/start`, {});
    expect(start.json).toMatchObject({ success: true, item: { taskId: t1.id, status: 'processing', startedAt: expect.any(Number) } });
    const twice = await cli(api, 'POST', `/api/sessions/${s.id}/queue/start`, {});
    expect(twice.status).toBe(400);
    expect(twice.json.message.toLowerCase()).toContain('already processing');
    const complete = await cli(api, 'POST', `/api/sessions/${s.id}/queue/complete`, {});
    expect(complete.json).toMatchObject({ success: true, completedItem: { taskId: t1.id, status: 'completed' }, nextItem: { taskId: t2.id }, hasMore: true });
    expect((await cli(api, 'GET', `/api/tasks/${t1.id}`)).json).toMatchObject({ sessionStatus: 'completed', status: 'todo' });
    await cli(api, 'POST', `/api/sessions/${s.id}/queue/start`, {});
    const fail = await cli(api, 'POST', `/api/sessions/${s.id}/queue/fail`, { reason: 'tests red' });
    expect(fail.json).toMatchObject({ failedItem: { taskId: t2.id, status: 'failed', failReason: 'tests red' }, nextItem: null, hasMore: false });
    const empty = await cli(api, 'POST', `/api/sessions/${s.id}/queue/start`, {});
    expect(empty.json).toMatchObject({ success: true, item: null, empty: true });
    expect((await cli(api, 'GET', `/api/sessions/${s.id}/queue/top`)).json).toMatchObject({ hasMore: false, item: null });
    // A push makes top.hasMore true again; a duplicate push is refused with "already".
    const push = await cli(api, 'POST', `/api/sessions/${s.id}/queue/push`, { taskId: t3.id });
    expect(push.json).toMatchObject({ success: true, item: { taskId: t3.id, status: 'queued' } });
    expect((await cli(api, 'GET', `/api/sessions/${s.id}/queue/top`)).json.hasMore).toBe(true);
    const dup = await cli(api, 'POST', `/api/sessions/${s.id}/queue/push`, { taskId: t1.id });
    expect(dup.status).toBe(400);
    expect(dup.json.message.toLowerCase()).toContain('already');
    const skip = await cli(api, 'POST', `/api/sessions/${s.id}/queue/skip`, {});
    expect(skip.json).toMatchObject({ skippedItem: { taskId: t3.id, status: 'skipped' }, nextItem: null, hasMore: false });
    const state = (await cli(api, 'GET', `/api/sessions/${s.id}/queue`)).json;
    expect(state.queue).toMatchObject({ sessionId: s.id, currentIndex: -1, createdAt: expect.any(Number), updatedAt: expect.any(Number) });
    expect(state.stats).toEqual({ total: 3, queued: 0, processing: 0, completed: 1, failed: 1, skipped: 1 });
    expect((await cli(api, 'GET', `/api/sessions/${s.id}/queue/items`)).json.items).toHaveLength(3);
    // Q2 message for a non-queue session.
    const simple = (await cli(api, 'POST', '/api/sessions', { projectId: p.id, taskIds: [] })).json;
    const q2 = await cli(api, 'GET', `/api/sessions/${simple.id}/queue`);
    expectError({ status: q2.status, headers: { 'content-type': 'application/json; charset=utf-8' }, json: q2.json, text: '' }, 400, 'VALIDATION_ERROR');
    expect(q2.json.message.toLowerCase()).toContain('queue strategy');
    await api.log.take(); // settled, then dropped
  });

  it('the queue events of one loop, in order (§4.5 item 7)', async () => {
    const p = (await cli(api, 'POST', '/api/projects', { name: 'qe' })).json;
    const t = (await cli(api, 'POST', '/api/tasks', { projectId: p.id, title: 'one' })).json;
    const t2 = (await cli(api, 'POST', '/api/tasks', { projectId: p.id, title: 'two' })).json;
    const s = (await cli(api, 'POST', '/api/sessions', { projectId: p.id, taskIds: [t.id], strategy: 'queue' })).json;
    await api.log.take(); // settled, then dropped
    await cli(api, 'POST', `/api/sessions/${s.id}/queue/start`, {});
    await expectEvents(api, ['queue:item_started', 'queue:updated', 'task:updated']);
    await cli(api, 'POST', `/api/sessions/${s.id}/queue/fail`, {});
    const failed = await expectEvents(api, ['queue:item_failed', 'queue:updated', 'task:updated']);
    expect(failed[0]!.data).toMatchObject({ sessionId: s.id, reason: null, item: { taskId: t.id, status: 'failed' } });
    await cli(api, 'POST', `/api/sessions/${s.id}/queue/push`, { taskId: t2.id });
    await expectEvents(api, ['queue:updated', 'session:task_added', 'task:session_added']);
    await cli(api, 'POST', `/api/sessions/${s.id}/queue/skip`, {});
    await expectEvents(api, ['queue:item_skipped', 'queue:updated', 'task:updated']);
    expect((await cli(api, 'GET', `/api/tasks/${t2.id}`)).json).toMatchObject({ sessionStatus: 'skipped', sessionIds: [s.id] });
  });
});
