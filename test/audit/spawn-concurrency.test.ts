/**
 * Spawn in server mode writes the manifest before its store mutation (src/spawn/service.ts), so spawns and other
 * writes run while a manifest is being written. Through the real server: concurrent spawns stay distinct and
 * their events contiguous (§4.5), a manifest reflects the store at the spawn's place in the event order, a failed
 * manifest write or a failed mutation leaves nothing (§8.6), and changes made between the manifest write and the
 * mutation (a `SpawnHooks.afterManifest` test seam) give the answer a serialised spawn would give.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpawnHooks } from '../../src/spawn/service.js';
import { testConfig } from '../support/server.js';
import { listFiles } from '../support/temp.js';
import type { Envelope } from '../support/ws.js';
import { apiState, fileContents, startAudit, type AuditServer } from './helpers.js';
import { expectSpawnCommitted, spawnEventNames } from './spawn-helpers.js';

let s: AuditServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** The events of each spawn, keyed by session id: everything from its `session:spawn` to the next one. */
function groupBySpawn(events: Envelope[]): Map<string, Envelope[]> {
  const groups = new Map<string, Envelope[]>();
  let current: Envelope[] | undefined;
  for (const e of events) {
    if (e.event === 'session:spawn') {
      current = [e];
      expect(groups.has(e.data.session.id)).toBe(false);
      groups.set(e.data.session.id, current);
    } else {
      expect(current, `${e.event} before any session:spawn`).toBeDefined();
      current!.push(e);
    }
  }
  return groups;
}

describe('concurrent spawns (server mode)', () => {
  it('20 spawns at once over shared tasks: distinct sessions and manifests, each spawn’s events contiguous and in order', async () => {
    const config = testConfig();
    s = await startAudit({ config });
    const p = await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' });
    const tasks: any[] = [];
    for (let i = 0; i < 5; i++) tasks.push(await s.ok('POST', '/api/tasks', { projectId: p.id, title: `T${i}` }));
    await s.drain();
    const bodies = Array.from({ length: 20 }, (_, i) => ({
      projectId: p.id,
      taskIds: [tasks[i % 5].id, tasks[(i + 1) % 5].id],
      strategy: i % 2 === 0 ? 'queue' : 'simple',
      skills: [`skill-${i}`],
    }));
    const answers = await Promise.all(bodies.map((b) => s!.call('POST', '/api/sessions/spawn', b)));
    for (const a of answers) expect(a.status, a.text).toBe(201);
    const ids = answers.map((a) => a.body.sessionId as string);
    expect(new Set(ids).size).toBe(20);

    // One manifest per session, nothing else in SESSION_DIR (no temp files, no stray folders).
    expect(listFiles(config.sessionDir)).toEqual(ids.map((id) => `${id}/manifest.json`).sort());
    answers.forEach((a, i) => {
      expect(a.body.manifestPath).toBe(path.join(config.sessionDir, ids[i]!, 'manifest.json'));
      const manifest = JSON.parse(fs.readFileSync(a.body.manifestPath, 'utf8'));
      expect(manifest.tasks.map((t: any) => t.id)).toEqual(bodies[i]!.taskIds);
      expect(manifest.skills).toEqual(bodies[i]!.skills);
      expect(manifest.strategy).toBe(bodies[i]!.strategy === 'queue' ? 'queue' : undefined);
    });

    // Events: every spawn's group is exactly session:spawn → task:session_added per task → queue:created.
    const expectedCount = bodies.reduce((n, b) => n + 1 + b.taskIds.length + (b.strategy === 'queue' ? 1 : 0), 0);
    const events = await s.drain(expectedCount);
    expect(events).toHaveLength(expectedCount);
    const groups = groupBySpawn(events);
    expect([...groups.keys()].sort()).toEqual([...ids].sort());
    answers.forEach((a, i) => {
      const body = bodies[i]!;
      const group = groups.get(ids[i]!)!;
      expect(group.map((e) => e.event)).toEqual(spawnEventNames(body));
      expect(group[0]!.data.session).toEqual(a.body.session);
      expect(group[0]!.data.manifest).toEqual(JSON.parse(fs.readFileSync(a.body.manifestPath, 'utf8')));
      body.taskIds.forEach((taskId, k) => expect(group[1 + k]!.data).toEqual({ taskId, sessionId: ids[i] }));
      if (body.strategy === 'queue') expect(group.at(-1)!.data.sessionId).toBe(ids[i]);
    });

    // No lost link: every task names exactly the spawns that asked for it, in event (commit) order.
    const order = [...groups.keys()];
    for (const t of tasks) {
      const expected = order.filter((id) => bodies[ids.indexOf(id)]!.taskIds.includes(t.id));
      expect((await s.ok('GET', `/api/tasks/${t.id}`)).sessionIds).toEqual(expected);
      expect(s.readData(`tasks/${p.id}/${t.id}.json`).sessionIds).toEqual(expected);
    }
    expect((await s.ok('GET', '/api/sessions')).map((x: any) => x.id).sort()).toEqual([...ids].sort());
  });

  it('spawns racing renames of their task: each manifest has the title current at its place in the event order', async () => {
    s = await startAudit();
    const p = await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'v0' });
    await s.drain();
    const calls: Promise<{ status: number; text: string }>[] = [];
    for (let i = 1; i <= 15; i++) {
      calls.push(s.call('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id] }));
      calls.push(s.call('PATCH', `/api/tasks/${t.id}`, { title: `v${i}` }));
    }
    for (const r of await Promise.all(calls)) expect(r.status, r.text).toBeLessThan(300);
    const events = await s.drain(15 * 2 + 15);
    let title = 'v0';
    let spawns = 0;
    for (const e of events) {
      if (e.event === 'task:updated') title = e.data.title;
      if (e.event === 'session:spawn') {
        spawns++;
        expect(e.data.manifest.tasks[0].title).toBe(title);
        const onDisk = JSON.parse(fs.readFileSync(e.data.envVars.MAESTRO_MANIFEST_PATH, 'utf8'));
        expect(onDisk).toEqual(e.data.manifest);
      }
    }
    expect(spawns).toBe(15);
  });
});

