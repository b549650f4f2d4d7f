/**
 * Server assembly: the startup sequence of docs/behaviour.md §6.4 (storage → HTTP app → WebSocket → listen) and the
 * orderly close of §5.7 (stop accepting → WS 1001 → in-flight requests finish → store closed).
 */
import http from 'node:http';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Handlers } from '../generated/routes/handlers.js';
import { createApiRouter as generatedApiRouter } from '../generated/routes/router.js';
import { eventValidators, isEventName } from '../generated/events/index.js';
import type { Config } from './config.js';
import { ConfigError, deriveServerUrl } from './config.js';
import { createApp } from './app.js';
import { createCorsPolicy } from './http/cors.js';
import { EventHub, type EventHubOptions, type HubEvent } from './ws/hub.js';
import { createHealthHandlers } from './handlers/health.js';
import { systemClock, type Clock } from './clock.js';
import { Store } from './store/index.js';
import { createProjectHandlers } from './handlers/projects.js';
import { createTaskHandlers } from './handlers/tasks.js';
import { createSessionHandlers } from './handlers/sessions.js';
import { createQueueHandlers } from './handlers/queue.js';
import { createTemplateHandlers } from './handlers/templates.js';
import { createSkillHandlers } from './handlers/skills.js';
import { createSpawnHandlers, type SpawnHooks } from './handlers/spawn.js';
import { SkillRegistry } from './skills/registry.js';
import { seedDefaultTemplates } from './templates/seed.js';
import { removeLeftoverManifestTemps } from './spawn/leftover-temps.js';
import type { ApiRouterOptions } from './http/api-router.js';
import type { StoreObserver } from './store/index.js';
import { createServerMetrics } from './metrics/index.js';
import { startLoadReport } from './load-report.js';

/**
 * The reason a start was abandoned because SIGINT/SIGTERM came during it (docs/behaviour.md §5.7 applies from the
 * first moment): main aborts the start with it and exits 0 once the lock is released.
 */
export class StartupStopped extends Error {
  constructor(readonly signal: string) {
    super(`stopped by ${signal} during startup`);
    this.name = 'StartupStopped';
  }
}

/** What the server needs from the store. */
export interface StoreHandle {
  readonly quarantinedCount: number;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  dataDir: string;
  sessionDir: string;
  logger: Logger;
  clock: Clock;
  /** Called after every durable commit with that mutation's events, in order (docs/behaviour.md §0.8, §4.5). */
  onCommit: (events: HubEvent[]) => void;
  /** MAESTRO_METRICS=true: told about commit rounds and fsyncs (src/metrics/store-metrics.ts). */
  observer?: StoreObserver;
  /** Aborted when a stop is requested during the start: the open gives up (its reason is thrown) and unlocks. */
  stopSignal?: AbortSignal;
}

/** Everything a handler factory may depend on. */
export interface HandlerContext {
  config: Config;
  logger: Logger;
  clock: Clock;
  store: StoreHandle;
  hub: EventHub;
  /** Test seam of spawn's server mode (see ServerDeps.spawnHooks). */
  spawnHooks?: SpawnHooks;
}

export type HandlerMap = Partial<Handlers>;

export interface ServerDeps {
  logger: Logger;
  clock?: Clock;
  /** Storage init (docs/behaviour.md §5.2); default: the file store of src/store/. */
  openStore?: (options: OpenStoreOptions) => Promise<StoreHandle>;
  /** The router factory `createApiRouter(handlers, { maxBodyBytes })`; default: generated/routes/router.ts. */
  createApiRouter?: (handlers: HandlerMap, options: ApiRouterOptions) => RequestHandler;
  /** The handlers of every tag other than health (health is always added); default: src/handlers/*. */
  buildHandlers?: (ctx: HandlerContext) => HandlerMap;
  /**
   * Validate every event against the AsyncAPI event catalogue before sending it (an invalid one is logged,
   * counted and not sent); default: true, in every environment. Only tests of the hub's transport with
   * stand-in payloads turn it off.
   */
  validateEvents?: boolean;
  /** Hub tuning (tests use small limits). */
  hubOptions?: Pick<EventHubOptions, 'maxBufferedBytes' | 'slowConsumerGraceMs' | 'heartbeatMs' | 'maxPayload' | 'validate'>;
  /** Tests: hooks into spawn's server mode (e.g. change the store between the manifest write and the mutation). */
  spawnHooks?: SpawnHooks;
  /**
   * Aborted (reason: StartupStopped) when SIGINT/SIGTERM arrives during the start: the load is abandoned, what
   * was opened is closed, the lock released, and startServer rejects with the reason.
   */
  stopSignal?: AbortSignal;
}

