/**
 * `GET /metrics` (and HEAD): the Prometheus text format. Not an API operation (docs/decisions.md): mounted after the
 * API router and only with MAESTRO_METRICS=true, so it costs API requests nothing, sits behind the same guards
 * (host, CORS, token) as every route, and without the variable `/metrics` is the usual 404. Other methods fall
 * through to that 404 too (no 405, docs/behaviour.md §2.0.1).
 */
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';

/** `registry()` is asked at every scrape, so that metrics registered after start-up are included. */
export function createMetricsEndpoint(registry: () => Registry, onScrape?: (req: Parameters<RequestHandler>[0]) => void): RequestHandler {
  return (req, res, next) => {
    if (req.path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return;
    }
    onScrape?.(req);
    const register = registry();
    register.metrics().then((text) => {
      res.setHeader('Content-Type', register.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.end(req.method === 'HEAD' ? undefined : text);
    }, next);
  };
}