describe('§8.6 failures around the manifest written before the mutation', () => {
  it('manifest writes fail (SESSION_DIR is a file) for 5 concurrent spawns: all 500, no session, no folder, no event', async () => {
    const config = testConfig();
    s = await startAudit({ config });
    const p = await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
    await s.drain();
    const data = fileContents(config.dataDir);
    const state = await apiState(s);
    fs.rmSync(config.sessionDir, { recursive: true });
    fs.writeFileSync(config.sessionDir, 'not a folder');
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        s!.call('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], strategy: i % 2 ? 'queue' : 'simple' }),
      ),
    );
    for (const a of answers) {
      expect(a.status, a.text).toBe(500);
      expect(a.body.code).toBe('manifest_generation_failed');
      expect(a.body.message).toMatch(/^Failed to generate manifest: /);
    }
    expect(await s.drain()).toEqual([]);
    expect(fileContents(config.dataDir)).toEqual(data);
    expect(await apiState(s)).toEqual(state);
    expect(fs.readFileSync(config.sessionDir, 'utf8')).toBe('not a folder');
    // With SESSION_DIR back, the same spawn works and is the only session.
    fs.rmSync(config.sessionDir);
    fs.mkdirSync(config.sessionDir);
    const ok = await s.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id] }, 201);
    expect((await s.ok('GET', '/api/sessions')).map((x: any) => x.id)).toEqual([ok.sessionId]);
    expect(listFiles(config.sessionDir)).toEqual([`${ok.sessionId}/manifest.json`]);
  });

  it('the mutation fails after the manifest was written (queues/ unusable): 500 spawn_error, folder removed, no event', async () => {
    const config = testConfig();
    let manifestSeen = 0;
    // The hook runs between the manifest write and the mutation: the manifest really was on disk.
    s = await startAudit({
      config,
      spawnHooks: {
        afterManifest: ({ sessionId }) => {
          if (fs.existsSync(path.join(config.sessionDir, sessionId, 'manifest.json'))) manifestSeen++;
        },
      },
    });
    const p = await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
    await s.drain();
    const queues = path.join(config.dataDir, 'queues');
    fs.rmSync(queues, { recursive: true });
    fs.writeFileSync(queues, 'blocked');
    const data = fileContents(config.dataDir);
    const state = await apiState(s);
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => s!.call('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], strategy: 'queue' })),
    );
    for (const a of answers) {
      expect(a.status, a.text).toBe(500);
      expect(a.body.code).toBe('spawn_error');
    }
    expect(manifestSeen).toBe(4);
    expect(await s.drain()).toEqual([]);
    expect(fileContents(config.dataDir)).toEqual(data);
    expect(await apiState(s)).toEqual(state);
    expect(listFiles(config.sessionDir)).toEqual([]);
  });
});

