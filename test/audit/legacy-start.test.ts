/**
 * docs/behaviour.md §0.7, §5.2, §5.3, §5.4, §5.5 and §10.2 through a real start on a hand-written legacy DATA_DIR:
 * what the API serves, what the files look like afterwards, that legacy values are never produced again, and
 * that seeding across restarts follows the "only if the role has no template" rule.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectDefaults } from '../../generated/model/index.js';
import { ManualClock } from '../../src/clock.js';
import { testConfig } from '../support/server.js';
import { listFiles, writeJson } from '../support/temp.js';
import { startAudit, type AuditServer } from './helpers.js';

const LOAD = 1_750_000_000_000;
let s: AuditServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

function legacySet(dataDir: string) {
  writeJson(dataDir, 'projects/p1.json', { id: 'p1', name: 'Legacy project' });
  writeJson(dataDir, 'projects/p2.json', { id: 'p2', name: 'Only updatedAt', updatedAt: 1000, extra: 'x' });
  writeJson(dataDir, 'tasks/p1/t1.json', {
    id: 't1',
    projectId: 'p1',
    title: 'Pending task',
    status: 'pending',
    sessionStatus: 'bogus',
    model: 'gpt-4',
    timeline: [{ type: 'x' }],
    createdAt: 10,
    updatedAt: 20,
    sessionIds: ['ghost'],
  });
  // Legacy top-level task file (pre-folder layout), also with a legacy status.
  writeJson(dataDir, 'tasks/t2.json', { id: 't2', projectId: 'p1', title: 'Top-level task', status: 'pending', createdAt: 30 });
  writeJson(dataDir, 'tasks/p1/t3.json', { id: 't3', projectId: 'p1', title: 'Unknown status', status: 'done', priority: 'urgent', parentId: 't1' });
  writeJson(dataDir, 'sessions/s1.json', { id: 's1', projectId: 'p1', taskId: 't1', status: 'running' });
  writeJson(dataDir, 'sessions/s2.json', { id: 's2', projectId: 'p1', taskIds: ['t2', 'nope'], status: 'weird', lastActivity: 500, strategy: 'fancy' });
  writeJson(dataDir, 'sessions/s3.json', { id: 's3', projectId: 'p1', taskIds: [], strategy: 'queue', status: 'running', startedAt: 700 });
  writeJson(dataDir, 'queues/s3.json', { sessionId: 's3', createdAt: 700, updatedAt: 700 });
  writeJson(dataDir, 'queues/orphan.json', { sessionId: 'orphan', strategy: 'queue', items: [], currentIndex: -1, createdAt: 1, updatedAt: 1 });
  writeJson(dataDir, 'templates/tm1.json', { id: 'tm1', name: 'Mine', role: 'worker', content: 'C', createdAt: 5 });
  fs.writeFileSync(path.join(dataDir, 'projects', '.p9.json.123.abc.tmp'), '{"id":"p9"');
  fs.writeFileSync(path.join(dataDir, 'sessions', 'broken.json'), '{ not json');
}

describe('start on a legacy DATA_DIR', () => {
  it('migrates, repairs, rewrites, quarantines, seeds, and never produces a legacy value again', async () => {
    const config = testConfig();
    legacySet(config.dataDir);
    const clock = new ManualClock(LOAD);
    s = await startAudit({ config, clock });

    // Health counts the quarantined files (broken session + orphan queue).
    expect((await s.ok('GET', '/health')).storage).toEqual({ quarantined: 2 });

    // Projects.
    expect(await s.ok('GET', '/api/projects/p1')).toEqual({ ...projectDefaults(), id: 'p1', name: 'Legacy project', workingDir: '', description: '', createdAt: LOAD, updatedAt: LOAD });
    expect(await s.ok('GET', '/api/projects/p2')).toEqual({ ...projectDefaults(), id: 'p2', name: 'Only updatedAt', workingDir: '', description: '', createdAt: 1000, updatedAt: 1000 });

    // Tasks.
    const t1 = await s.ok('GET', '/api/tasks/t1');
    expect(t1).toMatchObject({ status: 'todo', priority: 'medium', parentId: null, startedAt: null, completedAt: null, description: '', initialPrompt: '' });
    expect(t1.sessionIds).toEqual(['s1']); // ghost removed, s1 completed from the session side
    expect('sessionStatus' in t1 || 'model' in t1 || 'timeline' in t1).toBe(false);
    const t2 = await s.ok('GET', '/api/tasks/t2');
    expect(t2).toMatchObject({ status: 'todo', projectId: 'p1', createdAt: 30, updatedAt: 30, sessionIds: ['s2'] });
    expect(await s.ok('GET', '/api/tasks/t3')).toMatchObject({ status: 'todo', priority: 'medium', parentId: 't1', createdAt: LOAD, updatedAt: LOAD });

    // Sessions.
    const s1 = await s.ok('GET', '/api/sessions/s1');
    expect(s1).toMatchObject({
      taskIds: ['t1'],
      status: 'working',
      name: 'Session s1',
      env: {},
      events: [],
      timeline: [],
      strategy: 'simple',
      completedAt: null,
      startedAt: LOAD,
      lastActivity: LOAD,
      hostname: os.hostname(),
      platform: process.platform,
    });
    expect('taskId' in s1).toBe(false);
    const s2 = await s.ok('GET', '/api/sessions/s2');
    expect(s2).toMatchObject({ taskIds: ['t2'], status: 'idle', strategy: 'simple', startedAt: 500, lastActivity: 500 });
    expect(await s.ok('GET', '/api/sessions/s3')).toMatchObject({ status: 'working', startedAt: 700, lastActivity: 700 });
    expect((await s.ok('GET', '/api/sessions/s3/queue')).queue).toEqual({ sessionId: 's3', strategy: 'queue', items: [], currentIndex: -1, createdAt: 700, updatedAt: 700 });

    // Templates: tm1 keeps worker from being seeded; orchestrator is seeded.
    const templates = await s.ok('GET', '/api/templates');
    expect(templates.map((t: any) => [t.role, t.isDefault])).toEqual([
      ['worker', false],
      ['orchestrator', true],
    ]);
    expect(templates[0]).toMatchObject({ id: 'tm1', createdAt: 5, updatedAt: 5 });
    expect(templates[1]).toMatchObject({ createdAt: LOAD, updatedAt: LOAD, name: 'Default Orchestrator Template' });

    // Query filters accept the legacy values.
    expect((await s.ok('GET', '/api/tasks?status=pending')).map((t: any) => t.id).sort()).toEqual(['t1', 't2', 't3']);
    expect((await s.ok('GET', '/api/sessions?status=running')).map((x: any) => x.id).sort()).toEqual(['s1', 's3']);
    expect((await s.ok('GET', '/api/tasks?parentId=null')).map((t: any) => t.id).sort()).toEqual(['t1', 't2']);

    // Files: the legacy top-level task moved, temp file gone, only entity files end in .json, canonical format,
    // no legacy values, no obsolete or unknown keys.
    const files = listFiles(config.dataDir);
    expect(files.filter((f) => !f.startsWith('quarantine/'))).toEqual(
      [
        '.lock',
        'projects/p1.json',
        'projects/p2.json',
        'queues/s3.json',
        'sessions/s1.json',
        'sessions/s2.json',
        'sessions/s3.json',
        'tasks/p1/t1.json',
        'tasks/p1/t2.json',
        'tasks/p1/t3.json',
        'templates/tm1.json',
        `templates/${templates[1].id}.json`,
      ].sort(),
    );
    expect(files.filter((f) => f.startsWith('quarantine/')).map((f) => f.replace(/\.\d+$/, '.N')).sort()).toEqual([
      'quarantine/queues/orphan.json.N',
      'quarantine/sessions/broken.json.N',
    ]);
    for (const f of files.filter((x) => x.endsWith('.json') && !x.startsWith('quarantine/'))) {
      const text = fs.readFileSync(path.join(config.dataDir, f), 'utf8');
      const value = JSON.parse(text);
      expect(text.replace(/\n$/, ''), f).toBe(JSON.stringify(value, null, 2));
      expect(text, f).not.toMatch(/"(pending|running)"/);
      expect(text, f).not.toContain('"timeline": [\n    {\n      "type": "x"');
      // docs/behaviour.md §14.2: the unknown key stays in the file (and only there, see below).
      if (f !== 'projects/p2.json') expect(text, f).not.toContain('extra');
      expect(text, f).not.toContain('"taskId"');
    }
    // What a file holds is what the API serves.
    expect(s.readData('sessions/s1.json')).toEqual(s1);
    expect(s.readData('tasks/p1/t1.json')).toEqual(t1);
    expect(s.readData('projects/p2.json')).toEqual({ ...(await s.ok('GET', '/api/projects/p2')), extra: 'x' });

    // Legacy input values are accepted and never produced: responses, events and files.
    await s.drain();
    const u = await s.ok('PATCH', '/api/tasks/t1', { status: 'pending' });
    const v = await s.ok('PATCH', '/api/sessions/s2', { status: 'running', taskIds: ['t2', 't1'] });
    const w = await s.ok('POST', '/api/sessions', { projectId: 'p1', taskIds: ['t3'], status: 'running' });
    expect([u.status, v.status, w.status]).toEqual(['todo', 'working', 'working']);
    const events = await s.drain();
    expect(JSON.stringify(events)).not.toMatch(/"(pending|running)"/);
    for (const f of listFiles(config.dataDir).filter((x) => x.endsWith('.json') && !x.startsWith('quarantine/'))) {
      expect(fs.readFileSync(path.join(config.dataDir, f), 'utf8'), f).not.toMatch(/"(pending|running)"/);
    }
    const all = JSON.stringify([await s.ok('GET', '/api/tasks'), await s.ok('GET', '/api/sessions')]);
    expect(all).not.toMatch(/"(pending|running)"/);
  });

  it('restart on the migrated folder: nothing changes, nothing is quarantined again', async () => {
    const config = testConfig();
    legacySet(config.dataDir);
    s = await startAudit({ config, clock: new ManualClock(LOAD) });
    await s.close();
    const snapshot = () =>
      Object.fromEntries(
        listFiles(config.dataDir)
          .filter((f) => f !== '.lock')
          .map((f) => [f, fs.readFileSync(path.join(config.dataDir, f), 'utf8')]),
      );
    const before = snapshot();
    s = await startAudit({ config, clock: new ManualClock(LOAD + 99_999) });
    expect((await s.ok('GET', '/health')).storage).toEqual({ quarantined: 0 });
    expect(snapshot()).toEqual(before);
  });
});

describe('§10.2 seeding across restarts', () => {
  it('a deleted default comes back only when its role has no template at all', async () => {
    const config = testConfig();
    s = await startAudit({ config });
    let list = await s.ok('GET', '/api/templates');
    expect(list.map((t: any) => [t.role, t.isDefault]).sort()).toEqual([
      ['orchestrator', true],
      ['worker', true],
    ]);
    const worker = list.find((t: any) => t.role === 'worker');
    const orch = list.find((t: any) => t.role === 'orchestrator');
    // Worker: delete the default but keep a client template for the role → not reseeded.
    const mine = await s.ok('POST', '/api/templates', { name: 'Mine', role: 'worker', content: 'C' });
    await s.ok('DELETE', `/api/templates/${worker.id}`);
    // Orchestrator: delete the default and nothing else → reseeded with a new id.
    await s.ok('DELETE', `/api/templates/${orch.id}`);
    // Edits of a default survive restarts (no reseed over it).
    await s.close();
    s = await startAudit({ config });
    list = await s.ok('GET', '/api/templates');
    expect(list.map((t: any) => t.role).sort()).toEqual(['orchestrator', 'worker']);
    expect(list.find((t: any) => t.role === 'worker').id).toBe(mine.id);
    const reseeded = list.find((t: any) => t.role === 'orchestrator');
    expect(reseeded).toMatchObject({ isDefault: true, name: 'Default Orchestrator Template' });
    expect(reseeded.id).not.toBe(orch.id);
    expect(reseeded.content).toBe((await s.ok('GET', '/api/templates/default/orchestrator')).content);
    // Seeding emits nothing.
    expect(await s.drain()).toEqual([]);
    // E37 resolves the client template for worker (no default left), the reseeded one for orchestrator.
    expect((await s.ok('GET', '/api/templates/role/worker')).id).toBe(mine.id);
    expect((await s.ok('GET', '/api/templates/role/orchestrator')).id).toBe(reseeded.id);
    // An edited default is kept as is across a restart.
    await s.ok('PUT', `/api/templates/${reseeded.id}`, { content: 'edited' });
    await s.close();
    s = await startAudit({ config });
    list = await s.ok('GET', '/api/templates');
    expect(list).toHaveLength(2);
    expect(list.find((t: any) => t.id === reseeded.id).content).toBe('edited');
    // Deleting everything: both come back, worker first (creation order = seeding order when stamps tie → by id).
    for (const t of list) await s.ok('DELETE', `/api/templates/${t.id}`);
    await s.close();
    s = await startAudit({ config });
    list = await s.ok('GET', '/api/templates');
    expect(list.map((t: any) => t.isDefault)).toEqual([true, true]);
    expect(list.map((t: any) => t.role).sort()).toEqual(['orchestrator', 'worker']);
  });
});

describe('§10.3 role resolution over loaded templates (E37 and the spawn templateId agree)', () => {
  it('several defaults → the oldest default (createdAt, then id); no default → the oldest template', async () => {
    const config = testConfig();
    const tm = (id: string, role: string, createdAt: number, isDefault: boolean) =>
      writeJson(config.dataDir, `templates/${id}.json`, { id, name: id, role, content: `content of ${id}`, isDefault, createdAt, updatedAt: createdAt });
    tm('w-new-default', 'worker', 300, true);
    tm('w-b-default', 'worker', 200, true);
    tm('w-a-default', 'worker', 200, true);
    tm('w-oldest-client', 'worker', 100, false);
    tm('o-b', 'orchestrator', 50, false);
    tm('o-a', 'orchestrator', 50, false);
    tm('o-new', 'orchestrator', 10_000, false);
    writeJson(config.dataDir, 'projects/p.json', { id: 'p', name: 'P', workingDir: '/w', description: '', createdAt: 1, updatedAt: 1 });
    writeJson(config.dataDir, 'tasks/p/t.json', { id: 't', projectId: 'p', title: 'T', createdAt: 1, updatedAt: 1 });
    s = await startAudit({ config });
    // Nothing is seeded: both roles have templates.
    expect((await s.ok('GET', '/api/templates')).map((t: any) => t.id)).toEqual([
      'o-a',
      'o-b',
      'w-oldest-client',
      'w-a-default',
      'w-b-default',
      'w-new-default',
      'o-new',
    ]);
    expect((await s.ok('GET', '/api/templates/role/worker')).id).toBe('w-a-default');
    expect((await s.ok('GET', '/api/templates/role/orchestrator')).id).toBe('o-a');
    const w = await s.ok('POST', '/api/sessions/spawn', { projectId: 'p', taskIds: ['t'] }, 201);
    expect(JSON.parse(fs.readFileSync(w.manifestPath, 'utf8')).templateId).toBe('w-a-default');
    const o = await s.ok('POST', '/api/sessions/spawn', { projectId: 'p', taskIds: ['t'], role: 'orchestrator' }, 201);
    expect(JSON.parse(fs.readFileSync(o.manifestPath, 'utf8')).templateId).toBe('o-a');
    // Updates never change isDefault; deleting the chosen one moves resolution on.
    expect((await s.ok('PUT', '/api/templates/w-a-default', { name: 'x', isDefault: false })).isDefault).toBe(true);
    await s.ok('DELETE', '/api/templates/w-a-default');
    expect((await s.ok('GET', '/api/templates/role/worker')).id).toBe('w-b-default');
    for (const id of ['w-b-default', 'w-new-default']) await s.ok('DELETE', `/api/templates/${id}`);
    expect((await s.ok('GET', '/api/templates/role/worker')).id).toBe('w-oldest-client');
    await s.ok('DELETE', '/api/templates/w-oldest-client');
    const none = await s.call('GET', '/api/templates/role/worker');
    expect([none.status, none.body.code]).toEqual([404, 'NOT_FOUND']);
    const bare = await s.ok('POST', '/api/sessions/spawn', { projectId: 'p', taskIds: ['t'] }, 201);
    expect('templateId' in JSON.parse(fs.readFileSync(bare.manifestPath, 'utf8'))).toBe(false);
  });
});

describe('§9.1 a queue is never created by anything but session creation', () => {
  it('a loaded queue-strategy session without a queue file: Q3 404 on every queue endpoint, push creates nothing', async () => {
    const config = testConfig();
    writeJson(config.dataDir, 'projects/p.json', { id: 'p', name: 'P', workingDir: '', description: '', createdAt: 1, updatedAt: 1 });
    writeJson(config.dataDir, 'tasks/p/t.json', { id: 't', projectId: 'p', title: 'T', createdAt: 1, updatedAt: 1 });
    writeJson(config.dataDir, 'sessions/q.json', { id: 'q', projectId: 'p', taskIds: [], strategy: 'queue', status: 'idle', startedAt: 1 });
    s = await startAudit({ config });
    for (const [m, u, b] of [
      ['GET', '/api/sessions/q/queue'],
      ['GET', '/api/sessions/q/queue/top'],
      ['GET', '/api/sessions/q/queue/items'],
      ['POST', '/api/sessions/q/queue/start'],
      ['POST', '/api/sessions/q/queue/complete'],
      ['POST', '/api/sessions/q/queue/fail', { reason: 5 }],
      ['POST', '/api/sessions/q/queue/skip'],
      ['POST', '/api/sessions/q/queue/push', { taskId: 't' }],
    ] as Array<[string, string, unknown?]>) {
      const res = await s.call(m, u, b);
      expect([res.status, res.body.code, res.body.message], `${m} ${u}`).toEqual([404, 'NOT_FOUND', 'Queue not found']);
    }
    // Neither a PATCH nor a tree-strategy session creates one.
    await s.ok('PATCH', '/api/sessions/q', { strategy: 'queue', status: 'working' });
    const tree = await s.ok('POST', '/api/sessions', { projectId: 'p', taskIds: ['t'], strategy: 'tree' });
    const q2 = await s.call('POST', `/api/sessions/${tree.id}/queue/start`);
    expect([q2.status, q2.body.code]).toEqual([400, 'VALIDATION_ERROR']);
    expect(listFiles(config.dataDir).filter((f) => f.startsWith('queues/'))).toEqual([]);
    expect((await s.ok('GET', '/api/tasks/t')).sessionIds).toEqual([tree.id]);
  });
});

describe('§2.4 E14 step 6 / §5.5: a skipped file that could not be moved keeps its id taken', () => {
  it('quarantine blocked → the file stays, is not counted, and E14 with its id is 400 (never overwritten)', async () => {
    const config = testConfig();
    fs.mkdirSync(path.join(config.dataDir, 'sessions'), { recursive: true });
    fs.writeFileSync(path.join(config.dataDir, 'sessions', 'stuck.json'), '{ broken');
    writeJson(config.dataDir, 'sessions/other.json', { id: 'mismatch', projectId: 'p' });
    fs.mkdirSync(path.join(config.dataDir, 'quarantine'), { recursive: true });
    fs.writeFileSync(path.join(config.dataDir, 'quarantine', 'sessions'), 'a file in the way');
    writeJson(config.dataDir, 'projects/p.json', { id: 'p', name: 'P', workingDir: '', description: '', createdAt: 1, updatedAt: 1 });
    s = await startAudit({ config });
    expect((await s.ok('GET', '/health')).storage).toEqual({ quarantined: 0 });
    expect(await s.ok('GET', '/api/sessions')).toEqual([]);
    for (const id of ['stuck', 'other']) {
      const res = await s.call('POST', '/api/sessions', { id, projectId: 'p', taskIds: [] });
      expect([res.status, res.body.code], id).toEqual([400, 'VALIDATION_ERROR']);
    }
    expect(fs.readFileSync(path.join(config.dataDir, 'sessions', 'stuck.json'), 'utf8')).toBe('{ broken');
    // The id inside a mismatched file is not taken by it.
    expect((await s.ok('POST', '/api/sessions', { id: 'mismatch', projectId: 'p', taskIds: [] })).id).toBe('mismatch');
    expect(await s.drain()).toHaveLength(1);
  });
});
