/**
 * The server's Prometheus metrics (MAESTRO_METRICS=true; docs/operations.md lists them). One registry per server
 * (tests run several servers in one process), plus prom-client's process metrics, collected once per process
 * because they describe the process, not a server. Everything here is wired by src/server.ts; without the
 * variable none of it exists and no request pays for it.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { RequestHandler } from 'express';
import { createHttpMetrics, type HttpMetrics } from './http-metrics.js';
import { createStoreMetrics, type StoreMetrics } from './store-metrics.js';
import { registerHubMetrics, type HubCounts } from './ws-metrics.js';
import { createMetricsEndpoint } from './endpoint.js';

export interface ServerMetrics {
  readonly http: HttpMetrics;
  readonly store: StoreMetrics;
  watchHub(hub: HubCounts): void;
  /** The `/metrics` middleware (after the API router). */
  readonly endpoint: RequestHandler;
}

let processRegistry: Registry | undefined;

/** prom-client's default metrics (CPU, memory, event loop lag, GC, handles), started on first use. */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createServerMetrics(): ServerMetrics {
  const own = new Registry();
  const http = createHttpMetrics(own);
  const store = createStoreMetrics(own);
  const perProcess = processMetrics();
  return {
    http,
    store,
    watchHub: (hub) => registerHubMetrics(own, hub),
    // a scrape is labelled `metrics`, so it does not blur the `none` (unmatched) requests
    // merged per scrape (merge copies the metric lists, not the values): both registries as they are now
    endpoint: createMetricsEndpoint(
      () => Registry.merge([perProcess, own]),
      (req) => http.onOperation('metrics', req),
    ),
  };
}
