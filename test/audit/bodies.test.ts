/**
 * docs/behaviour.md §0.5 request bodies through the real server: null handling for every optional field of every body,
 * null on required fields, server-managed and immutable fields ignored (even with a wrong type), unknown fields
 * never stored or echoed (responses, events and files), id arrays deduplicated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../api/harness.js';
import { listFiles } from '../support/temp.js';
import { startAudit, type AuditServer } from './helpers.js';

let s: AuditServer;
let projectId: string;
let taskA: string;
let taskB: string;

beforeAll(async () => {
  s = await startAudit();
  projectId = (await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' })).id;
  taskA = (await s.ok('POST', '/api/tasks', { projectId, title: 'A' })).id;
  taskB = (await s.ok('POST', '/api/tasks', { projectId, title: 'B' })).id;
  await s.drain();
});
afterAll(async () => {
  await s.close();
});

const UNKNOWN = { zzUnknown: 'leak', nested: { zzUnknown: 1 } };

/** No response, event or file mentions an unknown key. */
async function expectNoLeak(what: string, responseText: string) {
  expect(responseText, what).not.toContain('zzUnknown');
  const events = await s.drain();
  expect(JSON.stringify(events), what).not.toContain('zzUnknown');
  for (const f of listFiles(s.config.dataDir)) {
    if (f.endsWith('.lock')) continue;
    expect(fs.readFileSync(path.join(s.config.dataDir, f), 'utf8'), `${what}: ${f}`).not.toContain('zzUnknown');
  }
  for (const f of listFiles(s.config.sessionDir)) {
    expect(fs.readFileSync(path.join(s.config.sessionDir, f), 'utf8'), `${what}: ${f}`).not.toContain('zzUnknown');
  }
  return events;
}