export interface RunningServer {
  /** `http://{host}:{port}` of the bound socket (0.0.0.0 / :: shown as localhost). */
  url: string;
  port: number;
  httpServer: http.Server;
  hub: EventHub;
  store: StoreHandle;
  /** Start-up housekeeping that runs after listen (SESSION_DIR temp-file sweep); resolves when done. */
  maintenance: Promise<void>;
  /** Graceful close (docs/behaviour.md §5.7); idempotent. The caller enforces the 5 s limit. */
  close(): Promise<void>;
}

/** Starts the server (docs/behaviour.md §6.4 steps 2–5). Rejects on storage or bind failure, leaving nothing open. */
export async function startServer(config: Config, deps: ServerDeps): Promise<RunningServer> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const corsPolicy = createCorsPolicy(config.cors);
  const hub = new EventHub({
    logger,
    corsPolicy,
    hostGuard: config.hostIsLoopback,
    token: config.apiToken,
    clock,
    validate: deps.validateEvents === false ? undefined : validateAgainstCatalogue,
    ...deps.hubOptions,
  });

  // 2. Storage init. Events reach the hub only after their writes are durable (the store calls onCommit then).
  const openStore = deps.openStore ?? defaultOpenStore;
  const createApiRouter = deps.createApiRouter ?? generatedApiRouter;
  const buildHandlers = deps.buildHandlers ?? defaultBuildHandlers;
  // MAESTRO_METRICS=true (docs/operations.md); off, nothing of it exists.
  const metrics = config.metrics ? createServerMetrics() : undefined;
  metrics?.watchHub(hub);
  // docs/behaviour.md §5.2 step 1: SESSION_DIR too (the store creates DATA_DIR and its folders).
  try {
    await mkdir(config.sessionDir, { recursive: true });
  } catch (err) {
    throw new ConfigError(`Cannot create SESSION_DIR ${config.sessionDir}: ${(err as Error).message}`, 'SESSION_DIR');
  }
  deps.stopSignal?.throwIfAborted();
  const store = await openStore({
    dataDir: config.dataDir,
    sessionDir: config.sessionDir,
    logger,
    clock,
    ...(metrics && { observer: metrics.store.observer }),
    ...(deps.stopSignal && { stopSignal: deps.stopSignal }),
    onCommit: (events) => {
      // The mutation is already durable; a broadcast problem must never turn it into a failed request.
      try {
        hub.broadcast(events);
      } catch (err) {
        logger.error({ err }, 'broadcast failed');
      }
    },
  });

  // Store sizes are read at scrape time from the file store's reads (a stand-in store has none).
  if (metrics && store instanceof Store) metrics.store.watchSizes(store);

  let server: http.Server | undefined;
  try {
    deps.stopSignal?.throwIfAborted();
    // 3. HTTP server with its routes.
    const ctx: HandlerContext = { config, logger, clock, store, hub, ...(deps.spawnHooks && { spawnHooks: deps.spawnHooks }) };
    const handlers: HandlerMap = {
      ...buildHandlers(ctx),
      ...createHealthHandlers({ store, hub, clock }),
    };
    const apiRouter = createApiRouter(handlers, {
      maxBodyBytes: config.maxBodyBytes,
      ...(metrics && { onOperation: metrics.http.onOperation }),
    });
    const app = createApp({
      config,
      logger,
      apiRouter,
      corsPolicy,
      ...(metrics && { metrics: { watchRequest: metrics.http.watchRequest, endpoint: metrics.endpoint } }),
    });
    server = http.createServer(app);
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket, logger));
    // 4. WebSocket on the same server.
    hub.attach(server);
    // 5. Listen.
    await listen(server, config.port, config.host);
  } catch (err) {
    await hub.close(0).catch(() => undefined);
    server?.close();
    await store.close().catch((e: unknown) => logger.error({ err: e }, 'store close failed'));
    throw err;
  }

  const httpServer = server;
  const port = (httpServer.address() as AddressInfo).port;
  // docs/behaviour.md §5.4: sweep manifest temp files left by a crash; not needed to serve, so it runs after listen.
  const maintenance = removeLeftoverManifestTemps(config.sessionDir).then((removed) => {
    if (removed > 0) logger.warn({ removed }, 'removed leftover temporary files from SESSION_DIR');
  });
  const url = deriveServerUrl(undefined, config.host, port);
  let closing: Promise<void> | undefined;

  const close = () => {
    closing ??= (async () => {
      // Stop accepting; idle keep-alive connections are closed now, busy ones once their response is out.
      const httpClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await hub.close();
      const sweeper = setInterval(() => httpServer.closeIdleConnections(), 25);
      httpServer.closeIdleConnections();
      await httpClosed;
      clearInterval(sweeper);
      await maintenance;
      await store.close();
    })();
    return closing;
  };

  return { url, port, httpServer, hub, store, maintenance, close };
}