describe('changes between the manifest write and the mutation (SpawnHooks.afterManifest)', () => {
  /** A server whose spawns run `change` once, on their first attempt, after their manifest is written. */
  async function withChange(change: (a: AuditServer, info: { sessionId: string; attempt: number }) => Promise<void>, every = false) {
    const config = testConfig();
    const calls: Array<{ sessionId: string; attempt: number; manifest: any }> = [];
    const hooks: SpawnHooks = {
      afterManifest: async (info) => {
        const manifest = JSON.parse(fs.readFileSync(path.join(config.sessionDir, info.sessionId, 'manifest.json'), 'utf8'));
        calls.push({ ...info, manifest });
        if (every || info.attempt === 1) await change(s!, info);
      },
    };
    s = await startAudit({ config, spawnHooks: hooks });
    const p = await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' });
    const empty = await s.ok('POST', '/api/projects', { name: 'Empty', workingDir: '/tmp/e' });
    const t1 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T1' });
    const t2 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T2' });
    const parent = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [] });
    await s.drain();
    return { config, calls, p, empty, t1, t2, parent };
  }

  for (const [what, code, details] of [
    ['a task is deleted', 'task_not_found', 'taskId'],
    ['the project is deleted', 'project_not_found', undefined],
    ['the parent session is deleted', 'parent_session_not_found', undefined],
  ] as const) {
    it(`${what}: 404 ${code} as a spawn serialised after it, no session, no folder, only the change's events`, async () => {
      let fx!: Awaited<ReturnType<typeof withChange>>;
      fx = await withChange(async (a) => {
        if (code === 'task_not_found') await a.ok('DELETE', `/api/tasks/${fx.t2.id}`);
        if (code === 'project_not_found') await a.ok('DELETE', `/api/projects/${fx.empty.id}`);
        if (code === 'parent_session_not_found') await a.ok('DELETE', `/api/sessions/${fx.parent.id}`);
      });
      const res = await s!.call('POST', '/api/sessions/spawn', {
        projectId: fx.empty.id, // tasks of another project are accepted (§8.2)
        taskIds: [fx.t1.id, fx.t2.id],
        strategy: 'queue',
        spawnSource: 'session',
        sessionId: fx.parent.id,
      });
      expect(res.status, res.text).toBe(404);
      expect(res.body.code).toBe(code);
      expect(res.body.details).toEqual(details ? { taskId: fx.t2.id } : undefined);
      expect(fx.calls).toHaveLength(1);
      expect(fx.calls[0]!.manifest.tasks.map((t: any) => t.id)).toEqual([fx.t1.id, fx.t2.id]); // it had been written
      const events = (await s!.drain()).map((e) => e.event);
      expect(events).toEqual([code === 'task_not_found' ? 'task:deleted' : code === 'project_not_found' ? 'project:deleted' : 'session:deleted']);
      expect((await s!.ok('GET', '/api/sessions')).map((x: any) => x.id)).toEqual(code === 'parent_session_not_found' ? [] : [fx.parent.id]);
      expect((await s!.ok('GET', `/api/tasks/${fx.t1.id}`)).sessionIds).toEqual([]);
      expect(listFiles(fx.config.sessionDir)).toEqual([]);
      expect(listFiles(path.join(fx.config.dataDir, 'queues'))).toEqual([]);
    });
  }

  it('a task is renamed: the manifest is written again with the new title, and the spawn succeeds', async () => {
    const fx = await withChange(async (a) => void (await a.ok('PATCH', `/api/tasks/${fx.t1.id}`, { title: 'renamed' })));
    const res = await s!.ok('POST', '/api/sessions/spawn', { projectId: fx.p.id, taskIds: [fx.t1.id] }, 201);
    expect(fx.calls.map((c) => [c.sessionId, c.attempt, c.manifest.tasks[0].title])).toEqual([
      [res.sessionId, 1, 'T1'],
      [res.sessionId, 2, 'renamed'],
    ]);
    const manifest = expectSpawnCommitted(await s!.drain(3), {
      before: ['task:updated'],
      spawn: { taskIds: [fx.t1.id] },
      answer: res,
      sessionDir: fx.config.sessionDir,
    });
    expect(manifest.tasks[0].title).toBe('renamed');
  });

  it('a task renamed under every attempt: the last attempt writes the manifest inside the mutation, still current', async () => {
    let n = 0;
    const fx = await withChange(async (a) => void (await a.ok('PATCH', `/api/tasks/${fx.t1.id}`, { title: `rename ${++n}` })), true);
    const res = await s!.ok('POST', '/api/sessions/spawn', { projectId: fx.p.id, taskIds: [fx.t1.id], strategy: 'queue' }, 201);
    expect(fx.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    const manifest = expectSpawnCommitted(await s!.drain(6), {
      before: ['task:updated', 'task:updated', 'task:updated'],
      spawn: { taskIds: [fx.t1.id], strategy: 'queue' },
      answer: res,
      sessionDir: fx.config.sessionDir,
    });
    expect(manifest.tasks[0].title).toBe('rename 3');
  });

  it('E14 takes the chosen id with a client-chosen id: the spawn takes another id, the E14 session is untouched', async () => {
    let taken: string | undefined;
    const fx = await withChange(async (a, info) => {
      taken = info.sessionId;
      await a.ok('POST', '/api/sessions', { id: info.sessionId, projectId: fx.p.id, taskIds: [fx.t2.id] }, 201);
    });
    const res = await s!.ok('POST', '/api/sessions/spawn', { projectId: fx.p.id, taskIds: [fx.t1.id] }, 201);
    expect(res.sessionId).not.toBe(taken);
    expect(fx.calls.map((c) => c.attempt)).toEqual([1, 2]);
    expect(fx.calls[1]!.sessionId).toBe(res.sessionId);
    const e14 = await s!.ok('GET', `/api/sessions/${taken}`);
    expect(e14).toMatchObject({ id: taken, taskIds: [fx.t2.id] });
    expectSpawnCommitted(await s!.drain(4), {
      before: ['session:created', 'task:session_added'],
      spawn: { taskIds: [fx.t1.id] },
      answer: res,
      sessionDir: fx.config.sessionDir,
    });
  });
});
