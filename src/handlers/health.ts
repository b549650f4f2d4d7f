/** Health handlers: E43 GET /health and E44 GET /ws-status (docs/behaviour.md §2.8, §1.12). */
import type { Handlers } from '../../generated/routes/handlers.js';
import type { Health, WsStatus } from '../../generated/types/index.js';
import { systemClock, type Clock } from '../clock.js';

export type { Health, WsStatus };

export interface HealthDeps {
  /** Read at every call: files quarantined by the last startup load (§5.5). */
  store: { readonly quarantinedCount: number };
  hub: { status(): WsStatus };
  /** Origin of `uptime` in ms since the epoch; default: the process start (docs/behaviour.md's "process uptime"). */
  startedAt?: number;
  clock?: Clock;
}

/** Returns the `getHealth` and `getWsStatus` handlers; both ignore their input. */
export function createHealthHandlers(deps: HealthDeps): Pick<Handlers, 'getHealth' | 'getWsStatus'> {
  const clock = deps.clock ?? systemClock;
  return {
    /** docs/behaviour.md §2.8 E43: never needs a token (the auth middleware exempts it). */
    async getHealth() {
      const now = clock.now();
      const uptime = deps.startedAt === undefined ? process.uptime() : Math.max(0, now - deps.startedAt) / 1000;
      return { status: 'ok', timestamp: now, uptime, storage: { quarantined: deps.store.quarantinedCount } };
    },
    /** docs/behaviour.md §2.8 E44: always the same shape, also with 0 clients. */
    async getWsStatus() {
      return deps.hub.status();
    },
  };
}
