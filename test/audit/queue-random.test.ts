/**
 * docs/behaviour.md §9 queue: random operation sequences through HTTP checked against a small reference model after
 * every step — answers, events, item transitions, §9.4 invariants, §9.5 task side effects, files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startAudit, type AuditServer } from './helpers.js';

type Item = { taskId: string; status: string; addedAt: number; startedAt?: number; completedAt?: number; failReason?: string };

function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const T = 1_900_000_000_000;
let s: AuditServer;
const clock = new ManualClock(T);
beforeAll(async () => {
  s = await startAudit({ clock });
});
afterAll(async () => {
  await s.close();
});

function stats(items: Item[]) {
  const c = (st: string) => items.filter((i) => i.status === st).length;
  return { total: items.length, queued: c('queued'), processing: c('processing'), completed: c('completed'), failed: c('failed'), skipped: c('skipped') };
}

describe('§9.4 random queue sequences', () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    it(`seed ${seed}`, async () => {
      const rnd = prng(seed);
      const pick = <X>(xs: X[]): X => xs[Math.floor(rnd() * xs.length)]!;
      const p = await s.ok('POST', '/api/projects', { name: `q${seed}` });
      const tasks: string[] = [];
      for (let i = 0; i < 8; i++) tasks.push((await s.ok('POST', '/api/tasks', { projectId: p.id, title: `t${i}` })).id);
      const initial = tasks.slice(0, 3);
      const sess = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: initial, strategy: 'queue' });
      const sid = sess.id;
      const items: Item[] = initial.map((taskId) => ({ taskId, status: 'queued', addedAt: clock.now() }));
      const deleted = new Set<string>();
      const sessionStatus = new Map<string, string>();
      let updatedAt = clock.now();
      await s.drain();

      for (let step = 0; step < 60; step++) {
        clock.advance(1 + Math.floor(rnd() * 3));
        const now = clock.now();
        const op = pick(['start', 'start', 'complete', 'fail', 'skip', 'push', 'push', 'top', 'items', 'deleteTask', 'dissociate']);
        const where = `seed ${seed} step ${step} ${op}`;
        const processing = items.findIndex((i) => i.status === 'processing');
        const firstQueued = items.findIndex((i) => i.status === 'queued');
        const touchTask = (taskId: string, st: string) => {
          if (!deleted.has(taskId)) sessionStatus.set(taskId, st);
          return deleted.has(taskId) ? [] : ['task:updated'];
        };
        let expectedEvents: string[] = [];
        let changed = false;
        const nextOf = () => items.find((i) => i.status === 'queued') ?? null;

        if (op === 'start') {
          const res = await s.call('POST', `/api/sessions/${sid}/queue/start`, rnd() < 0.5 ? {} : undefined);
          if (processing >= 0) {
            expect(res.status, where).toBe(400);
            expect(res.body.code).toBe('VALIDATION_ERROR');
            expect(res.body.message.toLowerCase()).toContain('already processing');
          } else if (firstQueued < 0) {
            expect(res.status, where).toBe(200);
            expect(res.body).toMatchObject({ success: true, item: null, empty: true });
          } else {
            const it = items[firstQueued]!;
            it.status = 'processing';
            it.startedAt = now;
            changed = true;
            expect(res.status, where).toBe(200);
            expect(res.body.item).toEqual(it);
            expectedEvents = ['queue:item_started', 'queue:updated', ...touchTask(it.taskId, 'working')];
          }
        } else if (op === 'complete' || op === 'fail') {
          const reason = op === 'fail' ? pick([undefined, 'boom', '  ', '']) : undefined;
          const res = await s.call('POST', `/api/sessions/${sid}/queue/${op}`, reason === undefined ? undefined : { reason });
          if (processing < 0) {
            expect(res.status, where).toBe(400);
            expect(res.body.code).toBe('VALIDATION_ERROR');
          } else {
            const it = items[processing]!;
            it.status = op === 'complete' ? 'completed' : 'failed';
            it.completedAt = now;
            if (op === 'fail' && reason !== undefined && reason.trim() !== '') it.failReason = reason;
            changed = true;
            expect(res.status, where).toBe(200);
            const next = nextOf();
            const key = op === 'complete' ? 'completedItem' : 'failedItem';
            expect(res.body).toEqual({
              success: true,
              [key]: it,
              nextItem: next,
              hasMore: next !== null,
              message: `${op === 'complete' ? 'Completed' : 'Failed'} ${it.taskId}. ${next ? `Next: ${next.taskId}` : 'Queue is empty.'}`,
            });
            expectedEvents = [`queue:item_${op === 'complete' ? 'completed' : 'failed'}`, 'queue:updated', ...touchTask(it.taskId, it.status)];
          }
        } else if (op === 'skip') {
          const res = await s.call('POST', `/api/sessions/${sid}/queue/skip`);
          const idx = processing >= 0 ? processing : firstQueued;
          if (idx < 0) {
            expect(res.status, where).toBe(400);
            expect(res.body.code).toBe('VALIDATION_ERROR');
          } else {
            const it = items[idx]!;
            it.status = 'skipped';
            it.completedAt = now;
            changed = true;
            expect(res.status, where).toBe(200);
            const next = nextOf();
            expect(res.body).toMatchObject({ success: true, skippedItem: it, nextItem: next, hasMore: next !== null });
            expectedEvents = ['queue:item_skipped', 'queue:updated', ...touchTask(it.taskId, 'skipped')];
          }
        } else if (op === 'push') {
          const taskId = rnd() < 0.1 ? 'task_unknown' : pick(tasks);
          const linked = (await s.ok('GET', `/api/sessions/${sid}`)).taskIds.includes(taskId);
          const res = await s.call('POST', `/api/sessions/${sid}/queue/push`, { taskId });
          if (taskId === 'task_unknown' || deleted.has(taskId)) {
            expect(res.status, where).toBe(404);
            expect(res.body.code).toBe('NOT_FOUND');
          } else if (items.some((i) => i.taskId === taskId)) {
            expect(res.status, where).toBe(400);
            expect(res.body.message.toLowerCase()).toContain('already');
          } else {
            const it = { taskId, status: 'queued', addedAt: now };
            items.push(it);
            changed = true;
            expect(res.status, where).toBe(200);
            expect(res.body).toEqual({ success: true, item: it });
            expectedEvents = ['queue:updated', ...(linked ? [] : ['session:task_added', 'task:session_added'])];
          }
        } else if (op === 'top') {
          const res = await s.ok('GET', `/api/sessions/${sid}/queue/top`);
          const next = nextOf();
          expect(res, where).toEqual(next ? { hasMore: true, item: next } : { hasMore: false, item: null, message: 'Queue is empty - all tasks processed' });
        } else if (op === 'items') {
          expect(await s.ok('GET', `/api/sessions/${sid}/queue/items`), where).toEqual({ items, stats: stats(items) });
        } else if (op === 'deleteTask') {
          const live = tasks.filter((t) => !deleted.has(t));
          if (live.length > 2) {
            const t = pick(live);
            await s.ok('DELETE', `/api/tasks/${t}`);
            deleted.add(t);
            expectedEvents = ['task:deleted'];
          }
        } else if (op === 'dissociate') {
          const t = pick(tasks.filter((x) => !deleted.has(x)));
          const before = (await s.ok('GET', `/api/sessions/${sid}`)).taskIds.includes(t);
          await s.ok('DELETE', `/api/sessions/${sid}/tasks/${t}`);
          expectedEvents = before ? ['session:task_removed', 'task:session_removed'] : [];
        }
        if (changed) updatedAt = Math.max(now, updatedAt + 1);

        const events = await s.drain(expectedEvents.length);
        expect(events.map((e) => e.event), where).toEqual(expectedEvents);
        for (const e of events.filter((x) => x.event.startsWith('queue:'))) expect(e.data.sessionId).toBe(sid);
        const upd = events.find((e) => e.event === 'queue:updated');
        if (upd) expect(upd.data.queue.items).toEqual(items);

        // Server state equals the model; invariants hold.
        const { queue, stats: st } = await s.ok('GET', `/api/sessions/${sid}/queue`);
        expect(queue.items, where).toEqual(items);
        expect(st).toEqual(stats(items));
        const proc = items.filter((i) => i.status === 'processing');
        expect(proc.length).toBeLessThanOrEqual(1);
        expect(queue.currentIndex).toBe(items.findIndex((i) => i.status === 'processing'));
        expect(queue.updatedAt).toBe(updatedAt);
        expect(new Set(items.map((i) => i.taskId)).size).toBe(items.length);
        expect(s.readData(`queues/${sid}.json`)).toEqual(queue);
        for (const [taskId, ss] of sessionStatus) {
          if (deleted.has(taskId)) continue;
          const task = await s.ok('GET', `/api/tasks/${taskId}`);
          expect(task.sessionStatus, `${where} ${taskId}`).toBe(ss);
          expect(task.status).toBe('todo');
        }
      }
    });
  }
});