describe('§0.5 null on optional fields = absent (default on create, unchanged on update)', () => {
  it('E2/E4 projects', async () => {
    const p = await s.ok('POST', '/api/projects', { name: 'N', workingDir: null, description: null });
    expect(p).toMatchObject({ workingDir: '', description: '' });
    await s.ok('PUT', `/api/projects/${p.id}`, { workingDir: '/w', description: 'd' });
    const u = await s.ok('PUT', `/api/projects/${p.id}`, { name: null, workingDir: null, description: null });
    expect(u).toMatchObject({ name: 'N', workingDir: '/w', description: 'd' });
    expect(s.readData(`projects/${p.id}.json`)).toMatchObject({ name: 'N', workingDir: '/w', description: 'd' });
    await s.drain();
  });

  it('E7 tasks: defaults for null; parentId and dueDate store null', async () => {
    const t = await s.ok('POST', '/api/tasks', {
      projectId,
      title: 'T',
      parentId: null,
      description: null,
      priority: null,
      initialPrompt: null,
      skillIds: null,
      dependencies: null,
      model: null,
      dueDate: null,
    });
    expect(t).toMatchObject({ parentId: null, description: '', priority: 'medium', initialPrompt: '', skillIds: [], dependencies: [] });
    expect('model' in t).toBe(false);
    expect(t.dueDate).toBeNull();
    const file = s.readData(`tasks/${projectId}/${t.id}.json`);
    expect(file.dueDate).toBeNull();
    expect('model' in file).toBe(false);
    await s.drain();
  });

  it('E9 tasks: null leaves fields unchanged, except dueDate which becomes null', async () => {
    const t = await s.ok('POST', '/api/tasks', {
      projectId,
      title: 'T',
      description: 'd',
      priority: 'high',
      initialPrompt: 'ip',
      skillIds: ['s'],
      dependencies: ['x'],
      model: 'opus',
      dueDate: '2024-02-29',
    });
    await s.ok('PATCH', `/api/tasks/${t.id}`, { status: 'blocked', sessionStatus: 'queued', agentIds: ['ag'], sessionIds: [] });
    const u = await s.ok('PATCH', `/api/tasks/${t.id}`, {
      title: null,
      description: null,
      status: null,
      sessionStatus: null,
      priority: null,
      sessionIds: null,
      skillIds: null,
      agentIds: null,
      dependencies: null,
      model: null,
      updateSource: null,
      sessionId: null,
    });
    expect(u).toMatchObject({
      title: 'T',
      description: 'd',
      status: 'blocked',
      sessionStatus: 'queued',
      priority: 'high',
      sessionIds: [],
      skillIds: ['s'],
      agentIds: ['ag'],
      dependencies: ['x'],
      model: 'opus',
      dueDate: '2024-02-29',
    });
    const cleared = await s.ok('PATCH', `/api/tasks/${t.id}`, { dueDate: null });
    expect(cleared.dueDate).toBeNull();
    expect(s.readData(`tasks/${projectId}/${t.id}.json`).dueDate).toBeNull();
    await s.drain();
  });

  it('E14 sessions: defaults for null; legacy taskId used when taskIds is null', async () => {
    const sess = await s.ok('POST', '/api/sessions', {
      id: null,
      projectId,
      taskIds: null,
      taskId: taskA,
      name: null,
      agentId: null,
      strategy: null,
      status: null,
      env: null,
      metadata: null,
      _suppressCreatedEvent: null,
    });
    expect(sess.id).toMatch(/^sess_[0-9]+_[0-9a-z]{9}$/);
    expect(sess).toMatchObject({ taskIds: [taskA], name: 'Unnamed Session', strategy: 'simple', status: 'idle', env: {} });
    expect('agentId' in sess).toBe(false);
    expect('metadata' in sess).toBe(false);
    const events = await s.drain();
    expect(events.map((e) => e.event)).toEqual(['session:created', 'task:session_added']);
    const file = s.readData(`sessions/${sess.id}.json`);
    expect('agentId' in file || 'metadata' in file || 'taskId' in file || '_suppressCreatedEvent' in file).toBe(false);
  });

  it('E16 sessions: null leaves every field unchanged', async () => {
    const sess = await s.ok('POST', '/api/sessions', {
      projectId,
      taskIds: [taskA],
      agentId: 'ag',
      status: 'working',
      env: { A: '1' },
    });
    const u = await s.ok('PATCH', `/api/sessions/${sess.id}`, {
      taskIds: null,
      status: null,
      agentId: null,
      env: null,
      events: null,
      timeline: null,
    });
    expect(u).toMatchObject({ taskIds: [taskA], status: 'working', agentId: 'ag', env: { A: '1' }, events: [] });
    expect(u.timeline).toEqual(sess.timeline);
    await s.drain();
  });

  it('E18 data: null is kept (present only when given, null included); absent data is omitted', async () => {
    const sess = await s.ok('POST', '/api/sessions', { projectId, taskIds: [] });
    const a = await s.ok('POST', `/api/sessions/${sess.id}/events`, { type: 'x', data: null });
    expect('data' in a.events[0]).toBe(true);
    expect(a.events[0].data).toBeNull();
    const b = await s.ok('POST', `/api/sessions/${sess.id}/events`, { type: 'y' });
    expect('data' in b.events[1]).toBe(false);
    const c = await s.ok('PATCH', `/api/sessions/${sess.id}`, { events: [{ type: 'z', data: null }, { type: 'w' }] });
    expect(c.events[2]).toHaveProperty('data', null);
    expect('data' in c.events[3]).toBe(false);
    const file = s.readData(`sessions/${sess.id}.json`);
    expect(file.events[0]).toHaveProperty('data', null);
    expect(file.events[2]).toHaveProperty('data', null);
    await s.drain();
  });

  it('E19/E10 timeline: null type → progress; null taskId/metadata omitted', async () => {
    const sess = await s.ok('POST', '/api/sessions', { projectId, taskIds: [] });
    const a = await s.ok('POST', `/api/sessions/${sess.id}/timeline`, { message: 'm', type: null, taskId: null, metadata: null });
    const e = a.timeline.at(-1);
    expect(e.type).toBe('progress');
    expect('taskId' in e || 'metadata' in e).toBe(false);
    const b = await s.ok('POST', `/api/tasks/${taskA}/timeline`, { message: 'm', sessionId: sess.id, type: null });
    expect(b.type).toBe('progress');
    await s.drain();
  });

  it('E31 reason: null counts as absent (no failReason, event reason null)', async () => {
    const sess = await s.ok('POST', '/api/sessions', { projectId, taskIds: [taskA], strategy: 'queue' });
    await s.ok('POST', `/api/sessions/${sess.id}/queue/start`);
    await s.drain();
    const r = await s.ok('POST', `/api/sessions/${sess.id}/queue/fail`, { reason: null });
    expect('failReason' in r.failedItem).toBe(false);
    const events = await s.drain();
    expect(events[0]!.event).toBe('queue:item_failed');
    expect(events[0]!.data.reason).toBeNull();
  });

  it('E39 templates: null name/content are absent (unchanged; both null = none given)', async () => {
    const tm = await s.ok('POST', '/api/templates', { name: 'N', role: 'worker', content: 'C' });
    const u = await s.ok('PUT', `/api/templates/${tm.id}`, { name: null, content: 'D' });
    expect([u.name, u.content]).toEqual(['N', 'D']);
    expectError(await s.call('PUT', `/api/templates/${tm.id}`, { name: null, content: null }), 400, 'VALIDATION_ERROR');
    await s.drain();
  });

  it('E20 spawn: null optional fields take their defaults', async () => {
    const r = await s.ok(
      'POST',
      '/api/sessions/spawn',
      { projectId, taskIds: [taskB], role: null, strategy: null, spawnSource: null, sessionId: null, spawnedBy: null, sessionName: null, skills: null, context: null },
      201,
    );
    expect(r.session).toMatchObject({ name: `Worker for ${taskB}`, strategy: 'simple' });
    expect(r.session.metadata).toEqual({ skills: [], spawnedBy: null, spawnSource: 'ui', role: 'worker', strategy: 'simple', context: {} });
    await s.drain();
  });
});

