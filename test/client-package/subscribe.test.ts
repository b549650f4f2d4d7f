/**
 * `subscribe()` (src/client/subscribe.ts) against a real WebSocket server (the `ws` package) on a real port:
 * listeners survive reconnects, the wait grows 1×, 2×, 4× … up to the maximum while the server is away and starts
 * over after an open, `onOpen` says when a connection is a reconnect (the moment to re-read over REST), and
 * `close()` stops for good.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { backoffDelay, subscribe, webSocketUrl, type CloseInfo, type OpenInfo } from '../../src/client/subscribe.js';

interface EventServer {
  port: number;
  wss: WebSocketServer;
  send(type: string, data: unknown, timestamp?: number): void;
  stop(): Promise<void>;
}

async function eventServer(port = 0): Promise<EventServer> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    wss,
    send(type, data, timestamp = Date.now()) {
      for (const c of wss.clients) c.send(JSON.stringify({ type, event: type, data, timestamp }));
    },
    async stop() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

describe('subscribe()', () => {
  it('back-off: 1 s doubling up to 30 s by default (docs/behaviour.md §4.6), configurable', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect([1, 2, 3].map((n) => backoffDelay(n, { initialDelayMs: 10, factor: 3, maxDelayMs: 50 }))).toEqual([10, 30, 50]);
    expect(webSocketUrl('http://127.0.0.1:3000')).toBe('ws://127.0.0.1:3000');
    expect(webSocketUrl('https://h/')).toBe('wss://h/');
    expect(webSocketUrl('ws://h/')).toBe('ws://h/');
  });

  it('keeps its listeners across reconnects, backs off while the server is away, and says when it resumed', async () => {
    let server = await eventServer();
    const port = server.port;
    cleanup.push(() => server.stop());
    const sub = subscribe({ url: `http://127.0.0.1:${port}/`, WebSocket: WebSocket as never, reconnect: { initialDelayMs: 40, maxDelayMs: 200 } });
    cleanup.push(() => sub.close());
    const titles: string[] = [];
    const opens: OpenInfo[] = [];
    const closes: CloseInfo[] = [];
    sub.on('task:created', (task) => titles.push(task.title));
    sub.onOpen((info) => opens.push(info));
    sub.onClose((info) => closes.push(info));
    await sub.ready;
    expect(sub.state).toBe('open');
    expect(opens).toEqual([{ reconnected: false, connections: 1, lastEventTimestamp: undefined }]);

    server.send('task:created', { title: 'one' }, 111);
    server.send('pong', {});
    await until('first event', () => titles.length === 1);
    expect(sub.lastEventTimestamp).toBe(111);

    // The server goes away: every failed attempt waits longer (40, 80, 160, 200, 200 …).
    await server.stop();
    await until('four failed attempts', () => closes.length >= 5, 5000);
    expect(closes[0]).toMatchObject({ wasOpen: true, retryInMs: 40 });
    expect(closes.slice(1, 5).map((c) => c.retryInMs)).toEqual([80, 160, 200, 200]);
    expect(closes.slice(1).every((c) => !c.wasOpen)).toBe(true);

    // It comes back on the same port: the subscription reconnects, says so, and the old listener gets new events.
    server = await eventServer(port);
    await until('reconnected', () => opens.length === 2, 5000);
    expect(opens[1]).toEqual({ reconnected: true, connections: 2, lastEventTimestamp: 111 });
    server.send('task:created', { title: 'two' }, 222);
    await until('event after the reconnect', () => titles.length === 2);
    expect(titles).toEqual(['one', 'two']);

    // A drop after a good connection starts the back-off over.
    const before = closes.length;
    for (const c of server.wss.clients) c.terminate();
    await until('drop', () => closes.length > before);
    expect(closes[before]).toMatchObject({ wasOpen: true, retryInMs: 40 });
    await until('third open', () => opens.length === 3);

    // close() stops for good: no more attempts.
    sub.close();
    expect(sub.state).toBe('closed');
    await new Promise((r) => setTimeout(r, 150));
    expect(opens).toHaveLength(3);
    expect(server.wss.clients.size).toBe(0);
  }, 20_000);

  it('reconnect: false makes one attempt; ready rejects when it fails', async () => {
    const server = await eventServer();
    await server.stop();
    const sub = subscribe({ url: `ws://127.0.0.1:${server.port}/`, WebSocket: WebSocket as never, reconnect: false });
    await expect(sub.ready).rejects.toBeInstanceOf(Error);
    expect(sub.state).toBe('closed');
  });
});
