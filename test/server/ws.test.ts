import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger } from '../../src/log.js';
import { rawRequest as request } from '../support/http.js';
import { waitFor } from '../support/wait.js';
import { closeCode, collect, openClient, refusedUpgrade } from '../support/ws.js';
import { slowRequestsStarted, startTestServer } from './helpers.js';
import type { RunningServer } from '../../src/server.js';
import type { HubEvent } from '../../src/ws/hub.js';

type Started = Awaited<ReturnType<typeof startTestServer>>;
const servers: RunningServer[] = [];
const clients: WebSocket[] = [];
async function start(env: Record<string, string> = {}, extra: Parameters<typeof startTestServer>[1] = {}): Promise<Started> {
  const s = await startTestServer(env, extra);
  servers.push(s);
  return s;
}
async function client(port: number, options: Parameters<typeof openClient>[1] = {}): Promise<WebSocket> {
  const ws = await openClient(port, options);
  clients.push(ws);
  return ws;
}
/**
 * These tests exercise the transport (framing, order, slow consumers, the validation hook) with small stand-in
 * payloads and catalogue validation off; the hub's parameter type admits only catalogue events with their
 * payload types, hence the cast.
 */
function rawBroadcast(s: { hub: RunningServer['hub'] }, events: ReadonlyArray<{ name: string; data: unknown }>): void {
  s.hub.broadcast(events as unknown as readonly HubEvent[]);
}
afterEach(() => {
  for (const ws of clients.splice(0)) ws.terminate();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('broadcast envelope (docs/behaviour.md §4.2)', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
  });

  it('sends {type, event, data, timestamp} to every client, in order', async () => {
    const a = await client(s.port);
    const b = await client(s.port, { path: '/any/path?x=1' });
    const gotA = collect(a);
    const gotB = collect(b);
    const binaryFlags: boolean[] = [];
    a.on('message', (_data, isBinary) => binaryFlags.push(isBinary));
    const before = Date.now();
    rawBroadcast(s, [
      { name: 'task:updated', data: { id: 'task_1', title: 'é ✓' } },
      { name: 'task:session_added', data: { taskId: 'task_1', sessionId: 'sess_1' } },
    ]);
    await waitFor(() => gotA.length === 2 && gotB.length === 2, 2000, 'both messages');
    for (const got of [gotA, gotB]) {
      const [m1, m2] = got as Array<Record<string, unknown>>;
      expect(Object.keys(m1!).sort()).toEqual(['data', 'event', 'timestamp', 'type']);
      expect(m1).toMatchObject({ type: 'task:updated', event: 'task:updated', data: { id: 'task_1', title: 'é ✓' } });
      expect(m2).toMatchObject({ type: 'task:session_added', event: 'task:session_added', data: { taskId: 'task_1', sessionId: 'sess_1' } });
      expect(Number.isInteger(m1!.timestamp)).toBe(true);
      expect(m1!.timestamp as number).toBeGreaterThanOrEqual(before);
    }
    expect(binaryFlags).toEqual([false, false]); // text frames
  });

  it('frames of every length class (7-bit, 16-bit, 64-bit) arrive intact and in order, also many in one synchronous run', async () => {
    const a = await client(s.port);
    const gotA = collect(a);
    // Envelope lengths exactly at the frame header's boundaries (125 | 126 bytes, 65 535 | 65 536 bytes) and beyond.
    const base = Buffer.byteLength(JSON.stringify({ type: 'task:updated', event: 'task:updated', data: { i: 0, filler: '' }, timestamp: Date.now() }));
    const lengths = [base, 125, 126, 127, 1000, 65_535, 65_536, 65_537, 200_000];
    const fillers = lengths.map((n) => 'z'.repeat(n - base));
    const events = fillers.map((filler, i) => ({ name: 'task:updated', data: { i, filler } }));
    rawBroadcast(s, events.slice(0, 3));
    rawBroadcast(s, events.slice(3)); // same synchronous run: both calls leave in one socket write
    await waitFor(() => gotA.length === events.length, 5000, 'all frames');
    expect((gotA as Array<{ data: { i: number; filler: string } }>).map((m) => [m.data.i, m.data.filler.length])).toEqual(
      fillers.map((f, i) => [i, f.length]),
    );
  });

  it('a pong answered between broadcasts of the same tick keeps every frame whole', async () => {
    const a = await client(s.port);
    const got = collect(a);
    rawBroadcast(s, [{ name: 'project:created', data: { id: 'p1' } }]);
    a.send(JSON.stringify({ type: 'ping' }));
    await waitFor(() => got.length === 2, 2000, 'event and pong');
    rawBroadcast(s, [{ name: 'project:created', data: { id: 'p2' } }]);
    await waitFor(() => got.length === 3, 2000, 'second event');
    expect((got as Array<{ type: string }>).map((m) => m.type)).toEqual(['project:created', 'pong', 'project:created']);
  });

  it('a broadcast with zero clients or zero events is a no-op', async () => {
    const lonely = await start();
    expect(() => lonely.hub.broadcast([{ name: 'project:deleted', data: { id: 'x' } }])).not.toThrow();
    expect(() => lonely.hub.broadcast([])).not.toThrow();
  });

  it('closed clients are dropped from the set and never sent to', async () => {
    const a = await client(s.port);
    const b = await client(s.port);
    const gotB = collect(b);
    await waitFor(() => s.hub.size >= 2, 2000, 'two clients');
    const n = s.hub.size;
    const closed = closeCode(a);
    a.close(1000);
    await closed;
    await waitFor(() => s.hub.size === n - 1, 2000, 'client dropped');
    rawBroadcast(s, [{ name: 'project:created', data: { id: 'p' } }]);
    await waitFor(() => gotB.length === 1, 2000, 'message for b');
  });
});

