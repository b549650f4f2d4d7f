/**
 * E20 `POST /api/sessions/spawn` (docs/behaviour.md §8). The router has run §8.2 steps 1–8; this maps the request to
 * a SpawnOrder (§8.1 defaults) and hands it to the SpawnService (src/spawn/service.ts), which owns the rest of the
 * protocol, the manifest files and the rollback. No file is touched here.
 */
import type { Handlers } from '../../generated/routes/handlers.js';
import type { Store } from '../store/index.js';
import { spawnOrderFrom } from '../spawn/order.js';
import { SpawnService, type SpawnHooks, type SpawnServiceConfig, type SpawnServiceLogger } from '../spawn/service.js';
import type { HostFacts } from '../domain/new-session.js';

// Names the server and tests already import from here.
export type { SpawnHooks } from '../spawn/service.js';
export type SpawnHandlerConfig = SpawnServiceConfig;

export function createSpawnHandlers(deps: {
  store: Store;
  config: SpawnServiceConfig;
  host: HostFacts;
  logger: SpawnServiceLogger;
  hooks?: SpawnHooks;
}): Pick<Handlers, 'spawnSession'> {
  const service = new SpawnService(deps);
  return {
    /**
     * Result: session `spawning` with env, metadata and initial timeline → task links → queue (strategy `queue`)
     * → manifest → events `session:spawn` → `task:session_added` per task → `queue:created`.
     */
    async spawnSession({ body }) {
      return service.spawn(spawnOrderFrom(body));
    },
  };
}
