/**
 * docs/behaviour.md §0.2 (one clock reading per request; stamps only move forward) and §0.3 (auto-set fields), through
 * the real server with an injected clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../src/clock.js';
import { startAudit, type AuditServer } from './helpers.js';

const T = 1_800_000_000_000;

/** A clock that moves 1000 ms on every reading: any second reading inside one request shows up as a difference. */
class TickingClock implements Clock {
  constructor(public current = T) {}
  now(): number {
    this.current += 1000;
    return this.current;
  }
}

let s: AuditServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('§0.2 stamps only move forward (frozen and backwards clock)', () => {
  it('Project: create stamps now; every PUT gives max(now, prev + 1)', async () => {
    const clock = new ManualClock(T);
    s = await startAudit({ clock });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    expect([p.createdAt, p.updatedAt]).toEqual([T, T]);
    const p1 = await s.ok('PUT', `/api/projects/${p.id}`, {});
    expect(p1.updatedAt).toBe(T + 1);
    const p2 = await s.ok('PUT', `/api/projects/${p.id}`, { name: 'Q' });
    expect(p2.updatedAt).toBe(T + 2);
    clock.set(T - 60_000);
    const p3 = await s.ok('PUT', `/api/projects/${p.id}`, { description: 'x' });
    expect(p3.updatedAt).toBe(T + 3);
    expect(p3.createdAt).toBe(T);
    clock.set(T + 500);
    const p4 = await s.ok('PUT', `/api/projects/${p.id}`, {});
    expect(p4.updatedAt).toBe(T + 500);
    expect(s.readData(`projects/${p.id}.json`).updatedAt).toBe(T + 500);
  });

  it('Task: PATCH, LINK/UNLINK through E21/E22, E14 links and spawn links all bump updatedAt', async () => {
    const clock = new ManualClock(T);
    s = await startAudit({ clock });
    const p = await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
    expect([t.createdAt, t.updatedAt, t.startedAt, t.completedAt]).toEqual([T, T, null, null]);
    let u = await s.ok('PATCH', `/api/tasks/${t.id}`, {});
    expect(u.updatedAt).toBe(T + 1);
    u = await s.ok('PATCH', `/api/tasks/${t.id}`, { status: 'in_progress' });
    expect(u.updatedAt).toBe(T + 2);
    expect(u.startedAt).toBe(T);
    u = await s.ok('PATCH', `/api/tasks/${t.id}`, { sessionStatus: 'working', updateSource: 'session', title: 'ignored' });
    expect(u.updatedAt).toBe(T + 3);
    expect(u.title).toBe('T');
    // E14 with the task: the task is stamped max(now, prev+1).
    const sess = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t.id] });
    expect(sess.startedAt).toBe(T);
    expect((await s.ok('GET', `/api/tasks/${t.id}`)).updatedAt).toBe(T + 4);
    // UNLINK then LINK through E22/E21.
    await s.ok('DELETE', `/api/sessions/${sess.id}/tasks/${t.id}`);
    expect((await s.ok('GET', `/api/tasks/${t.id}`)).updatedAt).toBe(T + 5);
    await s.ok('POST', `/api/sessions/${sess.id}/tasks/${t.id}`);
    expect((await s.ok('GET', `/api/tasks/${t.id}`)).updatedAt).toBe(T + 6);
    // Idempotent LINK changes nothing.
    await s.ok('POST', `/api/sessions/${sess.id}/tasks/${t.id}`);
    expect((await s.ok('GET', `/api/tasks/${t.id}`)).updatedAt).toBe(T + 6);
    // Spawn links the task.
    clock.set(T - 1000);
    const spawned = await s.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id] }, 201);
    expect(spawned.session.startedAt).toBe(T - 1000);
    expect((await s.ok('GET', `/api/tasks/${t.id}`)).updatedAt).toBe(T + 7);
    // Session delete unlinks: the task moves forward again.
    await s.ok('DELETE', `/api/sessions/${sess.id}`);
    const after = await s.ok('GET', `/api/tasks/${t.id}`);
    expect(after.updatedAt).toBe(T + 8);
    expect(after.createdAt).toBe(T);
    expect(s.readData(`tasks/${p.id}/${t.id}.json`).updatedAt).toBe(T + 8);
  });

  it('Session.lastActivity: E10, E12, E16, E18, E19, LINK, UNLINK each give max(now, prev + 1)', async () => {
    const clock = new ManualClock(T);
    s = await startAudit({ clock });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    const t1 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T1' });
    const t2 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T2' });
    const sess = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t1.id] });
    expect([sess.startedAt, sess.lastActivity]).toEqual([T, T]);
    const steps: Array<[string, string, unknown]> = [
      ['POST', `/api/sessions/${sess.id}/events`, { type: 'x' }],
      ['POST', `/api/sessions/${sess.id}/timeline`, { message: 'm' }],
      ['POST', `/api/tasks/${t1.id}/timeline`, { message: 'm', sessionId: sess.id }],
      ['PATCH', `/api/sessions/${sess.id}`, {}],
      ['POST', `/api/sessions/${sess.id}/tasks/${t2.id}`, undefined],
      ['DELETE', `/api/sessions/${sess.id}/tasks/${t2.id}`, undefined],
      ['PATCH', `/api/tasks/${t2.id}`, { sessionIds: [sess.id] }],
      ['DELETE', `/api/tasks/${t2.id}`, undefined],
    ];
    clock.set(T - 5000);
    let expected = T;
    for (const [method, url, body] of steps) {
      await s.ok(method, url, body);
      expected += 1;
      const got = await s.ok('GET', `/api/sessions/${sess.id}`);
      expect(got.lastActivity, `${method} ${url}`).toBe(expected);
      expect(got.startedAt).toBe(T);
    }
    const file = s.readData(`sessions/${sess.id}.json`);
    expect(file.lastActivity).toBe(expected);
    // Entries appended while the clock is behind carry the request's reading (now), not the bumped stamp.
    expect(file.events[0].timestamp).toBe(T - 5000);
  });

  it('QueueState.updatedAt: start, complete, fail, skip and push give max(now, prev + 1)', async () => {
    const clock = new ManualClock(T);
    s = await startAudit({ clock });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await s.ok('POST', '/api/tasks', { projectId: p.id, title: `T${i}` })).id);
    const sess = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: ids.slice(0, 4), strategy: 'queue' });
    const q0 = (await s.ok('GET', `/api/sessions/${sess.id}/queue`)).queue;
    expect([q0.createdAt, q0.updatedAt]).toEqual([T, T]);
    expect(q0.items.every((i: any) => i.addedAt === T)).toBe(true);
    clock.set(T - 100);
    const ops: Array<[string, unknown]> = [
      ['start', undefined],
      ['complete', undefined],
      ['start', undefined],
      ['fail', { reason: 'r' }],
      ['skip', undefined],
      ['push', { taskId: ids[4] }],
    ];
    let expected = T;
    for (const [op, body] of ops) {
      await s.ok('POST', `/api/sessions/${sess.id}/queue/${op}`, body);
      expected += 1;
      const q = (await s.ok('GET', `/api/sessions/${sess.id}/queue`)).queue;
      expect(q.updatedAt, op).toBe(expected);
      expect(q.createdAt).toBe(T);
    }
    expect(s.readData(`queues/${sess.id}.json`).updatedAt).toBe(expected);
  });

  it('Template.updatedAt: PUT and reset give max(now, prev + 1)', async () => {
    const clock = new ManualClock(T);
    s = await startAudit({ clock });
    const tm = await s.ok('POST', '/api/templates', { name: 'N', role: 'worker', content: 'C' });
    expect([tm.createdAt, tm.updatedAt, tm.isDefault]).toEqual([T, T, false]);
    clock.set(T - 1);
    expect((await s.ok('PUT', `/api/templates/${tm.id}`, { name: 'M' })).updatedAt).toBe(T + 1);
    expect((await s.ok('POST', `/api/templates/${tm.id}/reset`)).updatedAt).toBe(T + 2);
    expect((await s.ok('PUT', `/api/templates/${tm.id}`, { content: 'D' })).updatedAt).toBe(T + 3);
    expect(s.readData(`templates/${tm.id}.json`).updatedAt).toBe(T + 3);
    // Seeded defaults were stamped with the start-up clock and move forward too.
    const seeded = (await s.ok('GET', '/api/templates')).filter((x: any) => x.isDefault);
    expect(seeded).toHaveLength(2);
    for (const d of seeded) {
      expect(d.createdAt).toBe(d.updatedAt);
      const r = await s.ok('POST', `/api/templates/${d.id}/reset`);
      expect(r.updatedAt).toBe(Math.max(T - 1, d.updatedAt + 1));
    }
  });
});

