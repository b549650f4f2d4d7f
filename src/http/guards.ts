/**
 * The protocol guards of docs/architecture.md and docs/behaviour.md §3.3 as ONE app-level middleware (issue 7: every
 * Express layer costs a dispatch step per request). In this order, exactly as the separate middlewares did:
 *
 *   0. request id: taken from `X-Request-Id` or generated, echoed on the response (src/http/request-id.ts)
 *   1. drain an ignored body (docs/behaviour.md §0.5)      — only watches
 *   2. request log set-up (§6.5)                  — only watches, so the 403s and 401s below get their line
 *      (and, with MAESTRO_METRICS=true, the metrics' request watcher: src/metrics/http-metrics.ts)
 *   3. Host guard (§3.3 #0, §6.2)                 → 403 FORBIDDEN
 *   4. CORS headers; every OPTIONS → 204 (§3.3 #1, §6.3)
 *   5. bearer token (§3.3 #2, §6.2)               → 401 UNAUTHORIZED + WWW-Authenticate: Bearer
 *
 * then `next()` to the API router. The pure pieces (isAllowedHostHeader, applyCors, bearerToken,
 * createTokenCheck, …) stay in their own modules; the WebSocket upgrade (src/ws/hub.ts) shares them.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { sendContractError } from './error-handler.js';
import { hostNotAllowed, isAllowedHostHeader } from './host-guard.js';
import { applyCors, type CorsPolicy } from './cors.js';
import { bearerToken, createTokenCheck, isTokenExempt, unauthorized } from './auth.js';
import { watchRequest } from './request-log.js';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.js';

export interface RequestGuardOptions {
  logger: Logger;
  /** The server is bound to a loopback address: the Host guard is on. */
  hostGuard: boolean;
  cors: { enabled: boolean; policy: CorsPolicy };
  /** MAESTRO_API_TOKEN; undefined → no token check. */
  token: string | undefined;
  /** MAESTRO_METRICS=true: watches each request for the HTTP metrics (it never answers). */
  watchMetrics?: (req: Request, res: Response) => void;
}

/**
 * docs/behaviour.md §0.5: bodies of other methods than POST/PUT/PATCH are ignored. Drain them as they arrive, and do not
 * close the connection right after the answer: a close that meets unread request bytes resets the connection
 * (RST), and the client loses the response it has not read yet. The client closes it (it asked to), or the
 * keep-alive timeout does.
 */
export function discardIgnoredBody(req: Request, res: Response): void {
  const method = req.method;
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') return;
  const headers = req.headers;
  if (headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0) {
    req.resume();
    res.shouldKeepAlive = true;
  }
}

/** Builds the guards middleware. */
export function createRequestGuards(options: RequestGuardOptions): RequestHandler {
  const { logger, hostGuard } = options;
  const { enabled: corsEnabled, policy } = options.cors;
  const check = options.token === undefined ? undefined : createTokenCheck(options.token);
  const watchMetrics = options.watchMetrics;

  return function requestGuards(req, res, next) {
    // First, so that every answer below (403, 401, 204, 404, 500) carries it.
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    discardIgnoredBody(req, res);
    watchRequest(logger, req, res, requestId);
    if (watchMetrics !== undefined) watchMetrics(req, res);
    if (hostGuard && !isAllowedHostHeader(req.headers.host)) {
      sendContractError(res, hostNotAllowed());
      return;
    }
    if (applyCors(corsEnabled, policy, req, res)) return;
    if (check !== undefined && !isTokenExempt(req.method, req.path) && !check(bearerToken(req.headers.authorization))) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      sendContractError(res, unauthorized());
      return;
    }
    next();
  };
}