describe('client → server messages (docs/behaviour.md §4.3)', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
  });

  it('ping → pong to the sender only', async () => {
    const a = await client(s.port);
    const b = await client(s.port);
    const gotA = collect(a);
    const gotB = collect(b);
    a.send(JSON.stringify({ type: 'ping' }));
    await waitFor(() => gotA.length === 1, 2000, 'pong');
    const pong = gotA[0] as Record<string, unknown>;
    expect(Object.keys(pong).sort()).toEqual(['timestamp', 'type']);
    expect(pong.type).toBe('pong');
    expect(Number.isInteger(pong.timestamp)).toBe(true);
    // b gets nothing: a later broadcast is b's first message.
    rawBroadcast(s, [{ name: 'project:created', data: { id: 'p1' } }]);
    await waitFor(() => gotB.length === 1 && gotA.length === 2, 2000, 'broadcast');
    expect((gotB[0] as { type: string }).type).toBe('project:created');
  });

  it('anything else is ignored: no reply, connection stays open', async () => {
    const a = await client(s.port);
    const got = collect(a);
    let closed = false;
    a.on('close', () => (closed = true));
    for (const msg of ['{"type":"heartbeat"}', '{"type":"keepalive"}', '{"kind":"ping"}', '[1,2]', 'null', '"ping"', 'not json {', '']) {
      a.send(msg);
    }
    a.send(Buffer.from([0, 1, 2, 255]), { binary: true });
    a.send(JSON.stringify({ type: 'ping' }));
    await waitFor(() => got.length === 1, 2000, 'pong after garbage');
    expect((got[0] as { type: string }).type).toBe('pong');
    expect(closed).toBe(false);
    expect(a.readyState).toBe(WebSocket.OPEN);
  });

  it('a frame over 64 KiB closes the connection with 1009; 64 KiB exactly is fine', async () => {
    const ok = await client(s.port);
    const gotOk = collect(ok);
    ok.send('x'.repeat(64 * 1024));
    ok.send(JSON.stringify({ type: 'ping' }));
    await waitFor(() => gotOk.length === 1, 2000, 'pong after 64 KiB');
    const big = await client(s.port);
    const closed = closeCode(big);
    big.send('x'.repeat(64 * 1024 + 1));
    expect((await closed).code).toBe(1009);
  });
});