describe('§0.5 null on a required field counts as missing', () => {
  const cases: Array<[string, string, () => unknown, string, string?]> = [
    ['POST', '/api/projects', () => ({ name: null }), 'name'],
    ['POST', '/api/tasks', () => ({ projectId: null, title: 'x' }), 'projectId'],
    ['POST', '/api/tasks', () => ({ projectId, title: null }), 'title'],
    ['POST', '/api/sessions', () => ({ projectId: null, taskIds: [] }), 'projectId'],
    ['POST', '/api/sessions', () => ({ projectId, taskIds: null }), 'taskIds'],
    ['POST', '/api/templates', () => ({ name: null, role: 'worker', content: 'c' }), 'name'],
    ['POST', '/api/templates', () => ({ name: 'n', role: null, content: 'c' }), 'role'],
    ['POST', '/api/templates', () => ({ name: 'n', role: 'worker', content: null }), 'content'],
  ];
  for (const [method, url, body, field] of cases) {
    it(`${method} ${url} ${field}: null → 400 VALIDATION_ERROR`, async () => {
      expectError(await s.call(method, url, body()), 400, 'VALIDATION_ERROR', field);
    });
  }

  it('E10/E18/E19/E34 and spawn', async () => {
    const sess = await s.ok('POST', '/api/sessions', { projectId, taskIds: [], strategy: 'queue' });
    expectError(await s.call('POST', `/api/tasks/${taskA}/timeline`, { message: null, sessionId: sess.id }), 400, 'VALIDATION_ERROR', 'message');
    expectError(await s.call('POST', `/api/tasks/${taskA}/timeline`, { message: 'm', sessionId: null }), 400, 'VALIDATION_ERROR', 'sessionId');
    expectError(await s.call('POST', `/api/sessions/${sess.id}/events`, { type: null }), 400, 'VALIDATION_ERROR', 'type');
    expectError(await s.call('POST', `/api/sessions/${sess.id}/timeline`, { message: null }), 400, 'VALIDATION_ERROR', 'message');
    expectError(await s.call('POST', `/api/sessions/${sess.id}/queue/push`, { taskId: null }), 400, 'VALIDATION_ERROR', 'taskId');
    expectError(await s.call('POST', '/api/sessions/spawn', { projectId: null, taskIds: [taskA] }), 400, 'missing_project_id');
    expectError(await s.call('POST', '/api/sessions/spawn', { projectId, taskIds: null }), 400, 'invalid_task_ids');
    expectError(
      await s.call('POST', '/api/sessions/spawn', { projectId, taskIds: [taskA], spawnSource: 'session', sessionId: null, spawnedBy: null }),
      400,
      'missing_session_id',
    );
    await s.drain();
  });
});

