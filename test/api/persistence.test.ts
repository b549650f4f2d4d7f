/** Restart persistence, on-disk layout, corrupt files at start, the DATA_DIR lock, concurrent writes (issue 3). */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startInProcess, testConfig } from '../support/server.js';
import { readData, startApi } from './harness.js';

describe('persistence', () => {
  it('stop and start on the same folder serves the same data, in the documented layout', async () => {
    const config = testConfig();
    const api = await startApi(config);
    const { client } = api;
    const p = await client.createProject({ body: { name: 'Persist', workingDir: '/w' } });
    const t = await client.createTask({ body: { projectId: p.id, title: 'T', dueDate: '2030-12-31' } });
    const child = await client.createTask({ body: { projectId: p.id, title: 'C', parentId: t.id } });
    const s = await client.createSession({ body: { id: 'cli-session', projectId: p.id, taskIds: [t.id, child.id], strategy: 'queue' } });
    await client.updateTask({ params: { id: t.id }, body: { status: 'in_progress' } });
    await client.addSessionTimelineEntry({ params: { id: s.id }, body: { message: 'progress' } });
    await client.startQueueItem({ params: { id: s.id } });
    const templates = await client.listTemplates();
    const snapshot = {
      projects: await client.listProjects(),
      tasks: await client.listTasks(),
      sessions: await client.listSessions(),
      queue: await client.getQueue({ params: { id: s.id } }),
    };
    expect(readData(api, `tasks/${p.id}/${t.id}.json`)).toEqual(snapshot.tasks[0]);
    expect(readData(api, `queues/${s.id}.json`)).toEqual(snapshot.queue.queue);
    expect(fs.readFileSync(path.join(config.dataDir, 'projects', `${p.id}.json`), 'utf8')).toBe(`${JSON.stringify(p, null, 2)}\n`);
    await api.close();
    expect(fs.existsSync(path.join(config.dataDir, '.lock'))).toBe(false);

    const again = await startApi(config);
    expect(await again.client.listProjects()).toEqual(snapshot.projects);
    expect(await again.client.listTasks()).toEqual(snapshot.tasks);
    expect(await again.client.listSessions()).toEqual(snapshot.sessions);
    expect(await again.client.getQueue({ params: { id: s.id } })).toEqual(snapshot.queue);
    // Templates are not re-seeded when their roles already have one.
    expect(await again.client.listTemplates()).toEqual(templates);
    // A client id that exists is still refused after the restart.
    await expect(again.client.createSession({ body: { id: 'cli-session', projectId: p.id, taskIds: [] } })).rejects.toMatchObject({ status: 400 });
    await again.close();
  });

  it('a corrupt file is quarantined at start, counted in /health, and never stops the server', async () => {
    const config = testConfig();
    for (const dir of ['projects', 'sessions', 'tasks']) fs.mkdirSync(path.join(config.dataDir, dir), { recursive: true });
    fs.writeFileSync(path.join(config.dataDir, 'projects', 'proj_1_garbage00.json'), '{ not json');
    fs.writeFileSync(path.join(config.dataDir, 'sessions', 'empty.json'), '');
    fs.writeFileSync(path.join(config.dataDir, 'projects', 'proj_2_mismatch0.json'), JSON.stringify({ id: 'other', name: 'x' }));
    const api = await startApi(config);
    const health = await api.raw('GET', '/health');
    expect(health.json).toMatchObject({ status: 'ok', storage: { quarantined: 3 } });
    expect(await api.client.listProjects()).toEqual([]);
    const quarantined = fs.readdirSync(path.join(config.dataDir, 'quarantine', 'projects'));
    expect(quarantined.length).toBe(2);
    expect(fs.existsSync(path.join(config.dataDir, 'projects', 'proj_1_garbage00.json'))).toBe(false);
    await api.close();
  });

  it('leftover manifest temp files in SESSION_DIR are swept at start; manifests and other files stay', async () => {
    const config = testConfig();
    const dir = path.join(config.sessionDir, 'sess_1_abcdefghi');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{}');
    fs.writeFileSync(path.join(dir, '.manifest.json.4242.k3j4h5.tmp'), '{"half');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'kept');
    const api = await startApi(config);
    await api.server.maintenance;
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest.json', 'notes.txt']);
    await api.close();
  });

  it('a second server on the same DATA_DIR refuses to start, naming the folder and the holder', async () => {
    const first = await startInProcess();
    const config = first.config;
    try {
      await expect(startInProcess({ root: first.root })).rejects.toThrow(new RegExp(`${config.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*${process.pid}|${process.pid}.*`));
    } finally {
      await first.close();
    }
  });

  it('concurrent PATCHes of one task lose no field', async () => {
    const api = await startApi();
    const p = await api.client.createProject({ body: { name: 'C' } });
    const t = await api.client.createTask({ body: { projectId: p.id, title: 'T' } });
    const patches = [
      { title: 'new title' },
      { description: 'new description' },
      { priority: 'high' as const },
      { status: 'in_progress' as const },
      { skillIds: ['a'] },
      { dependencies: ['b'] },
      { model: 'opus' as const },
      { dueDate: '2031-01-01' },
      { sessionStatus: 'working' as const },
      { agentIds: ['agent'] },
    ];
    const results = await Promise.all(patches.map((body) => api.client.updateTask({ params: { id: t.id }, body })));
    const stamps = results.map((r) => r.updatedAt).sort((a, b) => a - b);
    expect(new Set(stamps).size).toBe(patches.length);
    const final = await api.client.getTask({ params: { id: t.id } });
    expect(final).toMatchObject(Object.assign({}, ...patches));
    expect(readData(api, `tasks/${p.id}/${t.id}.json`)).toEqual(final);
    await api.close();
  });
});
