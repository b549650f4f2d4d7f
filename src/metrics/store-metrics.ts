/**
 * Store metrics: commit rounds, mutations per round and fsync latency come from the store's observer hook
 * (`StoreObserver`, src/store/api.ts: the store itself knows nothing of Prometheus); entity counts are read from
 * the store at scrape time, so nothing is kept up to date between scrapes.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { StoreObserver, StoreReader } from '../store/index.js';

export interface StoreMetrics {
  /** Pass to the store when it opens. */
  readonly observer: StoreObserver;
  /** Report the sizes of this store at every scrape. */
  watchSizes(reader: StoreReader): void;
}

const FSYNC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const ROUND_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** Entities per kind, counted from the reads every store offers (a queue belongs to one session). */
export function entityCounts(reader: StoreReader): Record<'project' | 'task' | 'session' | 'queue' | 'template', number> {
  const sessions = reader.listSessions();
  let queues = 0;
  for (const s of sessions) if (reader.getQueue(s.id) !== undefined) queues++;
  return {
    project: reader.listProjects().length,
    task: reader.listTasks().length,
    session: sessions.length,
    queue: queues,
    template: reader.listTemplates().length,
  };
}

export function createStoreMetrics(register: Registry): StoreMetrics {
  const rounds = new Counter({
    name: 'maestro_store_commit_rounds_total',
    help: 'Commit rounds written (group commit: one round makes several mutations durable), by result',
    labelNames: ['result'] as const,
    registers: [register],
  });
  const roundSize = new Histogram({
    name: 'maestro_store_round_mutations',
    help: 'Mutations made durable per commit round',
    buckets: ROUND_SIZE_BUCKETS,
    registers: [register],
  });
  const fsyncs = new Histogram({
    name: 'maestro_store_fsync_duration_seconds',
    help: 'Duration of each fsync of an entity file or folder',
    buckets: FSYNC_BUCKETS,
    registers: [register],
  });
  let reader: StoreReader | undefined;
  new Gauge({
    name: 'maestro_store_entities',
    help: 'Entities held by the store, by kind (read at scrape time)',
    labelNames: ['kind'] as const,
    registers: [register],
    collect() {
      if (reader === undefined) return;
      for (const [kind, n] of Object.entries(entityCounts(reader))) this.set({ kind }, n);
    },
  });

  return {
    observer: {
      commitRound(mutations, _seconds, ok) {
        rounds.inc({ result: ok ? 'ok' : 'failed' });
        roundSize.observe(mutations);
      },
      fsync(seconds) {
        fsyncs.observe(seconds);
      },
    },
    watchSizes(r) {
      reader = r;
    },
  };
}