/**
 * A request the HTTP parser rejects (malformed, headers too large) still gets docs/behaviour.md's JSON error
 * (docs/behaviour.md §0.6, §3.3: such input never crashes the process).
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, logger: Logger): void {
  // No request was parsed, so no header to take an id from: a fresh one, like every other answer's.
  const requestId = randomUUID();
  logger.debug({ code: err.code, requestId }, 'HTTP client error');
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify({
    error: true,
    code: 'VALIDATION_ERROR',
    message: tooLarge ? 'Request headers too large' : 'Malformed HTTP request',
  });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const what = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
      reject(Object.assign(new Error(`Cannot listen on ${host}:${port}: ${what}`), { code: err.code, cause: err }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** The file store of src/store/ (docs/behaviour.md §5), with the pino logger adapted to the store's logger shape. */
async function defaultOpenStore(options: OpenStoreOptions): Promise<StoreHandle> {
  const { logger } = options;
  const report = startLoadReport(logger, options.dataDir);
  const store = await Store.open({
    dataDir: options.dataDir,
    clock: options.clock,
    ...(options.observer && { observer: options.observer }),
    onLoadProgress: (progress) => {
      options.stopSignal?.throwIfAborted();
      report.progress(progress);
    },
    onCommit: (events) => options.onCommit([...events]),
    logger: {
      warn: (message, extra) => logger.warn(extra ?? {}, message),
      info: (message, extra) => logger.info(extra ?? {}, message),
    },
  });
  report.done(store.loadStats);
  try {
    // docs/behaviour.md §5.2 step 4 / §10.2: no event is emitted by seeding.
    const seeded = await seedDefaultTemplates(store);
    if (seeded.length > 0) logger.info({ roles: seeded.map((t) => t.role) }, 'seeded default templates');
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * The handlers of src/handlers/, one factory per tag: the complete `Handlers` minus health (added by
 * startServer), so the type checker reports a missing one. Only the real file store can back them; a stand-in
 * store (tests of the HTTP layer) gets health only.
 */
function defaultBuildHandlers(ctx: HandlerContext): HandlerMap {
  if (!(ctx.store instanceof Store)) return {};
  const { config, logger } = ctx;
  const store = ctx.store;
  const host = { hostname: hostname(), platform: process.platform };
  const handlers: Omit<Handlers, 'getHealth' | 'getWsStatus'> = {
    ...createProjectHandlers({ store }),
    ...createTaskHandlers({ store }),
    ...createSessionHandlers({ store, host }),
    ...createQueueHandlers({ store }),
    ...createTemplateHandlers({ store }),
    ...createSkillHandlers({ registry: new SkillRegistry({ skillsDir: config.skillsDir, logger }) }),
    ...createSpawnHandlers({
      store,
      host,
      logger,
      ...(ctx.spawnHooks && { hooks: ctx.spawnHooks }),
      config: {
        sessionDir: config.sessionDir,
        dataDir: config.dataDir,
        serverUrl: config.serverUrl,
        manifestGenerator: config.manifestGenerator,
        cliPath: config.maestroCliPath,
      },
    }),
  };
  return handlers;
}

/**
 * The hub's check of every broadcast (docs/decisions.md): an event that is not in the AsyncAPI catalogue, or
 * whose payload does not match its schema, is refused. The message names the first few schema errors, never
 * the payload itself (it may be large).
 */
export function validateAgainstCatalogue(event: HubEvent): void {
  const name: string = event.name;
  if (!isEventName(name)) throw new Error(`unknown event ${name}`);
  const validate = eventValidators[name];
  if (!validate(event.data)) {
    const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    throw new Error(`invalid ${name} payload: ${errors.join('; ')}`);
  }
}
