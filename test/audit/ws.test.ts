/**
 * docs/behaviour.md §4.1–§4.3 and §4.5 on the real server: upgrade on any path, ping/pong, ignored frames, every client
 * gets every broadcast in the same order, and the events of one request stay contiguous under concurrency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { rawRequest } from '../support/http.js';
import { waitFor } from '../support/wait.js';
import { type Envelope, EventLog, openClient } from '../support/ws.js';
import { startAudit, type AuditServer } from './helpers.js';

let s: AuditServer;
beforeAll(async () => {
  s = await startAudit();
});
afterAll(async () => {
  await s.close();
});

function record(ws: WebSocket): any[] {
  const got: any[] = [];
  ws.on('message', (data, isBinary) => got.push(isBinary ? { binary: true } : JSON.parse(String(data))));
  return got;
}

/** The session an event is about (every event below carries one). */
function sessionOf(e: Envelope): string {
  const d = e.data;
  if (e.event === 'session:created' || e.event === 'session:deleted' || e.event === 'session:updated') return d.id;
  if (e.event === 'session:spawn') return d.session.id;
  return d.sessionId;
}

describe('§4.1–§4.3 connection and client frames', () => {
  it('the upgrade is accepted on any path and every client receives the broadcasts', async () => {
    const clients = await Promise.all(['/', '/ws', '/api/projects', '/deep/path/x?y=1', '/health'].map((p) => openClient(s.port, { path: p })));
    const got = clients.map(record);
    const p = await s.ok('POST', '/api/projects', { name: 'any path' });
    await waitFor(() => got.every((g) => g.length === 1), 2000, 'all clients');
    for (const g of got) expect(g[0]).toMatchObject({ type: 'project:created', event: 'project:created', data: p });
    for (const g of got) expect(Object.keys(g[0]).sort()).toEqual(['data', 'event', 'timestamp', 'type']);
    for (const c of clients) c.close();
    await s.drain();
  });

  it('ping gets a pong to the sender only; other frames get nothing and the connection stays open', async () => {
    const a = await openClient(s.port);
    const b = await openClient(s.port);
    const gotA = record(a);
    const gotB = record(b);
    for (const frame of ['{"type":"heartbeat"}', '{"type":"keepalive"}', '{"type":"PING"}', '"ping"', '[{"type":"ping"}]', 'null', 'not json', '{', '']) a.send(frame);
    a.send(Buffer.from([0xff, 0x00, 0x01]), { binary: true });
    a.send(Buffer.from('{"type":"ping"}'), { binary: true });
    // The server handles a connection's frames in order: had any frame above been answered, that answer would
    // come before the pong of this ping.
    a.send('{"type":"ping","extra":1}');
    await waitFor(() => gotA.length >= 1, 2000, 'pong');
    expect(gotA).toHaveLength(1);
    expect(Object.keys(gotA[0]).sort()).toEqual(['timestamp', 'type']);
    expect(gotA[0].type).toBe('pong');
    expect(Number.isInteger(gotA[0].timestamp)).toBe(true);
    // B's own pong comes after anything the server sent B while answering A: so B got nothing of A's.
    b.send('{"type":"ping"}');
    await waitFor(() => gotB.length >= 1, 2000, "B's pong");
    expect(gotB.map((m) => m.type)).toEqual(['pong']);
    expect(a.readyState).toBe(a.OPEN);
    // Still receives broadcasts afterwards.
    await s.ok('POST', '/api/projects', { name: 'after frames' });
    await waitFor(() => gotA.length === 2 && gotB.length === 2, 2000, 'broadcast');
    expect(gotA[1].event).toBe('project:created');
    a.close();
    b.close();
    await s.drain();
  });

  it('/ws-status counts the tracked sockets and drops closed ones', async () => {
    const base = (await s.ok('GET', '/ws-status')).connectedClients;
    const c = await openClient(s.port);
    const during = await s.ok('GET', '/ws-status');
    expect(during.connectedClients).toBe(base + 1);
    expect(during.clients).toHaveLength(during.connectedClients);
    c.terminate();
    const connected = async () => (await s.ok('GET', '/ws-status')).connectedClients as number;
    await waitFor(async () => (await connected()) <= base, 2000, 'the closed socket dropped');
    expect(await connected()).toBe(base);
  });
});

