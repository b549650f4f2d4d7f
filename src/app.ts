/**
 * The express application: the middleware chain of docs/architecture.md and CONTRACT §3.3, in order:
 * host guard → CORS/OPTIONS → bearer token → API router → 404 → error handler.
 * The request log only watches (it never answers), so it is registered first: then the 403s and 401s of the
 * guards get their line too (CONTRACT §6.5: one line per /api request).
 */
import express, { type Express, type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createHostGuard } from './http/host-guard.js';
import { createCorsMiddleware, createCorsPolicy, type CorsPolicy } from './http/cors.js';
import { createAuth } from './http/auth.js';
import { createRequestLog } from './http/request-log.js';
import { createNotFoundHandler } from './http/not-found.js';
import { createErrorHandler } from './http/error-handler.js';

export type AppConfig = Pick<Config, 'hostIsLoopback' | 'apiToken' | 'cors' | 'nodeEnv'>;

export interface AppOptions {
  config: AppConfig;
  logger: Logger;
  /** The generated API router (also serves /health and /ws-status). */
  apiRouter: Router | RequestHandler;
  /** Reuse the policy the WebSocket hub uses; built from `config.cors` when absent. */
  corsPolicy?: CorsPolicy;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * CONTRACT §0.5: bodies of other methods than POST/PUT/PATCH are ignored. Drain them as they arrive, and do not
 * close the connection right after the answer: a close that meets unread request bytes resets the connection
 * (RST), and the client loses the response it has not read yet. The client closes it (it asked to), or the
 * keep-alive timeout does.
 */
const discardIgnoredBodies: RequestHandler = (req, res, next) => {
  if (!BODY_METHODS.has(req.method) && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0)) {
    req.resume();
    res.shouldKeepAlive = true;
  }
  next();
};

/** Builds the express app; it does not listen. */
export function createApp(options: AppOptions): Express {
  const { config, logger, apiRouter } = options;
  const app = express();
  app.disable('x-powered-by');
  // Conditional GETs would turn JSON answers into body-less 304s; clients expect the JSON every time.
  app.set('etag', false);
  app.set('case sensitive routing', true);

  app.use(discardIgnoredBodies);
  app.use(createRequestLog({ logger }));
  app.use(createHostGuard({ enabled: config.hostIsLoopback }));
  app.use(createCorsMiddleware({ enabled: config.cors.enabled, policy: options.corsPolicy ?? createCorsPolicy(config.cors) }));
  app.use(createAuth({ token: config.apiToken }));
  app.use(apiRouter);
  app.use(createNotFoundHandler());
  app.use(createErrorHandler({ logger, production: config.nodeEnv === 'production' }));
  return app;
}
