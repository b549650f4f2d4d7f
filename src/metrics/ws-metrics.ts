/**
 * WebSocket metrics, read from the hub's own counts at scrape time (src/ws/hub.ts keeps plain numbers; the hub
 * knows nothing of Prometheus and pays nothing per message).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the metrics read of the hub. */
export interface HubCounts {
  /** Tracked sockets. */
  readonly size: number;
  /** Clients closed as slow consumers (1008) since start. */
  readonly slowConsumerDrops: number;
}

export function registerHubMetrics(register: Registry, hub: HubCounts): void {
  new Gauge({
    name: 'maestro_ws_clients',
    help: 'WebSocket clients connected',
    registers: [register],
    collect() {
      this.set(hub.size);
    },
  });
  new Counter({
    name: 'maestro_ws_slow_consumer_drops_total',
    help: 'WebSocket clients closed with 1008 for not reading (over the unsent-data limit)',
    registers: [register],
    collect() {
      // The hub owns the count; mirror it (a counter cannot be set, only reset and increased).
      this.reset();
      this.inc(hub.slowConsumerDrops);
    },
  });
}