describe('§0.8/§4.5 concurrency: same order everywhere, one request\'s events contiguous', () => {
  it('20+ concurrent multi-event mutations seen identically by three clients', async () => {
    const p = await s.ok('POST', '/api/projects', { name: 'conc', workingDir: '/tmp/c' });
    const shared = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'shared' });
    const own: string[][] = [];
    for (let i = 0; i < 40; i++) {
      const a = await s.ok('POST', '/api/tasks', { projectId: p.id, title: `a${i}` });
      const b = await s.ok('POST', '/api/tasks', { projectId: p.id, title: `b${i}` });
      own.push([a.id, b.id]);
    }
    // Sessions to delete and to patch, created up front.
    const doomed: string[] = [];
    const patched: string[] = [];
    for (let i = 0; i < 8; i++) doomed.push((await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: own[30 + i]! })).id);
    for (let i = 0; i < 6; i++) patched.push((await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [own[20 + i]![0]] })).id);
    await s.drain();

    const logs = await Promise.all([0, 1, 2].map(() => EventLog.open(s.port)));
    const seen = logs.map((l) => l.received);

    type Req = { method: string; url: string; body?: unknown; expect: (sid: string | undefined) => string[] };
    const reqs: Req[] = [];
    for (let i = 0; i < 10; i++) {
      reqs.push({
        method: 'POST',
        url: '/api/sessions',
        body: { projectId: p.id, taskIds: [own[i]![0], shared.id, own[i]![1]], strategy: i % 2 ? 'queue' : 'simple' },
        expect: () => ['session:created', 'task:session_added', 'task:session_added', 'task:session_added', ...(i % 2 ? ['queue:created'] : [])],
      });
    }
    for (let i = 10; i < 16; i++) {
      reqs.push({
        method: 'POST',
        url: '/api/sessions/spawn',
        body: { projectId: p.id, taskIds: own[i], strategy: i % 2 ? 'queue' : 'simple' },
        expect: () => ['session:spawn', 'task:session_added', 'task:session_added', ...(i % 2 ? ['queue:created'] : [])],
      });
    }
    doomed.forEach((id) =>
      reqs.push({
        method: 'DELETE',
        url: `/api/sessions/${id}`,
        expect: () => ['task:session_removed', 'session:task_removed', 'task:session_removed', 'session:task_removed', 'session:deleted'],
      }),
    );
    patched.forEach((id, i) =>
      reqs.push({
        method: 'PATCH',
        url: `/api/sessions/${id}`,
        body: { taskIds: [own[20 + i]![1], shared.id], status: 'working' },
        expect: () => ['session:updated', 'session:task_removed', 'task:session_removed', 'session:task_added', 'task:session_added', 'session:task_added', 'task:session_added'],
      }),
    );
    // Shuffle deterministically and fire all at once on separate connections.
    const order = reqs.map((r, i) => ({ r, k: (i * 7919) % 97 })).sort((x, y) => x.k - y.k).map((x) => x.r);
    const results = await Promise.all(
      order.map((r) =>
        rawRequest(s.port, r.method, r.url, r.body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(r.body) }),
      ),
    );
    for (const res of results) expect(res.status, res.text).toBeLessThan(300);
    const total = order.reduce((n, r) => n + r.expect(undefined).length, 0);
    await waitFor(() => seen.every((g) => g.length >= total), 5000, 'all events');
    await Promise.all(logs.map((l) => l.settle()));
    expect(seen[0]).toHaveLength(total);
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);

    // Split the stream into runs of the same session: each run is exactly one request's event list.
    const runs: Array<{ sid: string; names: string[] }> = [];
    for (const e of seen[0]!) {
      const sid = sessionOf(e);
      const last = runs.at(-1);
      if (last && last.sid === sid) last.names.push(e.event);
      else runs.push({ sid, names: [e.event] });
    }
    expect(runs).toHaveLength(order.length);
    const bySid = new Map<string, string[]>();
    order.forEach((r, i) => {
      const body = results[i]!.json as any;
      const sid = r.url === '/api/sessions' ? body.id : r.url === '/api/sessions/spawn' ? body.sessionId : r.url.split('/')[3]!;
      bySid.set(sid, r.expect(sid));
    });
    for (const run of runs) expect(run.names, run.sid).toEqual(bySid.get(run.sid));
    // No update lost on the shared task.
    const finalShared = await s.ok('GET', `/api/tasks/${shared.id}`);
    expect(finalShared.sessionIds).toHaveLength(10 + patched.length);
    for (const l of logs) l.ws.close();
    await s.drain();
  });
});

