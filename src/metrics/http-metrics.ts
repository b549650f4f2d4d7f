/**
 * HTTP metrics: requests by operation, method and status, and latency by operation. The guards start watching
 * every request (src/http/guards.ts), the API router names the operation it matched (`onOperation`,
 * src/http/api-router.ts); a request no operation took (404, a guard's 401/403, OPTIONS) counts as `none`.
 */
import type { Request, Response } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { OperationObserver } from '../http/api-router.js';

/** Label for requests that matched no API operation. */
export const NO_OPERATION = 'none';

/** Where the operation id travels from the router to the watcher: a property on the request, set once. */
const OPERATION = Symbol('maestro.operationId');
type TaggedRequest = Request & { [OPERATION]?: string };

export interface HttpMetrics {
  /** Guards step: watch one request until it is answered (or the client goes away). Never answers. */
  watchRequest(req: Request, res: Response): void;
  /** API router: the request matched this operation. */
  onOperation: OperationObserver;
}

/** Latency buckets in seconds: reads answer in well under a millisecond, durable writes wait for fsyncs. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createHttpMetrics(register: Registry): HttpMetrics {
  const requests = new Counter({
    name: 'maestro_http_requests_total',
    help: 'HTTP requests answered, by API operation (none: no operation matched), method and status (0: the client left first)',
    labelNames: ['operation', 'method', 'status'] as const,
    registers: [register],
  });
  const latency = new Histogram({
    name: 'maestro_http_request_duration_seconds',
    help: 'Time from the request reaching the server to its response being handed to the OS, by API operation',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [register],
  });

  return {
    watchRequest(req, res) {
      const start = performance.now();
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        const operation = (req as TaggedRequest)[OPERATION] ?? NO_OPERATION;
        const status = res.headersSent ? res.statusCode : 0;
        requests.inc({ operation, method: req.method, status });
        latency.observe({ operation }, (performance.now() - start) / 1000);
      };
      res.once('finish', finish);
      res.once('close', finish);
    },
    onOperation(operationId, req) {
      (req as TaggedRequest)[OPERATION] = operationId;
    },
  };
}
