/**
 * `subscribe()`: the typed event subscriber that stays connected. Each connection is one generated
 * `createEventSubscriber` (generated/client/events.ts); when it closes, a new one is opened after a back-off that
 * starts at 1 s and doubles up to 30 s (docs/behaviour.md §4.6), reset by every successful open. Listeners belong
 * to the subscription, not to a connection, so they survive reconnects.
 *
 * Resuming: the server replays nothing after a reconnect (docs/behaviour.md §4.6), so `onOpen` tells the caller
 * when a connection opened after a gap (`reconnected: true`, with the timestamp of the last event it saw): re-read
 * the state over REST there.
 *
 * Browser-safe: global WebSocket (or the one passed), timers, no Node import.
 */
import {
  createEventSubscriber,
  type EventListener,
  type EventSubscriber,
  type WebSocketConstructor,
} from '../../generated/client/events.js';
import type { AnyEventEnvelope, EventName } from '../../generated/events/index.js';

export interface ReconnectOptions {
  /** first wait after a close, ms (default 1000) */
  initialDelayMs?: number;
  /** longest wait, ms (default 30000) */
  maxDelayMs?: number;
  /** growth of the wait per failed attempt (default 2) */
  factor?: number;
}

export interface SubscribeOptions {
  /** the server root (`http://127.0.0.1:3000`) or the WebSocket URL (`ws://127.0.0.1:3000/`) */
  url: string;
  /** sent as `?token=` (docs/behaviour.md §4.1) */
  token?: string;
  /** WebSocket implementation; defaults to the global one (browsers, Node 22; on Node 20 pass the `ws` package's class) */
  WebSocket?: WebSocketConstructor;
  /** `false`: one connection, no reconnect */
  reconnect?: ReconnectOptions | false;
}

export interface OpenInfo {
  /** false for the first connection, true for every later one (events may have been missed: re-read the state) */
  reconnected: boolean;
  /** how many connections this subscription has opened, this one included */
  connections: number;
  /** `timestamp` of the last event received before this connection, if any */
  lastEventTimestamp: number | undefined;
}

export interface CloseInfo {
  /** the WebSocket close code (1006: ended abnormally), when there was one */
  code: number | undefined;
  /** the connection error, when it failed */
  error: Error | undefined;
  /** whether the connection had opened */
  wasOpen: boolean;
  /** the wait before the next attempt; undefined when no attempt follows (closed, or reconnect off) */
  retryInMs: number | undefined;
}

export type SubscriptionState = 'connecting' | 'open' | 'waiting' | 'closed';

export interface Subscription {
  /** Calls `listener` for every `name` event, across reconnects; returns the unsubscribe function. */
  on<K extends EventName>(name: K, listener: EventListener<K>): () => void;
  /** Calls `listener` for every event, across reconnects; returns the unsubscribe function. */
  onAny(listener: (envelope: AnyEventEnvelope) => void): () => void;
  /** Called on every open; `reconnected: true` is the moment to resume (re-read over REST). */
  onOpen(listener: (info: OpenInfo) => void): () => void;
  /** Called on every close or failed attempt, with the wait before the next one. */
  onClose(listener: (info: CloseInfo) => void): () => void;
  /** Resolves on the first open; rejects if the subscription is closed (or the only attempt fails) before that. */
  readonly ready: Promise<void>;
  readonly state: SubscriptionState;
  /** `timestamp` of the last event received */
  readonly lastEventTimestamp: number | undefined;
  /** Stops for good: closes the connection, cancels a pending reconnect. */
  close(): void;
}

/** `http(s)://host/` → `ws(s)://host/`; a WebSocket URL is kept. */
export function webSocketUrl(url: string): string {
  return url.replace(/^http(s?):\/\//i, 'ws$1://');
}

/** The wait before attempt `failures + 1` (after `failures` closes in a row without an open). */
export function backoffDelay(failures: number, options: ReconnectOptions = {}): number {
  const initial = options.initialDelayMs ?? 1000;
  const max = options.maxDelayMs ?? 30_000;
  const factor = options.factor ?? 2;
  return Math.min(max, initial * factor ** Math.max(0, failures - 1));
}

export function subscribe(options: SubscribeOptions): Subscription {
  const byName = new Map<string, Set<(payload: unknown, envelope: AnyEventEnvelope) => void>>();
  const any = new Set<(envelope: AnyEventEnvelope) => void>();
  const openListeners = new Set<(info: OpenInfo) => void>();
  const closeListeners = new Set<(info: CloseInfo) => void>();
  let state: SubscriptionState = 'connecting';
  let current: EventSubscriber | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let connections = 0;
  let lastEventTimestamp: number | undefined;
  let resolveReady!: () => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);

  const add = <T>(set: Set<T>, listener: T): (() => void) => {
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  };

  const deliver = (envelope: AnyEventEnvelope): void => {
    lastEventTimestamp = envelope.timestamp;
    for (const listener of [...(byName.get(envelope.event) ?? [])]) listener(envelope.data, envelope);
    for (const listener of [...any]) listener(envelope);
  };

  const connect = (): void => {
    state = 'connecting';
    let opened = false;
    let error: Error | undefined;
    let sub: EventSubscriber;
    try {
      sub = createEventSubscriber({ url: webSocketUrl(options.url), token: options.token, WebSocket: options.WebSocket });
    } catch (err) {
      state = 'closed';
      rejectReady(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    current = sub;
    sub.onAny(deliver);
    sub.socket.addEventListener('open', () => {
      if (current !== sub || state === 'closed') return;
      opened = true;
      failures = 0;
      connections += 1;
      state = 'open';
      resolveReady();
      const info: OpenInfo = { reconnected: connections > 1, connections, lastEventTimestamp };
      for (const listener of [...openListeners]) listener(info);
    });
    sub.socket.addEventListener('error', (event: { message?: string; error?: unknown }) => {
      error = event.error instanceof Error ? event.error : new Error(event.message ?? 'WebSocket error');
    });
    sub.socket.addEventListener('close', (event: { code?: number }) => {
      if (current !== sub) return;
      current = undefined;
      const stopped = state === 'closed';
      const retry = !stopped && options.reconnect !== false;
      if (!opened) failures += 1;
      else failures = 1;
      const retryInMs = retry ? backoffDelay(failures, options.reconnect || {}) : undefined;
      if (!retry) {
        state = 'closed';
        rejectReady(error ?? new Error('WebSocket closed'));
      } else {
        state = 'waiting';
        timer = setTimeout(connect, retryInMs);
      }
      const info: CloseInfo = { code: typeof event.code === 'number' ? event.code : undefined, error, wasOpen: opened, retryInMs };
      for (const listener of [...closeListeners]) listener(info);
    });
  };

  connect();

  return {
    on(name, listener) {
      let set = byName.get(name);
      if (set === undefined) {
        set = new Set();
        byName.set(name, set);
      }
      return add(set, listener as unknown as (payload: unknown, envelope: AnyEventEnvelope) => void);
    },
    onAny: (listener) => add(any, listener),
    onOpen: (listener) => add(openListeners, listener),
    onClose: (listener) => add(closeListeners, listener),
    ready,
    get state() {
      return state;
    },
    get lastEventTimestamp() {
      return lastEventTimestamp;
    },
    close() {
      if (state === 'closed') return;
      state = 'closed';
      if (timer !== undefined) clearTimeout(timer);
      rejectReady(new Error('subscription closed'));
      current?.close();
    },
  };
}