describe('§4.4 payloads are the full final state after the request', () => {
  it('every entity payload equals what a GET returns right after the request', async () => {
    const p = await s.ok('POST', '/api/projects', { name: 'final' });
    const t1 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'a' });
    const t2 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'b' });
    await s.drain();
    const check = async (events: Envelope[]) => {
      for (const e of events) {
        const d = e.data;
        if (e.event === 'task:updated' || e.event === 'task:created') expect(d, e.event).toEqual(await s.ok('GET', `/api/tasks/${d.id}`));
        if (e.event === 'session:updated' || e.event === 'session:created') expect(d, e.event).toEqual(await s.ok('GET', `/api/sessions/${d.id}`));
        if (e.event === 'project:updated') expect(d).toEqual(await s.ok('GET', `/api/projects/${d.id}`));
        if (e.event === 'template:updated') expect(d).toEqual(await s.ok('GET', `/api/templates/${d.id}`));
        if (e.event.startsWith('queue:')) {
          const q = (await s.ok('GET', `/api/sessions/${d.sessionId}/queue`)).queue;
          if (d.queue) expect(d.queue, e.event).toEqual(q);
          if (d.item) expect(q.items.find((i: any) => i.taskId === d.item.taskId), e.event).toEqual(d.item);
        }
        if (e.event === 'session:spawn') expect(d.session).toEqual(await s.ok('GET', `/api/sessions/${d.session.id}`));
      }
    };
    const sess = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t1.id], strategy: 'queue' });
    await check(await s.drain(3));
    await s.ok('PATCH', `/api/tasks/${t2.id}`, { sessionIds: [sess.id], status: 'in_progress' });
    await check(await s.drain(3));
    await s.ok('PATCH', `/api/sessions/${sess.id}`, { taskIds: [t2.id], timeline: [{ message: 'own' }], events: [{ type: 'e' }] });
    const evs = await s.drain(3);
    await check(evs);
    expect(evs[0]!.data.timeline.slice(-2).map((x: any) => x.type)).toEqual(['task_completed', 'progress']);
    for (const op of ['start', 'complete']) {
      await s.ok('POST', `/api/sessions/${sess.id}/queue/${op}`);
      await check(await s.drain(3));
    }
    const t3 = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'c' });
    await s.drain(1);
    await s.ok('POST', `/api/sessions/${sess.id}/queue/push`, { taskId: t3.id });
    const pushed = await s.drain(3);
    expect(pushed.map((e) => e.event)).toEqual(['queue:updated', 'session:task_added', 'task:session_added']);
    await check(pushed);
    await s.ok('POST', `/api/sessions/${sess.id}/queue/start`);
    await check(await s.drain(3));
    await s.ok('POST', `/api/sessions/${sess.id}/queue/fail`, { reason: 'r' });
    const failed = await s.drain(3);
    expect(failed[0]!.data.reason).toBe('r');
    await check(failed);
    await s.ok('PUT', `/api/projects/${p.id}`, {});
    await check(await s.drain(1));
    const sp = await s.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id, t2.id], strategy: 'queue' }, 201);
    const spawnEvents = await s.drain(4);
    await check(spawnEvents);
    expect(spawnEvents[0]!.data.envVars).toEqual(sp.session.env);
    expect(spawnEvents[0]!.data.session).toEqual(sp.session);
  });
});