describe('§0.2 one clock reading per request (a clock that moves on every reading)', () => {
  it('create: createdAt == updatedAt for projects, tasks and templates', async () => {
    s = await startAudit({ clock: new TickingClock() });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    expect(p.updatedAt).toBe(p.createdAt);
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
    expect(t.updatedAt).toBe(t.createdAt);
    const tm = await s.ok('POST', '/api/templates', { name: 'N', role: 'orchestrator', content: 'C' });
    expect(tm.updatedAt).toBe(tm.createdAt);
    for (const d of await s.ok('GET', '/api/templates')) expect(d.updatedAt).toBe(d.createdAt);
  });

  it('E14: startedAt, lastActivity, timeline, completedAt, linked tasks, queue and items share one reading', async () => {
    s = await startAudit({ clock: new TickingClock() });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    const t1 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T1' });
    const t2 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T2' });
    const sess = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t1.id, t2.id], strategy: 'queue', status: 'stopped' });
    const now = sess.startedAt;
    expect(sess.lastActivity).toBe(now);
    expect(sess.completedAt).toBe(now);
    expect(sess.timeline.map((e: any) => e.timestamp)).toEqual([now, now, now]);
    for (const t of [t1, t2]) expect((await s.ok('GET', `/api/tasks/${t.id}`)).updatedAt).toBe(now);
    const q = (await s.ok('GET', `/api/sessions/${sess.id}/queue`)).queue;
    expect([q.createdAt, q.updatedAt]).toEqual([now, now]);
    expect(q.items.map((i: any) => i.addedAt)).toEqual([now, now]);
  });

  it('E20 spawn: session, timeline, tasks and queue share one reading', async () => {
    s = await startAudit({ clock: new TickingClock() });
    const p = await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/x' });
    const t1 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T1' });
    const t2 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T2' });
    const res = await s.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id, t2.id], strategy: 'queue' }, 201);
    const now = res.session.startedAt;
    expect(res.session.lastActivity).toBe(now);
    expect(res.session.timeline.map((e: any) => e.timestamp)).toEqual([now, now, now]);
    for (const t of [t1, t2]) expect((await s.ok('GET', `/api/tasks/${t.id}`)).updatedAt).toBe(now);
    const q = (await s.ok('GET', `/api/sessions/${res.sessionId}/queue`)).queue;
    expect([q.createdAt, q.updatedAt]).toEqual([now, now]);
    expect(q.items.map((i: any) => i.addedAt)).toEqual([now, now]);
  });

  it('E16: filled-in event/timeline stamps, LINK timeline entries, lastActivity and task stamps share one reading', async () => {
    s = await startAudit({ clock: new TickingClock() });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    const t1 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T1' });
    const t2 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T2' });
    const sess = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t1.id] });
    const u = await s.ok('PATCH', `/api/sessions/${sess.id}`, {
      taskIds: [t2.id],
      status: 'completed',
      events: [{ type: 'a' }, { type: 'b', timestamp: 5 }],
      timeline: [{ message: 'x' }],
    });
    const now = u.lastActivity;
    expect(u.completedAt).toBe(now);
    expect(u.events.map((e: any) => e.timestamp)).toEqual([now, 5]);
    expect(u.timeline.slice(-3).map((e: any) => [e.type, e.timestamp])).toEqual([
      ['task_completed', now],
      ['task_started', now],
      ['progress', now],
    ]);
    for (const t of [t1, t2]) expect((await s.ok('GET', `/api/tasks/${t.id}`)).updatedAt).toBe(now);
  });

  it('E9: startedAt, completedAt and updatedAt share one reading; the linked session gets it too', async () => {
    s = await startAudit({ clock: new TickingClock() });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
    const sess = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [] });
    await s.ok('PATCH', `/api/tasks/${t.id}`, { status: 'in_progress' });
    const u = await s.ok('PATCH', `/api/tasks/${t.id}`, { status: 'completed', sessionIds: [sess.id] });
    expect(u.completedAt).toBe(u.updatedAt);
    const got = await s.ok('GET', `/api/sessions/${sess.id}`);
    expect(got.lastActivity).toBe(u.updatedAt);
    expect(got.timeline.at(-1).timestamp).toBe(u.updatedAt);
  });

  it('queue start/complete: item stamps, queue updatedAt and task updatedAt share one reading', async () => {
    s = await startAudit({ clock: new TickingClock() });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
    const sess = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t.id], strategy: 'queue' });
    const st = await s.ok('POST', `/api/sessions/${sess.id}/queue/start`);
    let q = (await s.ok('GET', `/api/sessions/${sess.id}/queue`)).queue;
    expect(q.updatedAt).toBe(st.item.startedAt);
    expect((await s.ok('GET', `/api/tasks/${t.id}`)).updatedAt).toBe(st.item.startedAt);
    const done = await s.ok('POST', `/api/sessions/${sess.id}/queue/complete`);
    q = (await s.ok('GET', `/api/sessions/${sess.id}/queue`)).queue;
    expect(q.updatedAt).toBe(done.completedItem.completedAt);
    expect((await s.ok('GET', `/api/tasks/${t.id}`)).updatedAt).toBe(done.completedItem.completedAt);
  });

  it('E12: every session that loses the task gets the same lastActivity', async () => {
    s = await startAudit({ clock: new TickingClock() });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
    const a = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t.id] });
    const b = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t.id] });
    await s.ok('DELETE', `/api/tasks/${t.id}`);
    const la = (await s.ok('GET', `/api/sessions/${a.id}`)).lastActivity;
    const lb = (await s.ok('GET', `/api/sessions/${b.id}`)).lastActivity;
    expect(la).toBe(lb);
    expect(la).toBeGreaterThan(b.lastActivity);
  });
});

