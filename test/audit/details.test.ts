/**
 * Details of docs/behaviour.md that nobody else pins, through the real server: validation-after-lookup orders, bodies on
 * methods that take none, media types, error `details` only where stated, no-op associations, informational
 * and ignored fields, sorting ties, E14 id rules, E5/E17 file effects.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { expectError } from '../api/harness.js';
import { startAudit, type AuditServer } from './helpers.js';

const T = 1_850_000_000_000;
const clock = new ManualClock(T);
let s: AuditServer;
let projectId: string;
let taskId: string;
let simple: string;
let queued: string;

beforeAll(async () => {
  s = await startAudit({ clock });
  projectId = (await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' })).id;
  taskId = (await s.ok('POST', '/api/tasks', { projectId, title: 'T' })).id;
  simple = (await s.ok('POST', '/api/sessions', { projectId, taskIds: [] })).id;
  queued = (await s.ok('POST', '/api/sessions', { projectId, taskIds: [taskId], strategy: 'queue' })).id;
  await s.drain();
});
afterAll(async () => {
  await s.close();
});

describe('validation after lookup (§2.2 E4, §2.3 E9, §2.4 E16, §2.7 E39, §9.2)', () => {
  it('an unknown entity wins over a bad body on the update endpoints', async () => {
    expectError(await s.call('PUT', '/api/projects/nope', { name: 5 }), 404, 'PROJECT_NOT_FOUND');
    expectError(await s.call('PATCH', '/api/tasks/nope', { status: 'bogus', updateSource: 'x' }), 404, 'TASK_NOT_FOUND');
    expectError(await s.call('PATCH', '/api/sessions/nope', { status: 'bogus' }), 404, 'SESSION_NOT_FOUND');
    expectError(await s.call('PUT', '/api/templates/nope', {}), 404, 'NOT_FOUND');
  });

  it('queue endpoints: Q1 → Q2 → Q3 before the endpoint body checks; protocol checks before Q1', async () => {
    expectError(await s.call('POST', '/api/sessions/nope/queue/fail', { reason: 5 }), 404, 'NOT_FOUND');
    expectError(await s.call('POST', '/api/sessions/nope/queue/push', { taskId: 5 }), 404, 'NOT_FOUND');
    const q2 = await s.call('POST', `/api/sessions/${simple}/queue/push`, {});
    expectError(q2, 400, 'VALIDATION_ERROR');
    expect(q2.body.message.toLowerCase()).toContain('queue strategy');
    expect(q2.body.details).toBeUndefined();
    expectError(await s.call('POST', `/api/sessions/${simple}/queue/fail`, { reason: 5 }), 400, 'VALIDATION_ERROR');
    expectError(await s.call('POST', `/api/sessions/${queued}/queue/fail`, { reason: 5 }), 400, 'VALIDATION_ERROR', 'reason');
    expectError(await s.raw('POST', '/api/sessions/nope/queue/push', { headers: { 'Content-Type': 'application/json' }, body: '{' }), 400, 'VALIDATION_ERROR');
    expectError(await s.raw('POST', '/api/sessions/nope/queue/push', { headers: { 'Content-Type': 'text/plain' }, body: 'x' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('create endpoints validate the body before looking anything up', async () => {
    expectError(await s.call('POST', '/api/tasks', { projectId: 'nope', title: ' ' }), 400, 'VALIDATION_ERROR', 'title');
    expectError(await s.call('POST', '/api/sessions', { projectId: 'nope', taskIds: ['nope'], status: 'bogus' }), 400, 'VALIDATION_ERROR', 'status');
    expectError(await s.call('POST', '/api/tasks/nope/timeline', { sessionId: 'nope' }), 400, 'VALIDATION_ERROR', 'message');
    expectError(await s.call('POST', '/api/sessions/nope/events', {}), 400, 'VALIDATION_ERROR', 'type');
    expectError(await s.call('POST', '/api/sessions/nope/timeline', { message: 'm', metadata: [] }), 400, 'VALIDATION_ERROR', 'metadata');
  });
});

describe('§0.5/§3.3 bodies on methods that take none, media types, empty bodies', () => {
  it('GET/DELETE/HEAD bodies are ignored whatever their Content-Type', async () => {
    const big = 'x'.repeat(2 * 1024 * 1024);
    for (const ct of [{ 'Content-Type': 'text/plain' }, { 'Content-Type': 'application/json' }, {}] as Record<string, string>[]) {
      const headers = (body: string) => ({ ...ct, 'Content-Length': String(Buffer.byteLength(body)) });
      const get = await s.raw('GET', `/api/tasks/${taskId}`, { headers: headers('{ not json'), body: '{ not json' });
      expect(get.status).toBe(200);
      expect((await s.raw('GET', '/api/projects', { headers: headers(big), body: big })).status).toBe(200);
      expect((await s.raw('HEAD', '/api/projects', { headers: headers('[1]'), body: '[1]' })).status).toBe(200);
      expectError(await s.raw('DELETE', '/api/tasks/nope', { headers: headers('garbage'), body: 'garbage' }), 404, 'TASK_NOT_FOUND');
    }
    expect(await s.drain()).toEqual([]);
    const tm = await s.ok('POST', '/api/templates', { name: 'n', role: 'worker', content: 'c' });
    const del = await s.raw('DELETE', `/api/templates/${tm.id}`, { headers: { 'Content-Type': 'text/plain', 'Content-Length': '3' }, body: 'abc' });
    expect(del.json).toEqual({ success: true, id: tm.id });
    expect((await s.drain()).map((e) => e.event)).toEqual(['template:created', 'template:deleted']);
  });

  it('empty bodies count as {} whatever the Content-Type; JSON media types are recognised loosely', async () => {
    expect((await s.raw('POST', `/api/sessions/${queued}/queue/start`, { headers: { 'Content-Type': 'text/plain' }, body: '' })).status).toBe(200);
    expect((await s.raw('POST', `/api/sessions/${queued}/queue/complete`, { headers: { 'Content-Type': 'application/json' } })).status).toBe(200);
    const put = await s.raw('PUT', `/api/projects/${projectId}`, { headers: { 'Content-Type': 'image/png' }, body: '' });
    expect(put.status).toBe(200);
    for (const ct of ['APPLICATION/JSON', 'application/json; charset=latin1', 'application/merge-patch+json', 'application/vnd.api+json;x=1']) {
      const res = await s.raw('PUT', `/api/projects/${projectId}`, { headers: { 'Content-Type': ct }, body: '{"description":"é"}' });
      expect(res.status, ct).toBe(200);
      expect(res.json).toMatchObject({ description: 'é' });
    }
    for (const ct of ['text/json', 'application/jsonp', 'application/x-www-form-urlencoded', 'json']) {
      expectError(await s.raw('PUT', `/api/projects/${projectId}`, { headers: { 'Content-Type': ct }, body: '{}' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    await s.drain();
  });
});

describe('§3.1 details only where stated', () => {
  it('no details on protocol errors, not-found errors, business errors and queue state errors', async () => {
    const noDetails = [
      await s.raw('POST', '/api/projects', { headers: { 'Content-Type': 'application/json' }, body: '{' }),
      await s.raw('POST', '/api/projects', { headers: { 'Content-Type': 'application/json' }, body: '"x"' }),
      await s.raw('POST', '/api/projects', { headers: { 'Content-Type': 'text/plain' }, body: 'x' }),
      await s.raw('GET', '/api/projects/nope'),
      await s.raw('GET', '/api/nope'),
      await s.raw('DELETE', `/api/projects/${projectId}`),
      await s.call('POST', `/api/sessions/${queued}/queue/complete`),
      await s.raw('GET', '/api/sessions/nope/queue'),
      await s.call('POST', '/api/sessions/spawn', { projectId: 'nope', taskIds: [taskId] }),
      await s.call('POST', '/api/sessions/spawn', { taskIds: [taskId] }),
    ];
    for (const res of noDetails) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(Object.keys(res.json as object).sort(), res.text).toEqual(['code', 'error', 'message']);
    }
    const missing = await s.call('POST', '/api/sessions/spawn', { projectId, taskIds: [taskId, 'task_nope'] });
    expectError(missing, 404, 'task_not_found');
    expect(missing.body.details).toEqual({ taskId: 'task_nope' });
    expect(missing.body.message).toBe('Task task_nope not found');
    const blocked = await s.raw('DELETE', `/api/projects/${projectId}`);
    expectError(blocked, 400, 'PROJECT_HAS_DEPENDENCIES');
    expect((blocked.json as any).message).toBe('Cannot delete project with 1 existing task(s)');
  });
});

describe('no-op associations and informational fields', () => {
  it('E22 on a pair that is not associated and a repeated E21 change nothing: no write, no stamp, no event', async () => {
    const sess = await s.ok('POST', '/api/sessions', { projectId, taskIds: [] });
    await s.drain();
    const file = path.join(s.config.dataDir, 'sessions', `${sess.id}.json`);
    const mtime = fs.statSync(file).mtimeMs;
    clock.advance(100);
    const a = await s.ok('DELETE', `/api/sessions/${sess.id}/tasks/${taskId}`);
    expect(a).toEqual(sess);
    await s.ok('POST', `/api/sessions/${sess.id}/tasks/${taskId}`);
    const before = await s.ok('GET', `/api/sessions/${sess.id}`);
    clock.advance(100);
    expect(await s.ok('POST', `/api/sessions/${sess.id}/tasks/${taskId}`)).toEqual(before);
    const events = await s.drain();
    expect(events.map((e) => e.event)).toEqual(['session:task_added', 'task:session_added']);
    expect(fs.statSync(file).mtimeMs).toBeGreaterThanOrEqual(mtime);
    // E16 with the same taskIds: only session:updated.
    await s.ok('PATCH', `/api/sessions/${sess.id}`, { taskIds: [taskId] });
    expect((await s.drain()).map((e) => e.event)).toEqual(['session:updated']);
    // E9 with the same sessionIds: only task:updated.
    const t = await s.ok('GET', `/api/tasks/${taskId}`);
    await s.ok('PATCH', `/api/tasks/${taskId}`, { sessionIds: t.sessionIds });
    expect((await s.drain()).map((e) => e.event)).toEqual(['task:updated']);
  });

  it('E9 sessionId is never validated or stored; a session-sourced update drops other fields unvalidated', async () => {
    for (const sessionId of [5, { a: 1 }, [], '', 'sess_unknown', true]) {
      const u = await s.ok('PATCH', `/api/tasks/${taskId}`, { sessionId, priority: 'low' });
      expect('sessionId' in u).toBe(false);
    }
    const u = await s.ok('PATCH', `/api/tasks/${taskId}`, {
      updateSource: 'session',
      sessionStatus: 'needs_input',
      status: 'bogus',
      title: 5,
      sessionIds: 'x',
      dueDate: 'not a date',
      model: 'gpt',
    });
    expect(u).toMatchObject({ sessionStatus: 'needs_input', priority: 'low', title: 'T' });
    expectError(await s.call('PATCH', `/api/tasks/${taskId}`, { updateSource: 'session', sessionStatus: 'bogus' }), 400, 'VALIDATION_ERROR', 'sessionStatus');
    expectError(await s.call('PATCH', `/api/tasks/${taskId}`, { updateSource: 'Session', title: 5 }), 400, 'VALIDATION_ERROR', 'updateSource');
    expect(JSON.stringify(s.readData(`tasks/${projectId}/${taskId}.json`))).not.toContain('sessionId"');
    await s.drain();
  });

  it('E14 legacy taskId: ignored (even with a wrong type) when taskIds is present', async () => {
    const a = await s.ok('POST', '/api/sessions', { projectId, taskIds: [], taskId: 5 });
    expect(a.taskIds).toEqual([]);
    const b = await s.ok('POST', '/api/sessions', { projectId, taskIds: [], taskId: taskId });
    expect(b.taskIds).toEqual([]);
    expectError(await s.call('POST', '/api/sessions', { projectId, taskId: 5 }), 400, 'VALIDATION_ERROR', 'taskId');
    expectError(await s.call('POST', '/api/sessions', { projectId }), 400, 'VALIDATION_ERROR', 'taskIds');
    await s.drain();
  });
});

describe('E14 client id (§0.1)', () => {
  it('charset, length, dot ids, collisions (before the project lookup)', async () => {
    const ok128 = 'a'.repeat(128);
    expect((await s.ok('POST', '/api/sessions', { id: ok128, projectId, taskIds: [] })).id).toBe(ok128);
    expect((await s.ok('POST', '/api/sessions', { id: '...', projectId, taskIds: [] })).id).toBe('...');
    for (const id of ['a'.repeat(129), '', '.', '..', 'a/b', 'a b', 'é', 'a\\b', 'a\u0000b', 5]) {
      expectError(await s.call('POST', '/api/sessions', { id, projectId, taskIds: [] }), 400, 'VALIDATION_ERROR', 'id');
    }
    const dup = await s.call('POST', '/api/sessions', { id: ok128, projectId: 'nope', taskIds: ['nope'] });
    expectError(dup, 400, 'VALIDATION_ERROR');
    expect(dup.body.message).toBe(`Session ${ok128} already exists`);
    expect(fs.existsSync(path.join(s.config.dataDir, 'sessions', '....json'))).toBe(true);
    await s.drain();
  });
});

describe('§0.4 sorting ties (frozen clock)', () => {
  it('same createdAt/startedAt → by id; children too; sessions by startedAt then id', async () => {
    clock.set(T + 1_000_000);
    const p = await s.ok('POST', '/api/projects', { name: 'sort' });
    const made: string[] = [];
    for (let i = 0; i < 6; i++) made.push((await s.ok('POST', '/api/tasks', { projectId: p.id, title: `c${i}`, parentId: taskId })).id);
    const children = (await s.ok('GET', `/api/tasks/${taskId}/children`)).map((t: any) => t.id);
    expect(children).toEqual([...made].sort());
    const listed = (await s.ok('GET', `/api/tasks?projectId=${p.id}`)).map((t: any) => t.id);
    expect(listed).toEqual([...made].sort());
    const sess: string[] = [];
    for (const id of ['zeta', 'alpha', 'Mid', 'beta']) sess.push((await s.ok('POST', '/api/sessions', { id, projectId: p.id, taskIds: [] })).id);
    clock.set(T - 1);
    const early = (await s.ok('POST', '/api/sessions', { id: 'zzz-early', projectId: p.id, taskIds: [] })).id;
    const all = (await s.ok('GET', `/api/sessions?projectId=${p.id}`)).map((x: any) => x.id);
    expect(all).toEqual([early, ...[...sess].sort()]);
    await s.drain();
  });
});

describe('delete effects on files (§2.2 E5, §2.4 E17)', () => {
  it('E5 removes the empty tasks/{id}/ folder; E17 removes the queue file, keeps the manifest dir and children', async () => {
    const p = await s.ok('POST', '/api/projects', { name: 'del', workingDir: '/tmp/d' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'x' });
    const parent = await s.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], strategy: 'queue' }, 201);
    const child = await s.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], spawnSource: 'session', sessionId: parent.sessionId }, 201);
    expect(fs.existsSync(path.join(s.config.dataDir, 'queues', `${parent.sessionId}.json`))).toBe(true);
    await s.drain();
    await s.ok('DELETE', `/api/sessions/${parent.sessionId}`);
    const events = await s.drain();
    expect(events.map((e) => e.event)).toEqual(['task:session_removed', 'session:task_removed', 'session:deleted']);
    expect(fs.existsSync(path.join(s.config.dataDir, 'queues', `${parent.sessionId}.json`))).toBe(false);
    expect(fs.existsSync(path.join(s.config.sessionDir, parent.sessionId, 'manifest.json'))).toBe(true);
    const c = await s.ok('GET', `/api/sessions/${child.sessionId}`);
    expect(c.metadata.spawnedBy).toBe(parent.sessionId);
    expect(c.lastActivity).toBe(child.session.lastActivity);
    await s.ok('DELETE', `/api/sessions/${child.sessionId}`);
    await s.ok('DELETE', `/api/tasks/${t.id}`);
    expect(fs.existsSync(path.join(s.config.dataDir, 'tasks', p.id))).toBe(true);
    await s.ok('DELETE', `/api/projects/${p.id}`);
    expect(fs.existsSync(path.join(s.config.dataDir, 'tasks', p.id))).toBe(false);
    expect(fs.existsSync(path.join(s.config.dataDir, 'projects', `${p.id}.json`))).toBe(false);
    await s.drain();
  });
});

describe('§5.4 delete: a file that is already missing is not an error; memory is the source of truth', () => {
  it('DELETE succeeds and emits when the entity file vanished behind the server\'s back; updates rewrite it', async () => {
    const p = await s.ok('POST', '/api/projects', { name: 'ghost' });
    const tm = await s.ok('POST', '/api/templates', { name: 'n', role: 'worker', content: 'c' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'x' });
    await s.drain();
    fs.rmSync(path.join(s.config.dataDir, 'projects', `${p.id}.json`));
    fs.rmSync(path.join(s.config.dataDir, 'templates', `${tm.id}.json`));
    fs.rmSync(path.join(s.config.dataDir, 'tasks', p.id, `${t.id}.json`));
    // An update writes the file again from memory.
    const u = await s.ok('PATCH', `/api/tasks/${t.id}`, { title: 'back' });
    expect(s.readData(`tasks/${p.id}/${t.id}.json`)).toEqual(u);
    expect((await s.ok('DELETE', `/api/templates/${tm.id}`)).id).toBe(tm.id);
    await s.ok('DELETE', `/api/tasks/${t.id}`);
    fs.rmSync(path.join(s.config.dataDir, 'tasks', p.id), { recursive: true, force: true });
    expect((await s.ok('DELETE', `/api/projects/${p.id}`)).id).toBe(p.id);
    expect((await s.drain()).map((e) => e.event)).toEqual(['task:updated', 'template:deleted', 'task:deleted', 'project:deleted']);
  });
});