describe('§0.5 server-managed and immutable fields are ignored, whatever their type', () => {
  const managed = (bad: unknown) => ({
    id: bad,
    createdAt: bad,
    updatedAt: bad,
    startedAt: bad,
    completedAt: bad,
    lastActivity: bad,
    hostname: bad,
    platform: bad,
    isDefault: bad,
  });

  for (const bad of ['x', 123, { a: 1 }, [1], true]) {
    it(`value ${JSON.stringify(bad)}`, async () => {
      const p = await s.ok('POST', '/api/projects', { name: 'N', ...managed(bad) });
      expect(p.id).toMatch(/^proj_/);
      expect(p.createdAt).toBe(p.updatedAt);
      expect(typeof p.createdAt).toBe('number');
      expect('hostname' in p || 'isDefault' in p).toBe(false);
      const p2 = await s.ok('PUT', `/api/projects/${p.id}`, managed(bad));
      expect(p2.id).toBe(p.id);
      expect(p2.createdAt).toBe(p.createdAt);

      const t = await s.ok('POST', '/api/tasks', {
        projectId,
        title: 'T',
        ...managed(bad),
        status: 'completed',
        sessionStatus: 'working',
        sessionIds: ['x'],
        agentIds: ['a'],
        timeline: [1],
      });
      expect(t).toMatchObject({ status: 'todo', sessionIds: [], agentIds: [], startedAt: null, completedAt: null });
      expect('sessionStatus' in t || 'timeline' in t).toBe(false);
      const t2 = await s.ok('PATCH', `/api/tasks/${t.id}`, { ...managed(bad), projectId: bad, parentId: bad, timeline: bad });
      expect(t2).toMatchObject({ id: t.id, projectId, parentId: null, createdAt: t.createdAt, startedAt: null, completedAt: null });
      expect('timeline' in t2).toBe(false);

      const sess = await s.ok('POST', '/api/sessions', { projectId, taskIds: [], ...managed(bad), id: undefined, events: [1], timeline: 'x' });
      expect(sess.events).toEqual([]);
      expect(sess.timeline.map((e: any) => e.type)).toEqual(['session_started']);
      const sess2 = await s.ok('PATCH', `/api/sessions/${sess.id}`, {
        ...managed(bad),
        name: bad,
        strategy: bad,
        metadata: bad,
        projectId: bad,
      });
      expect(sess2).toMatchObject({ id: sess.id, name: 'Unnamed Session', strategy: 'simple', projectId, startedAt: sess.startedAt, completedAt: null });
      expect('metadata' in sess2).toBe(false);

      const tm = await s.ok('POST', '/api/templates', { name: 'N', role: 'worker', content: 'C', ...managed(bad) });
      expect(tm.isDefault).toBe(false);
      expect(tm.id).toMatch(/^tmpl_/);
      const tm2 = await s.ok('PUT', `/api/templates/${tm.id}`, { name: 'M', ...managed(bad), role: 'orchestrator' });
      expect(tm2).toMatchObject({ id: tm.id, role: 'worker', isDefault: false, createdAt: tm.createdAt });
      await s.drain();
    });
  }

  it('a body that carries only managed fields on E39 is still "no name or content"', async () => {
    const tm = await s.ok('POST', '/api/templates', { name: 'N', role: 'worker', content: 'C' });
    expectError(await s.call('PUT', `/api/templates/${tm.id}`, { role: 'orchestrator', isDefault: true, id: 'x' }), 400, 'VALIDATION_ERROR');
    await s.drain();
  });
});

