/**
 * The WebSocket event hub (docs/behaviour.md §4): same port as HTTP, any path, checks on upgrade (host guard §6.2,
 * Origin allow-list §4.1/§6.3, token §6.2), ping/pong (§4.3), broadcast of the envelope (§4.2) serialised once
 * per event to every OPEN client, slow-consumer cut-off (1008), 64 KiB frame limit (1009), 1001 on shutdown.
 */
import { WsReadyStateTextValues } from '../../generated/model/index.js';
import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Logger } from 'pino';
import { ContractError } from '../contract-error.js';
import { hostNotAllowed, isAllowedHostHeader } from '../http/host-guard.js';
import { bearerToken, createTokenCheck, unauthorized } from '../http/auth.js';
import type { CorsPolicy } from '../http/cors.js';
import { systemClock, type Clock } from '../clock.js';
import type { WsStatus } from '../../generated/types/index.js';
import type { EventName, EventPayloads } from '../../generated/events/index.js';

/**
 * One event as the store hands it over after a durable commit: a name of the AsyncAPI event catalogue with
 * exactly that event's payload type (the same type as the store's StoreEvent). The types are the first guard;
 * the `validate` hook checks the payload again at run time (data read from disk, e.g. a CLI-written manifest,
 * reaches events through casts).
 */
export type HubEvent = { [N in EventName]: { name: N; data: EventPayloads[N] } }[EventName];

export type { WsStatus };
type ReadyStateText = WsStatus['clients'][number]['readyStateText'];

export interface EventHubOptions {
  logger: Logger;
  /** The CORS allow-list; applied to upgrades with an `Origin` whatever CORS_ENABLED says. */
  corsPolicy: CorsPolicy;
  /** The server is bound to loopback: refuse non-loopback `Host` headers (DNS rebinding). */
  hostGuard: boolean;
  /** MAESTRO_API_TOKEN; undefined = no token needed. */
  token?: string;
  /** Largest accepted client frame in bytes (default 64 KiB; larger → close 1009). */
  maxPayload?: number;
  /** A client whose unsent buffer exceeds this many bytes is closed with 1008 (default 8 MiB). */
  maxBufferedBytes?: number;
  /** After closing a slow consumer, drop its socket if the close has not completed in this time (default 5 s). */
  slowConsumerGraceMs?: number;
  /** Protocol-level ping interval to detect dead peers (default 30 s; 0 = off). */
  heartbeatMs?: number;
  /**
   * Checks each event before it is sent; the server plugs in the AsyncAPI catalogue's precompiled validators
   * in every environment (docs/decisions.md, "Every broadcast is validated"). A throw means the payload
   * violates spec/asyncapi.yaml: it is logged as an error, counted (`invalidEvents`) and that event is not
   * sent; the others of the broadcast still are.
   */
  validate?: (event: HubEvent) => void;
  /** Time source for envelopes and pongs (default: the system clock). */
  clock?: Clock;
}

interface ClientState {
  alive: boolean;
  dropTimer?: NodeJS.Timeout;
  /** The upgraded TCP socket (the one the HTTP server handed over); broadcasts write their frames to it. */
  socket: Duplex;
}

/**
 * One unmasked, final text frame (RFC 6455 §5.2) holding `payload`: built once per event and written as is to
 * every client. A server's frames are never masked, so the same bytes are valid on every connection.
 */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81; // FIN + opcode 1 (text)
  if (n < 126) {
    frame[1] = n;
  } else if (n < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(frame, head);
  return frame;
}

/** The WsReadyStateText schema lists the names in readyState order. */
const READY_STATE_TEXT: readonly ReadyStateText[] = WsReadyStateTextValues;
const DEFAULT_MAX_PAYLOAD = 64 * 1024;
const DEFAULT_MAX_BUFFERED = 8 * 1024 * 1024;

