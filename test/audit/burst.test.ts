/**
 * docs/behaviour.md §12 robustness and §5.1/§5.4 layout: a burst of concurrent mixed requests (reads, writes, bad input)
 * never answers 5xx; afterwards no temp file is left, only entity files end in .json, every file equals what the
 * API serves, and a restart serves the same state.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/http.js';
import { testConfig } from '../support/server.js';
import { listFiles } from '../support/temp.js';
import { startAudit, type AuditServer } from './helpers.js';

let s: AuditServer | undefined;
afterAll(async () => {
  await s?.close();
});

function prng(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('§12 burst', () => {
  it('200 concurrent mixed requests: no 5xx, consistent files, same state after restart', async () => {
    const config = testConfig();
    s = await startAudit({ config });
    const a = s;
    const p = await a.ok('POST', '/api/projects', { name: 'burst', workingDir: '/tmp/b' });
    const tasks: string[] = [];
    for (let i = 0; i < 10; i++) tasks.push((await a.ok('POST', '/api/tasks', { projectId: p.id, title: `t${i}` })).id);
    const sessions: string[] = [];
    for (let i = 0; i < 5; i++) sessions.push((await a.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [tasks[i]!], strategy: 'queue' })).id);
    const tmpl = (await a.ok('POST', '/api/templates', { name: 'n', role: 'worker', content: 'c' })).id;
    await a.drain();

    const rnd = prng(7);
    const pick = <X>(xs: X[]): X => xs[Math.floor(rnd() * xs.length)]!;
    const J = { 'Content-Type': 'application/json' };
    const makers: Array<() => [string, string, Record<string, string>?, string?]> = [
      () => ['GET', '/api/projects'],
      () => ['GET', `/api/tasks?projectId=${p.id}`],
      () => ['GET', `/api/sessions/${pick(sessions)}`],
      () => ['GET', `/api/sessions/${pick(sessions)}/queue`],
      () => ['HEAD', '/api/templates'],
      () => ['GET', '/health'],
      () => ['GET', '/ws-status'],
      () => ['POST', '/api/tasks', J, JSON.stringify({ projectId: p.id, title: `new ${rnd()}` })],
      () => ['PATCH', `/api/tasks/${pick(tasks)}`, J, JSON.stringify({ status: pick(['todo', 'in_progress', 'completed', 'pending']), sessionIds: [pick(sessions)] })],
      () => ['PATCH', `/api/sessions/${pick(sessions)}`, J, JSON.stringify({ taskIds: [pick(tasks), pick(tasks)], events: [{ type: 'e' }] })],
      () => ['POST', `/api/sessions/${pick(sessions)}/queue/${pick(['start', 'complete', 'fail', 'skip'])}`],
      () => ['POST', `/api/sessions/${pick(sessions)}/queue/push`, J, JSON.stringify({ taskId: pick(tasks) })],
      () => ['POST', `/api/sessions/${pick(sessions)}/tasks/${pick(tasks)}`],
      () => ['DELETE', `/api/sessions/${pick(sessions)}/tasks/${pick(tasks)}`],
      () => ['POST', '/api/sessions/spawn', J, JSON.stringify({ projectId: p.id, taskIds: [pick(tasks), pick(tasks)], strategy: pick(['simple', 'queue']) })],
      () => ['POST', '/api/sessions', J, JSON.stringify({ projectId: p.id, taskIds: [pick(tasks)] })],
      () => ['PUT', `/api/templates/${tmpl}`, J, JSON.stringify({ content: `c${rnd()}` })],
      () => ['POST', `/api/sessions/${pick(sessions)}/timeline`, J, JSON.stringify({ message: 'm', taskId: pick(tasks) })],
      // Bad input of every kind.
      () => ['POST', '/api/tasks', J, '{"projectId":'],
      () => ['POST', '/api/tasks', { 'Content-Type': 'text/plain' }, 'x'],
      () => ['PATCH', `/api/tasks/${pick(tasks)}`, J, '[1,2]'],
      () => ['PATCH', `/api/tasks/${pick(tasks)}`, J, JSON.stringify({ sessionIds: ['sess_nope'] })],
      () => ['GET', `/api/tasks/${'%'.repeat(3)}`],
      () => ['DELETE', '/api/projects/' + p.id],
      () => ['POST', '/api/sessions/spawn', J, JSON.stringify({ projectId: p.id, taskIds: ['task_nope'] })],
      () => ['GET', '/api/nope'],
      () => ['POST', '/api/projects', J, JSON.stringify({ name: 'x'.repeat(1_100_000) })],
    ];
    const reqs = Array.from({ length: 200 }, () => pick(makers)());
    const results = await Promise.all(reqs.map(([m, u, h, b]) => rawRequest(a.port, m, u, { headers: h, body: b })));
    const bad = results.map((r, i) => [r.status, reqs[i]![0], reqs[i]![1], r.text.slice(0, 200)]).filter(([st]) => (st as number) >= 500);
    expect(bad).toEqual([]);
    for (const r of results) {
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    }
    expect((await a.ok('GET', '/health')).status).toBe('ok');

    // Layout: only entity files end in .json, no temp files left (they are not .json; nothing else may exist).
    const files = listFiles(config.dataDir);
    for (const f of files) {
      expect(f).toMatch(/^(\.lock|projects\/[^/]+\.json|tasks\/[^/]+\/[^/]+\.json|sessions\/[^/]+\.json|queues\/[^/]+\.json|templates\/[^/]+\.json)$/);
    }
    for (const f of listFiles(config.sessionDir)) expect(f).toMatch(/^[^/]+\/manifest\.json$/);

    // Every file equals what the API serves, and vice versa.
    const state = {
      projects: await a.ok('GET', '/api/projects'),
      tasks: await a.ok('GET', '/api/tasks'),
      sessions: await a.ok('GET', '/api/sessions'),
      templates: await a.ok('GET', '/api/templates'),
    };
    const queues: Record<string, unknown> = {};
    for (const sess of state.sessions.filter((x: any) => x.strategy === 'queue')) {
      queues[sess.id] = (await a.ok('GET', `/api/sessions/${sess.id}/queue`)).queue;
    }
    const fromDisk = (dir: string) =>
      files.filter((f) => f.startsWith(`${dir}/`)).map((f) => JSON.parse(fs.readFileSync(path.join(config.dataDir, f), 'utf8')));
    const byId = (xs: any[]) => [...xs].sort((x, y) => (x.id < y.id ? -1 : 1));
    expect(byId(fromDisk('projects'))).toEqual(byId(state.projects));
    expect(byId(fromDisk('tasks'))).toEqual(byId(state.tasks));
    expect(byId(fromDisk('sessions'))).toEqual(byId(state.sessions));
    expect(byId(fromDisk('templates'))).toEqual(byId(state.templates));
    expect(Object.fromEntries(fromDisk('queues').map((q: any) => [q.sessionId, q]))).toEqual(queues);

    // Links agree on both sides.
    for (const t of state.tasks) for (const sid of t.sessionIds) expect(state.sessions.find((x: any) => x.id === sid).taskIds).toContain(t.id);
    for (const x of state.sessions) for (const tid of x.taskIds) expect(state.tasks.find((t: any) => t.id === tid).sessionIds).toContain(x.id);

    // Restart: the same state.
    await a.close();
    s = await startAudit({ config });
    expect((await s.ok('GET', '/health')).storage.quarantined).toBe(0);
    expect({
      projects: await s.ok('GET', '/api/projects'),
      tasks: await s.ok('GET', '/api/tasks'),
      sessions: await s.ok('GET', '/api/sessions'),
      templates: await s.ok('GET', '/api/templates'),
    }).toEqual(state);
  });
});

describe('§0.8 no update is lost', () => {
  it('50 concurrent env merges, event appends, timeline appends and links on one session all survive', async () => {
    const a = await startAudit();
    try {
      const p = await a.ok('POST', '/api/projects', { name: 'lost' });
      const sess = await a.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [] });
      const tasks: string[] = [];
      for (let i = 0; i < 25; i++) tasks.push((await a.ok('POST', '/api/tasks', { projectId: p.id, title: `t${i}` })).id);
      const J = { 'Content-Type': 'application/json' };
      const reqs: Promise<unknown>[] = [];
      for (let i = 0; i < 50; i++) {
        reqs.push(rawRequest(a.port, 'PATCH', `/api/sessions/${sess.id}`, { headers: J, body: JSON.stringify({ env: { [`K${i}`]: `v${i}` } }) }));
        reqs.push(rawRequest(a.port, 'POST', `/api/sessions/${sess.id}/events`, { headers: J, body: JSON.stringify({ type: `e${i}` }) }));
        reqs.push(rawRequest(a.port, 'POST', `/api/sessions/${sess.id}/timeline`, { headers: J, body: JSON.stringify({ message: `m${i}` }) }));
        if (i < 25) reqs.push(rawRequest(a.port, 'POST', `/api/sessions/${sess.id}/tasks/${tasks[i]}`));
      }
      const results = (await Promise.all(reqs)) as Array<{ status: number }>;
      expect(results.every((r) => r.status === 200)).toBe(true);
      const final = await a.ok('GET', `/api/sessions/${sess.id}`);
      expect(Object.keys(final.env)).toHaveLength(50);
      expect(final.events).toHaveLength(50);
      expect(final.timeline.filter((e: any) => e.type === 'progress')).toHaveLength(50);
      expect([...final.taskIds].sort()).toEqual([...tasks].sort());
      expect(final.lastActivity).toBeGreaterThanOrEqual(sess.lastActivity + 175);
      expect(a.readData(`sessions/${sess.id}.json`)).toEqual(final);
      for (const t of tasks) expect((await a.ok('GET', `/api/tasks/${t}`)).sessionIds).toEqual([sess.id]);
    } finally {
      await a.close();
    }
  });
});