describe('§0.5 unknown fields are never stored or echoed (responses, events, files)', () => {
  it('every body endpoint', async () => {
    const p = await s.call('POST', '/api/projects', { name: 'U', ...UNKNOWN });
    expect(p.status).toBe(201);
    await expectNoLeak('E2', p.text);
    await expectNoLeak('E4', (await s.call('PUT', `/api/projects/${p.body.id}`, UNKNOWN)).text);
    const t = await s.call('POST', '/api/tasks', { projectId, title: 'U', ...UNKNOWN });
    await expectNoLeak('E7', t.text);
    await expectNoLeak('E9', (await s.call('PATCH', `/api/tasks/${t.body.id}`, { ...UNKNOWN, sessionId: 'zzUnknownSid' })).text);
    const sess = await s.call('POST', '/api/sessions', { projectId, taskIds: [t.body.id], strategy: 'queue', ...UNKNOWN, _suppressCreatedEvent: false });
    expect(sess.status).toBe(201);
    await expectNoLeak('E14', sess.text);
    const sid = sess.body.id;
    await expectNoLeak('E16', (await s.call('PATCH', `/api/sessions/${sid}`, {
      ...UNKNOWN,
      events: [{ type: 'e', zzUnknown: 1 }],
      timeline: [{ message: 'm', zzUnknown: 1 }],
    })).text);
    await expectNoLeak('E18', (await s.call('POST', `/api/sessions/${sid}/events`, { type: 'e', ...UNKNOWN })).text);
    await expectNoLeak('E19', (await s.call('POST', `/api/sessions/${sid}/timeline`, { message: 'm', ...UNKNOWN })).text);
    await expectNoLeak('E10', (await s.call('POST', `/api/tasks/${t.body.id}/timeline`, { message: 'm', sessionId: sid, ...UNKNOWN })).text);
    await expectNoLeak('E29', (await s.call('POST', `/api/sessions/${sid}/queue/start`, UNKNOWN)).text);
    await expectNoLeak('E31', (await s.call('POST', `/api/sessions/${sid}/queue/fail`, { reason: 'r', ...UNKNOWN })).text);
    await expectNoLeak('E34', (await s.call('POST', `/api/sessions/${sid}/queue/push`, { taskId: taskB, ...UNKNOWN })).text);
    await expectNoLeak('E29b', (await s.call('POST', `/api/sessions/${sid}/queue/start`, UNKNOWN)).text);
    await expectNoLeak('E30', (await s.call('POST', `/api/sessions/${sid}/queue/complete`, UNKNOWN)).text);
    await expectNoLeak('E32', (await s.call('POST', `/api/sessions/${sid}/queue/skip`, UNKNOWN)).text);
    const tm = await s.call('POST', '/api/templates', { name: 'n', role: 'worker', content: 'c', ...UNKNOWN });
    await expectNoLeak('E38', tm.text);
    await expectNoLeak('E39', (await s.call('PUT', `/api/templates/${tm.body.id}`, { name: 'm', ...UNKNOWN })).text);
    await expectNoLeak('E40', (await s.call('POST', `/api/templates/${tm.body.id}/reset`, UNKNOWN)).text);
    await expectNoLeak('E21', (await s.call('POST', `/api/sessions/${sid}/tasks/${taskA}`, UNKNOWN)).text);
    const sp = await s.call('POST', '/api/sessions/spawn', { projectId, taskIds: [taskA], ...UNKNOWN, context: { keep: 1 } });
    expect(sp.status).toBe(201);
    await expectNoLeak('E20', sp.text);
  });
});