export class EventHub {
  private readonly logger: Logger;
  private readonly wss: WebSocketServer;
  private readonly clients = new Map<WebSocket, ClientState>();
  private readonly checkToken: ((candidate: string | undefined) => boolean) | undefined;
  private readonly maxBufferedBytes: number;
  private readonly slowConsumerGraceMs: number;
  private readonly heartbeatMs: number;
  private readonly clock: Clock;
  private server: Server | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Clients whose sockets the current run of broadcasts corked; uncorked together in the next microtask. */
  private readonly corked = new Map<Duplex, WebSocket>();
  /**
   * Uncork, then check each client's backlog: only now is it the bytes the peer has not taken (the kernel
   * took what it could at uncork); while corked it also counted this run's frames, even for a fast reader.
   */
  private readonly uncorkAll = () => {
    for (const [socket, ws] of this.corked) {
      socket.uncork();
      if (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > this.maxBufferedBytes) this.dropSlowConsumer(ws);
    }
    this.corked.clear();
  };
  private closing = false;
  private invalid = 0;
  /** Slow consumers closed with 1008 since start (a plain count; src/metrics/ reads it at scrape time). */
  private slowDrops = 0;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head);

  constructor(private readonly options: EventHubOptions) {
    this.logger = options.logger;
    this.checkToken = options.token === undefined ? undefined : createTokenCheck(options.token);
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
    this.slowConsumerGraceMs = options.slowConsumerGraceMs ?? 5000;
    this.heartbeatMs = options.heartbeatMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** Takes over the HTTP server's upgrade requests (docs/behaviour.md §6.4 step 4). */
  attach(server: Server): void {
    if (this.server) throw new Error('EventHub is already attached');
    this.server = server;
    server.on('upgrade', this.onUpgrade);
    if (this.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.sweep(), this.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /**
   * Sends each event as `{type, event, data, timestamp}` to every OPEN client (docs/behaviour.md §4.2), in order.
   * Each envelope is serialised and framed once; a client that cannot keep up is dropped, never waited for.
   *
   * Why the frame goes straight to the socket, and why corked (issue 7, docs/performance.md): with 1 000
   * clients a broadcast is 1 000 socket writes, and the kernel's share of each (~8 µs on loopback) is most of
   * the server's time. Writing one pre-built frame skips the per-client framing of `ws.send`, and corking every
   * socket until the current synchronous run ends turns all the events broadcast in it (one commit round of the
   * store: several mutations, or one mutation's several events) into one write per client. The uncork is the
   * first microtask queued, so the frames are written before any acknowledgement's response. Safe next to
   * `ws`'s own frames (pong, ping, close): with per-message deflate off, `ws` writes each frame whole and
   * synchronously, so complete frames never interleave; `ws.bufferedAmount` still counts these bytes.
   */
  broadcast(events: readonly HubEvent[]): void {
    if (events.length === 0) return;
    const timestamp = this.clock.now();
    for (const ev of events) {
      if (this.options.validate) {
        try {
          this.options.validate(ev);
        } catch (err) {
          this.invalid++;
          this.logger.error(
            { err, event: ev.name, invalidEvents: this.invalid },
            'event failed validation (violates spec/asyncapi.yaml): not sent',
          );
          continue;
        }
      }
      if (this.clients.size === 0) {
        this.logger.debug({ event: ev.name, clients: 0 }, 'broadcast');
        continue;
      }
      const payload = Buffer.from(JSON.stringify({ type: ev.name, event: ev.name, data: ev.data, timestamp }), 'utf8');
      const frame = textFrame(payload);
      let sent = 0;
      for (const [ws, state] of this.clients) {
        if (ws.readyState !== WebSocket.OPEN || state.socket.destroyed) continue;
        if (!this.corked.has(state.socket)) {
          // A microtask, not process.nextTick: inside the store's commit loop (itself a microtask) a nextTick
          // would run only after the acknowledgements, and the HTTP response must not overtake its events.
          if (this.corked.size === 0) queueMicrotask(this.uncorkAll);
          state.socket.cork();
          this.corked.set(state.socket, ws);
        }
        state.socket.write(frame);
        sent++;
      }
      this.logger.debug({ event: ev.name, clients: sent, bytes: payload.length }, 'broadcast');
    }
  }

  /** docs/behaviour.md §1.12 WsStatus: one entry per tracked socket. */
  status(): WsStatus {
    const clients = [...this.clients.keys()].map((ws) => {
      const readyState = ws.readyState as 0 | 1 | 2 | 3;
      return { readyState, readyStateText: READY_STATE_TEXT[readyState]! };
    });
    return { connectedClients: clients.length, clients };
  }

  /** Events refused by the `validate` hook since start (each was logged and not sent). */
  get invalidEvents(): number {
    return this.invalid;
  }

  /** Clients closed as slow consumers (1008) since start. */
  get slowConsumerDrops(): number {
    return this.slowDrops;
  }

  /** Number of tracked sockets. */
  get size(): number {
    return this.clients.size;
  }

  /**
   * Shutdown (docs/behaviour.md §4.1, §5.7): refuses new upgrades, closes every client with 1001 and waits for the
   * closing handshakes (at most `waitMs`, after which the remaining sockets are dropped).
   */
  async close(waitMs = 1000): Promise<void> {
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const pending = [...this.clients.keys()].map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
            ws.close(1001, 'server shutting down');
          }
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), waitMs);
    });
    const outcome = await Promise.race([Promise.all(pending), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') for (const ws of this.clients.keys()) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.logger.debug({ err }, 'WebSocket upgrade socket error'));
    if (this.closing) {
      socket.destroy();
      return;
    }
    // Same order as HTTP: host guard → origin (CORS list) → token.
    if (this.options.hostGuard && !isAllowedHostHeader(req.headers.host)) {
      return this.rejectUpgrade(socket, hostNotAllowed());
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== '' && !this.options.corsPolicy.isAllowed(origin)) {
      return this.rejectUpgrade(socket, new ContractError(403, 'FORBIDDEN', 'Origin not allowed'));
    }
    if (this.checkToken && !this.checkToken(bearerToken(req.headers.authorization)) && !this.checkToken(queryToken(req.url))) {
      return this.rejectUpgrade(socket, unauthorized(), ['WWW-Authenticate: Bearer']);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, socket));
  }

  /** Answers a refused upgrade with docs/behaviour.md's JSON error over the raw socket; no upgrade happens. */
  private rejectUpgrade(socket: Duplex, err: ContractError, extraHeaders: string[] = []): void {
    this.logger.warn({ status: err.status, code: err.code }, `WebSocket upgrade refused: ${err.message}`);
    const body = JSON.stringify(err.toBody());
    const head = [
      `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      ...extraHeaders,
    ].join('\r\n');
    if (socket.writable) socket.end(`${head}\r\n\r\n${body}`);
    else socket.destroy();
  }

  private onConnection(ws: WebSocket, socket: Duplex): void {
    if (this.closing) {
      ws.close(1001, 'server shutting down');
      return;
    }
    const state: ClientState = { alive: true, socket };
    this.clients.set(ws, state);
    this.logger.debug({ clients: this.clients.size }, 'WebSocket client connected');
    ws.on('pong', () => {
      state.alive = true;
    });
    ws.on('message', (data, isBinary) => this.onMessage(ws, data, isBinary));
    ws.on('error', (err) => this.logger.warn({ err }, 'WebSocket client error'));
    ws.on('close', (code) => {
      if (state.dropTimer) clearTimeout(state.dropTimer);
      this.clients.delete(ws);
      this.logger.debug({ code, clients: this.clients.size }, 'WebSocket client disconnected');
    });
  }

  /** docs/behaviour.md §4.3: `{"type":"ping"}` → pong to that client only; everything else is ignored. */
  private onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.logger.debug('WebSocket binary frame ignored');
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(rawText(data));
    } catch {
      this.logger.debug('WebSocket non-JSON message ignored');
      return;
    }
    if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'ping') {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'pong', timestamp: this.clock.now() }));
    }
  }

  /** docs/behaviour.md §4.1: a client that does not read is closed with 1008 and logged; others never wait for it. */
  private dropSlowConsumer(ws: WebSocket): void {
    const state = this.clients.get(ws);
    this.slowDrops++;
    this.logger.warn(
      { bufferedAmount: ws.bufferedAmount, limit: this.maxBufferedBytes },
      'WebSocket client is not reading: closing it (1008 slow consumer)',
    );
    ws.close(1008, 'slow consumer');
    // The close frame waits behind the unread backlog; do not keep that memory for a peer that never reads.
    if (state) {
      state.dropTimer = setTimeout(() => ws.terminate(), this.slowConsumerGraceMs);
      state.dropTimer.unref();
    }
  }

  /** Protocol-level ping: a peer that did not answer the previous ping is dropped (docs/behaviour.md §4.3). */
  private sweep(): void {
    for (const [ws, state] of this.clients) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (!state.alive) {
        this.logger.info('WebSocket client did not answer ping: dropped');
        ws.terminate();
        continue;
      }
      state.alive = false;
      try {
        ws.ping();
      } catch (err) {
        this.logger.debug({ err }, 'WebSocket ping failed');
      }
    }
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function queryToken(url: string | undefined): string | undefined {
  if (url === undefined || !url.includes('?')) return undefined;
  try {
    return new URL(url, 'http://localhost').searchParams.get('token') ?? undefined;
  } catch {
    return undefined;
  }
}