describe('§0.3 auto-set fields', () => {
  it('Session completedAt: set on entering terminal from a different status, kept on same status, cleared on leaving', async () => {
    const clock = new ManualClock(T);
    s = await startAudit({ clock });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    const sess = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [] });
    expect(sess.completedAt).toBeNull();
    clock.set(T + 10);
    expect((await s.ok('PATCH', `/api/sessions/${sess.id}`, { status: 'completed' })).completedAt).toBe(T + 10);
    clock.set(T + 20);
    expect((await s.ok('PATCH', `/api/sessions/${sess.id}`, { status: 'completed' })).completedAt).toBe(T + 10);
    clock.set(T + 30);
    expect((await s.ok('PATCH', `/api/sessions/${sess.id}`, { status: 'stopped' })).completedAt).toBe(T + 30);
    clock.set(T + 40);
    expect((await s.ok('PATCH', `/api/sessions/${sess.id}`, { status: 'failed', completedAt: 1 })).completedAt).toBe(T + 40);
    expect((await s.ok('PATCH', `/api/sessions/${sess.id}`, { status: 'running' })).completedAt).toBeNull();
    clock.set(T + 50);
    expect((await s.ok('PATCH', `/api/sessions/${sess.id}`, { status: 'failed' })).completedAt).toBe(T + 50);
    expect((await s.ok('PATCH', `/api/sessions/${sess.id}`, { status: 'spawning' })).completedAt).toBeNull();
    expect((await s.ok('PATCH', `/api/sessions/${sess.id}`, { status: 'stopped' })).completedAt).toBe(T + 50);
    expect((await s.ok('PATCH', `/api/sessions/${sess.id}`, { status: 'idle' })).completedAt).toBeNull();
    expect(s.readData(`sessions/${sess.id}.json`).completedAt).toBeNull();
    // A body-only PATCH (no status) never touches completedAt.
    await s.ok('PATCH', `/api/sessions/${sess.id}`, { status: 'completed' });
    const before = (await s.ok('GET', `/api/sessions/${sess.id}`)).completedAt;
    clock.set(T + 90);
    expect((await s.ok('PATCH', `/api/sessions/${sess.id}`, { completedAt: null, agentId: 'a' })).completedAt).toBe(before);
  });

  it('Task startedAt/completedAt: set once, never cleared, never re-stamped', async () => {
    const clock = new ManualClock(T);
    s = await startAudit({ clock });
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
    clock.set(T + 10);
    let u = await s.ok('PATCH', `/api/tasks/${t.id}`, { status: 'completed' });
    expect([u.startedAt, u.completedAt]).toEqual([null, T + 10]);
    clock.set(T + 20);
    u = await s.ok('PATCH', `/api/tasks/${t.id}`, { status: 'in_progress' });
    expect([u.startedAt, u.completedAt]).toEqual([T + 20, T + 10]);
    clock.set(T + 30);
    u = await s.ok('PATCH', `/api/tasks/${t.id}`, { status: 'todo' });
    u = await s.ok('PATCH', `/api/tasks/${t.id}`, { status: 'in_progress', startedAt: 1, completedAt: null });
    u = await s.ok('PATCH', `/api/tasks/${t.id}`, { status: 'completed' });
    expect([u.startedAt, u.completedAt]).toEqual([T + 20, T + 10]);
    // A session-sourced status is dropped, so it does not stamp either.
    const t2 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T2' });
    u = await s.ok('PATCH', `/api/tasks/${t2.id}`, { status: 'in_progress', updateSource: 'session' });
    expect([u.status, u.startedAt]).toEqual(['todo', null]);
  });

  it('hostname and platform are set on E14 and E20 and ignored in bodies', async () => {
    s = await startAudit();
    const os = await import('node:os');
    const p = await s.ok('POST', '/api/projects', { name: 'P' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
    const a = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [], hostname: 'evil', platform: 'amiga' });
    expect([a.hostname, a.platform]).toEqual([os.hostname(), process.platform]);
    const b = await s.ok('PATCH', `/api/sessions/${a.id}`, { hostname: 'evil', platform: 'amiga' });
    expect([b.hostname, b.platform]).toEqual([os.hostname(), process.platform]);
    const c = await s.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], hostname: 'evil' }, 201);
    expect([c.session.hostname, c.session.platform]).toEqual([os.hostname(), process.platform]);
  });
});