describe('§12 100 WebSocket clients', () => {
  it('each of 100 clients gets every event of a burst, in the same order; /ws-status counts them', async () => {
    const base = (await s.ok('GET', '/ws-status')).connectedClients;
    const clients = await Promise.all(Array.from({ length: 100 }, () => openClient(s.port)));
    const got = clients.map(record);
    const status = await s.ok('GET', '/ws-status');
    expect(status.connectedClients).toBe(base + 100);
    expect(status.clients.every((c: any) => c.readyState === 1 && c.readyStateText === 'OPEN')).toBe(true);
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.call('POST', '/api/projects', { name: `many ${i}` })));
    await waitFor(() => got.every((g) => g.length === 20), 5000, '100 clients × 20 events');
    for (const g of got) expect(g).toEqual(got[0]);
    for (const c of clients) c.terminate();
    await s.drain();
  });
});

describe('§4.5.1 events are broadcast only after the files are written', () => {
  it('when an event arrives, the file of its entity already holds the payload (or is already gone)', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const dataDir = s.config.dataDir;
    const ws = await openClient(s.port);
    const problems: string[] = [];
    let seen = 0;
    ws.on('message', (raw) => {
      seen++;
      const e = JSON.parse(String(raw)) as Envelope;
      const d = e.data;
      const read = (rel: string) => {
        const file = path.join(dataDir, rel);
        return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
      };
      let file: unknown = 'skip';
      let expected: unknown = d;
      if (e.event === 'project:created' || e.event === 'project:updated') file = read(`projects/${d.id}.json`);
      else if (e.event === 'task:created' || e.event === 'task:updated') file = read(`tasks/${d.projectId}/${d.id}.json`);
      else if (e.event === 'session:created' || e.event === 'session:updated') file = read(`sessions/${d.id}.json`);
      else if (e.event === 'session:spawn') [file, expected] = [read(`sessions/${d.session.id}.json`), d.session];
      else if (e.event === 'queue:created' || e.event === 'queue:updated') [file, expected] = [read(`queues/${d.sessionId}.json`), d.queue];
      else if (e.event === 'template:created' || e.event === 'template:updated') file = read(`templates/${d.id}.json`);
      else if (e.event === 'session:deleted') [file, expected] = [read(`sessions/${d.id}.json`), undefined];
      else if (e.event === 'task:deleted') file = 'skip';
      else if (e.event === 'template:deleted') [file, expected] = [read(`templates/${d.id}.json`), undefined];
      if (file !== 'skip' && JSON.stringify(file) !== JSON.stringify(expected)) problems.push(`${e.event}: file differs`);
      if (e.event === 'session:spawn') {
        const manifest = JSON.parse(fs.readFileSync(d.envVars.MAESTRO_MANIFEST_PATH, 'utf8'));
        if (JSON.stringify(manifest) !== JSON.stringify(d.manifest)) problems.push('manifest differs');
      }
    });
    const p = await s.ok('POST', '/api/projects', { name: 'durable' });
    await s.ok('PUT', `/api/projects/${p.id}`, { description: 'd' });
    const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
    await s.ok('PATCH', `/api/tasks/${t.id}`, { status: 'in_progress' });
    const q = await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t.id], strategy: 'queue' });
    await s.ok('POST', `/api/sessions/${q.id}/queue/start`);
    await s.ok('POST', `/api/sessions/${q.id}/events`, { type: 'x' });
    const sp = await s.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], strategy: 'queue' }, 201);
    const tm = await s.ok('POST', '/api/templates', { name: 'n', role: 'worker', content: 'c' });
    await s.ok('POST', `/api/templates/${tm.id}/reset`);
    await s.ok('DELETE', `/api/templates/${tm.id}`);
    await s.ok('DELETE', `/api/sessions/${sp.sessionId}`);
    await waitFor(() => seen >= 20, 3000, 'events');
    ws.close();
    expect(problems).toEqual([]);
    await s.drain();
  });
});
