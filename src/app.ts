/**
 * The express application: the middleware chain of docs/architecture.md and docs/behaviour.md §3.3, in order:
 * host guard → CORS/OPTIONS → bearer token → API router → static files (/docs, /ui) → [/metrics] → 404 → error handler.
 * The guards are one middleware (src/http/guards.ts), which first drains ignored bodies and sets up the request
 * log: the log only watches (it never answers), so the 403s and 401s of the guards get their line too
 * (docs/behaviour.md §6.5: one line per /api request).
 */
import express, { type Express, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createCorsPolicy, type CorsPolicy } from './http/cors.js';
import { createRequestGuards } from './http/guards.js';
import { createNotFoundHandler } from './http/not-found.js';
import { createErrorHandler } from './http/error-handler.js';
import { createStaticHandler } from './http/static.js';
import { staticSite, type StaticSite } from './static/site.js';

export type AppConfig = Pick<Config, 'hostIsLoopback' | 'apiToken' | 'cors' | 'nodeEnv'>;

export interface AppOptions {
  config: AppConfig;
  logger: Logger;
  /** The generated API router (also serves /health and /ws-status). */
  apiRouter: Router | RequestHandler;
  /** Reuse the policy the WebSocket hub uses; built from `config.cors` when absent. */
  corsPolicy?: CorsPolicy;
  /** MAESTRO_METRICS=true: the request watcher (in the guards step) and the `/metrics` endpoint (src/metrics/). */
  metrics?: {
    watchRequest: (req: Request, res: Response) => void;
    endpoint: RequestHandler;
  };
  /** The /docs and /ui files (docs/behaviour.md §14.3); default: this package's (src/static/site.ts). */
  staticSite?: StaticSite;
}

/** Builds the express app; it does not listen. */
export function createApp(options: AppOptions): Express {
  const { config, logger, apiRouter } = options;
  const app = express();
  app.disable('x-powered-by');
  // Conditional GETs would turn JSON answers into body-less 304s; clients expect the JSON every time.
  app.set('etag', false);
  app.set('case sensitive routing', true);

  // ignored-body drain → request log → host guard → CORS/OPTIONS → bearer token, as one layer (src/http/guards.ts)
  app.use(
    createRequestGuards({
      logger,
      hostGuard: config.hostIsLoopback,
      cors: { enabled: config.cors.enabled, policy: options.corsPolicy ?? createCorsPolicy(config.cors) },
      token: config.apiToken,
      ...(options.metrics && { watchMetrics: options.metrics.watchRequest }),
    }),
  );
  app.use(apiRouter);
  // After the API router too: API requests never pass the static files (docs/behaviour.md §14.3).
  app.use(createStaticHandler(options.staticSite ?? staticSite()));
  // After the API router: API requests never pass through it; without MAESTRO_METRICS, /metrics is the 404.
  if (options.metrics) app.use(options.metrics.endpoint);
  app.use(createNotFoundHandler());
  app.use(createErrorHandler({ logger, production: config.nodeEnv === 'production' }));
  return app;
}
