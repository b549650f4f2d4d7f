/**
 * WebSocket clients for tests: open one, watch a refused upgrade, and `EventLog`, which records every envelope a
 * client receives and can prove that nothing more is on its way.
 *
 * Why `settle()` proves it: the server broadcasts a request's events before it sends the HTTP answer, and answers a
 * `{"type":"ping"}` with a pong on the same connection (docs/behaviour.md §4.3, §4.5). So once a ping sent after an
 * answer came back as a pong, every event of every answered request is already in the log — a check that an event
 * did NOT come needs no fixed sleep.
 */
import type http from 'node:http';
import { WebSocket } from 'ws';
import { waitFor } from './wait.js';

export interface Envelope {
  type: string;
  event: string;
  data: any;
  timestamp: number;
}

export interface ClientOptions {
  path?: string;
  headers?: Record<string, string>;
}

/** Opens a client on 127.0.0.1:port and waits for `open`. */
export function openClient(port: number, options: ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/'}`, { headers: options.headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

/** Attempts an upgrade that the server should refuse; resolves with the HTTP answer. */
export function refusedUpgrade(port: number, options: ClientOptions = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/'}`, { headers: options.headers });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('upgrade unexpectedly accepted'));
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    ws.once('error', () => undefined);
  });
}

/** Every parsed message a client receives (pongs included), in order. */
export function collect(ws: WebSocket): any[] {
  const got: any[] = [];
  ws.on('message', (data) => got.push(JSON.parse(String(data))));
  return got;
}

export function closeCode(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** What EventLog needs of a socket: the `ws` client and the generated subscriber's `socket` both fit. */
export interface MessageSocket {
  send(text: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/** Records the event envelopes one client receives; pongs are counted, not recorded. */
export class EventLog {
  /** Every event envelope received and not yet taken, in order. */
  readonly received: Envelope[] = [];
  private pings = 0;
  private pongs = 0;

  constructor(private readonly socket: MessageSocket) {
    socket.addEventListener('message', ({ data }) => {
      const message = JSON.parse(String(data)) as Envelope;
      if (message.type === 'pong') this.pongs++;
      else this.received.push(message);
    });
  }

  /** Opens a client on `port` and records it. */
  static async open(port: number, options: ClientOptions = {}): Promise<EventLog & { ws: WebSocket }> {
    const ws = await openClient(port, options);
    return Object.assign(new EventLog(ws as unknown as MessageSocket), { ws });
  }

  /** Resolves once every event broadcast before this call is in `received` (ping → pong on the same connection). */
  async settle(timeoutMs = 3000): Promise<void> {
    const expected = ++this.pings;
    this.socket.send(JSON.stringify({ type: 'ping' }));
    await waitFor(() => this.pongs >= expected, timeoutMs, 'pong');
  }

  /** Waits until `count` events are recorded. */
  async waitForCount(count: number, timeoutMs = 3000): Promise<void> {
    await waitFor(() => this.received.length >= count, timeoutMs, `${count} events (got ${this.received.map((e) => e.event).join(', ')})`);
  }

  /** Waits for the first recorded event named `name` (that matches `match`) and returns it. */
  async waitForEvent(name: string, match: (e: Envelope) => boolean = () => true, timeoutMs = 3000): Promise<Envelope> {
    const find = () => this.received.find((e) => e.event === name && match(e));
    await waitFor(() => find() !== undefined, timeoutMs, `event ${name}`);
    return find()!;
  }

  /**
   * Returns and forgets the recorded events after settling: exactly what the answered requests sent. With
   * `count`, first waits for that many (for events that do not follow an HTTP answer).
   */
  async take(count = 0, timeoutMs = 3000): Promise<Envelope[]> {
    await this.waitForCount(count, timeoutMs);
    await this.settle(timeoutMs);
    return this.received.splice(0);
  }
}