describe('upgrade checks (docs/behaviour.md §4.1, §6.2)', () => {
  it('token: missing or wrong → 401 JSON and no upgrade; header or ?token= accepted', async () => {
    const s = await start({ MAESTRO_API_TOKEN: 'ws-secret' });
    for (const attempt of [{}, { headers: { Authorization: 'Bearer wrong' } }, { path: '/?token=wrong' }, { path: '/?tok=ws-secret' }]) {
      const res = await refusedUpgrade(s.port, attempt);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body).toEqual({ error: true, code: 'UNAUTHORIZED', message: 'Missing or invalid API token' });
    }
    expect(s.hub.size).toBe(0);
    await client(s.port, { headers: { Authorization: 'bearer ws-secret' } });
    await client(s.port, { path: '/?token=ws-secret' });
    await client(s.port, { path: '/events?x=1&token=ws-secret' });
    await waitFor(() => s.hub.size === 3, 2000, 'three clients');
  });

  it('disallowed Origin → 403 FORBIDDEN; allowed or absent Origin accepted, whatever CORS_ENABLED says', async () => {
    const s = await start({ CORS_ENABLED: 'false' });
    const res = await refusedUpgrade(s.port, { headers: { Origin: 'http://evil.example.com' } });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: true, code: 'FORBIDDEN', message: 'Origin not allowed' });
    await client(s.port, { headers: { Origin: 'http://localhost:5173' } });
    await client(s.port, { headers: { Origin: 'tauri://localhost' } });
    await client(s.port);
  });

  it('CORS_ORIGINS applies to upgrades', async () => {
    const s = await start({ CORS_ORIGINS: 'https://ui.example.com' });
    await client(s.port, { headers: { Origin: 'https://ui.example.com' } });
    expect((await refusedUpgrade(s.port, { headers: { Origin: 'http://localhost:5173' } })).status).toBe(403);
  });

  it('non-loopback Host while bound to loopback → 403 Host not allowed', async () => {
    const s = await start();
    const res = await refusedUpgrade(s.port, { headers: { Host: 'rebind.evil.com' } });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: true, code: 'FORBIDDEN', message: 'Host not allowed' });
    await client(s.port, { headers: { Host: 'localhost:1234' } });
  });
});

describe('/ws-status (docs/behaviour.md §1.12 E44)', () => {
  it('one entry per tracked socket', async () => {
    const s = await start();
    await client(s.port);
    await client(s.port);
    await waitFor(() => s.hub.size === 2, 2000, 'two clients');
    const res = await request(s.port, 'GET', '/ws-status');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      connectedClients: 2,
      clients: [
        { readyState: 1, readyStateText: 'OPEN' },
        { readyState: 1, readyStateText: 'OPEN' },
      ],
    });
  });
});

describe('slow consumer (docs/behaviour.md §4.1)', () => {
  it('a client that never reads is closed with 1008 while the others keep receiving quickly', async () => {
    const LIMIT = 256 * 1024;
    const s = await start({}, { hubOptions: { maxBufferedBytes: LIMIT, slowConsumerGraceMs: 20_000 } });
    const slow = await client(s.port);
    const fast = await client(s.port);
    await waitFor(() => s.hub.size === 2, 2000, 'two clients');
    let fastCount = 0;
    let maxLagMs = 0;
    fast.on('message', (data) => {
      fastCount++;
      const { data: payload } = JSON.parse(String(data)) as { data: { sentAt: number } };
      maxLagMs = Math.max(maxLagMs, Date.now() - payload.sentAt);
    });
    slow.pause(); // stops reading from the socket: the server's send buffer for it grows
    const slowClosed = closeCode(slow);

    const filler = 'y'.repeat(32 * 1024);
    let sent = 0;
    const serverSideClosing = () => s.hub.status().clients.some((c) => c.readyState !== 1);
    while (!serverSideClosing()) {
      if (sent > 4000) throw new Error('slow client was never dropped');
      for (let i = 0; i < 16; i++) {
        rawBroadcast(s, [{ name: 'task:updated', data: { sentAt: Date.now(), filler } }]);
        sent++;
      }
      await waitFor(() => fastCount === sent, 5000, 'fast client to catch up');
    }
    // The fast client never waited for the slow one.
    expect(maxLagMs).toBeLessThan(1000);
    const t0 = Date.now();
    rawBroadcast(s, [{ name: 'task:updated', data: { sentAt: Date.now(), filler: '' } }]);
    await waitFor(() => fastCount === sent + 1, 1000, 'marker');
    expect(Date.now() - t0).toBeLessThan(500);
    // Once the slow client reads again it finds the 1008 close after its backlog.
    slow.resume();
    const closed = await slowClosed;
    expect(closed).toEqual({ code: 1008, reason: 'slow consumer' });
    await waitFor(() => s.hub.size === 1, 2000, 'slow client removed');
  });
});