describe('§0.5 id arrays: duplicates removed (first kept), blank elements refused', () => {
  it('E14 taskIds, E16 taskIds, E9 sessionIds, E20 taskIds', async () => {
    const a = await s.ok('POST', '/api/sessions', { projectId, taskIds: [taskB, taskA, taskB, taskA] });
    expect(a.taskIds).toEqual([taskB, taskA]);
    expect(a.timeline.filter((e: any) => e.type === 'task_started').map((e: any) => e.taskId)).toEqual([taskB, taskA]);
    let events = await s.drain();
    expect(events.map((e) => e.event)).toEqual(['session:created', 'task:session_added', 'task:session_added']);
    expect((await s.ok('GET', `/api/tasks/${taskA}`)).sessionIds.filter((x: string) => x === a.id)).toHaveLength(1);

    const b = await s.ok('PATCH', `/api/sessions/${a.id}`, { taskIds: [taskA, taskA, taskB] });
    expect(b.taskIds).toEqual([taskA, taskB]);
    expect(s.readData(`sessions/${a.id}.json`).taskIds).toEqual([taskA, taskB]);

    const other = await s.ok('POST', '/api/sessions', { projectId, taskIds: [] });
    const fresh = await s.ok('POST', '/api/tasks', { projectId, title: 'F' });
    await s.ok('POST', `/api/sessions/${a.id}/tasks/${fresh.id}`);
    await s.drain();
    const t = await s.ok('PATCH', `/api/tasks/${fresh.id}`, { sessionIds: [other.id, a.id, other.id] });
    expect(t.sessionIds).toEqual([other.id, a.id]);
    events = await s.drain();
    // Only other is newly linked (a was already linked; the order of the others changed, which is not a link).
    expect(events.map((e) => e.event)).toEqual(['task:updated', 'session:task_added', 'task:session_added']);
    expect((await s.ok('GET', `/api/sessions/${other.id}`)).taskIds).toEqual([fresh.id]);

    const sp = await s.ok('POST', '/api/sessions/spawn', { projectId, taskIds: [taskA, taskA, taskB] }, 201);
    expect(sp.session.taskIds).toEqual([taskA, taskB]);
    events = await s.drain();
    expect(events.map((e) => e.event)).toEqual(['session:spawn', 'task:session_added', 'task:session_added']);
    expect(events[0]!.data.taskIds).toEqual([taskA, taskB]);
    expect(events[0]!.data.manifest.tasks.map((x: any) => x.id)).toEqual([taskA, taskB]);
  });

  it('blank or non-string elements → 400 on E9, E14, E16; invalid_task_ids on E20', async () => {
    const sess = await s.ok('POST', '/api/sessions', { projectId, taskIds: [] });
    for (const bad of [[' '], [''], [1], [null], [taskA, '\t']]) {
      expectError(await s.call('POST', '/api/sessions', { projectId, taskIds: bad }), 400, 'VALIDATION_ERROR', 'taskIds');
      expectError(await s.call('PATCH', `/api/sessions/${sess.id}`, { taskIds: bad }), 400, 'VALIDATION_ERROR', 'taskIds');
      expectError(await s.call('PATCH', `/api/tasks/${taskA}`, { sessionIds: bad }), 400, 'VALIDATION_ERROR', 'sessionIds');
      expectError(await s.call('POST', '/api/sessions/spawn', { projectId, taskIds: bad }), 400, 'invalid_task_ids');
    }
    // Other string arrays accept blank strings (only "every element must be a string").
    const t = await s.ok('PATCH', `/api/tasks/${taskB}`, { skillIds: [' ', ''], agentIds: [''], dependencies: [' '] });
    expect(t).toMatchObject({ skillIds: [' ', ''], agentIds: [''], dependencies: [' '] });
    await s.drain();
  });
});

describe('§0.5 null inside the entries of E16 events[] / timeline[] counts as absent', () => {
  it('optional entry fields: null → default or omitted; required type: null → missing; data: null kept', async () => {
    const sess = await s.ok('POST', '/api/sessions', { projectId, taskIds: [] });
    const u = await s.ok('PATCH', `/api/sessions/${sess.id}`, {
      events: [{ type: 'e', id: null, timestamp: null, data: null }],
      timeline: [{ type: null, message: null, taskId: null, metadata: null, id: null, timestamp: null }],
    });
    const ev = u.events.at(-1);
    expect(ev.id).toMatch(/^evt_[0-9]+_[0-9a-z]{9}$/);
    expect(ev.timestamp).toBe(u.lastActivity);
    expect(ev).toHaveProperty('data', null);
    const tl = u.timeline.at(-1);
    expect(tl.id).toMatch(/^evt_[0-9]+_[0-9a-z]{9}$/);
    expect(tl).toEqual({ id: tl.id, type: 'progress', timestamp: u.lastActivity });
    expect(s.readData(`sessions/${sess.id}.json`).timeline.at(-1)).toEqual(tl);
    const missing = await s.call('PATCH', `/api/sessions/${sess.id}`, { events: [{ type: null }] });
    expectError(missing, 400, 'VALIDATION_ERROR', 'events');
    // Wrong types inside entries are still refused.
    expectError(await s.call('PATCH', `/api/sessions/${sess.id}`, { timeline: [{ message: 5 }] }), 400, 'VALIDATION_ERROR', 'timeline');
    expectError(await s.call('PATCH', `/api/sessions/${sess.id}`, { events: [null] }), 400, 'VALIDATION_ERROR', 'events');
    await s.drain();
  });
});