describe('shutdown (docs/behaviour.md §4.1, §5.7)', () => {
  it('close() closes every client with 1001 and refuses new upgrades', async () => {
    const s = await startTestServer();
    const a = await client(s.port);
    const b = await client(s.port);
    const codes = Promise.all([closeCode(a), closeCode(b)]);
    await s.close();
    expect((await codes).map((c) => c.code)).toEqual([1001, 1001]);
    expect(s.standIn.closed).toBe(true);
    await expect(openClient(s.port)).rejects.toThrow();
  });

  it('lets an in-flight request on a keep-alive connection finish, then closes promptly', async () => {
    const s = await startTestServer();
    const agent = new http.Agent({ keepAlive: true });
    expect((await request(s.port, 'GET', '/api/ok', { agent })).status).toBe(200);
    const started = slowRequestsStarted();
    const pending = request(s.port, 'GET', '/api/slow', { agent });
    await waitFor(() => slowRequestsStarted() > started, 2000, 'the slow request to be in flight');
    const t0 = Date.now();
    await s.close();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ slow: true });
    expect(Date.now() - t0).toBeLessThan(2000);
    agent.destroy();
  });
});

describe('hub logging (docs/behaviour.md §6.1 DEBUG, §4.1)', () => {
  it('DEBUG: one line per broadcast event; a dropped slow consumer is logged as a warning', async () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', level: 'info', debug: true, stream: { write: (l: string) => lines.push(l) } });
    const s = await start({}, { logger, hubOptions: { maxBufferedBytes: 1024, slowConsumerGraceMs: 50 } });
    const a = await client(s.port);
    await waitFor(() => s.hub.size === 1, 2000, 'client');
    rawBroadcast(s, [
      { name: 'project:created', data: { id: 'p' } },
      { name: 'project:updated', data: { id: 'p' } },
    ]);
    const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const broadcasts = records().filter((r) => r.msg === 'broadcast');
    expect(broadcasts.map((r) => [r.event, r.clients])).toEqual([
      ['project:created', 1],
      ['project:updated', 1],
    ]);
    a.pause();
    const closed = closeCode(a);
    for (let i = 0; i < 2000 && s.hub.status().clients.every((c) => c.readyState === 1); i++) {
      rawBroadcast(s, [{ name: 'task:updated', data: { filler: 'z'.repeat(64 * 1024) } }]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(records().some((r) => r.level === 40 && String(r.msg).includes('slow consumer'))).toBe(true);
    // Past the grace period the socket is dropped even though the client never read its close frame.
    await waitFor(() => s.hub.size === 0, 3000, 'slow client terminated');
    a.resume();
    expect([1006, 1008]).toContain((await closed).code);
  });
});

describe('event validation hook', () => {
  it('an event that fails validation is logged and not sent; the rest of the broadcast is', async () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', level: 'info', stream: { write: (l: string) => lines.push(l) } });
    const s = await start({}, {
      logger,
      hubOptions: {
        validate: (ev) => {
          if ((ev.name as string) === 'bogus:event') throw new Error('unknown event');
        },
      },
    });
    const a = await client(s.port);
    const got = collect(a);
    rawBroadcast(s, [
      { name: 'bogus:event', data: {} },
      { name: 'project:deleted', data: { id: 'p' } },
    ]);
    await waitFor(() => got.length === 1, 2000, 'valid event');
    expect((got[0] as { type: string }).type).toBe('project:deleted');
    expect(lines.some((l) => l.includes('event failed validation'))).toBe(true);
    expect(s.hub.invalidEvents).toBe(1);
  });
});

describe('protocol-level ping (docs/behaviour.md §4.3)', () => {
  it('a peer that stops answering ping frames is dropped; a live one stays', async () => {
    const s = await start({}, { hubOptions: { heartbeatMs: 40 } });
    const dead = await client(s.port);
    const live = await client(s.port);
    await waitFor(() => s.hub.size === 2, 2000, 'two clients');
    let livePings = 0;
    live.on('ping', () => livePings++);
    dead.pause();
    await waitFor(() => s.hub.size === 1, 3000, 'dead peer dropped');
    // Three more heartbeat rounds (seen as pings at the live client) have passed: the live one was kept by each.
    const seen = livePings;
    await waitFor(() => livePings >= seen + 3, 3000, 'three more heartbeats');
    expect(s.hub.size).toBe(1);
    expect(live.readyState).toBe(WebSocket.OPEN);
  });
});
