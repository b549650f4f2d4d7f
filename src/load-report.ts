/**
 * What an operator sees while the file store loads (docs/behaviour.md §5.2, §6.5): one "Loading" line, a
 * progress line at least every second while the load runs longer than that (entities loaded so far), and one
 * summary line (entities per kind, quarantined files, repaired links, milliseconds).
 */
import type { Logger } from './log.js';
import type { LoadProgress, LoadStats } from './store/load.js';

/**
 * The gap after which the next load report prints a progress line. The load reports about every 250 ms, so
 * lines come at most about a second apart.
 */
export const PROGRESS_LINE_INTERVAL_MS = 750;

export interface LoadReporter {
  /** The store's load hook. */
  progress(p: LoadProgress): void;
  /** The summary line, once the store is open. */
  done(stats: Pick<LoadStats, 'quarantined' | 'linkRepairs' | 'migrated'>): void;
}

export function startLoadReport(logger: Logger, dataDir: string): LoadReporter {
  const started = Date.now();
  let lastLine = started;
  let final: LoadProgress | undefined;
  logger.info({ dataDir }, `Loading DATA_DIR ${dataDir}`);
  return {
    progress(p) {
      const now = Date.now();
      if (p.done) final = p;
      // The end of the file reading is always shown: indexing the entities follows, before the summary.
      else if (now - lastLine < PROGRESS_LINE_INTERVAL_MS) return;
      lastLine = now;
      const loaded = total(p.counts);
      const what = p.done ? `all ${loaded} entities read, indexing` : `${loaded} entities loaded so far (${p.filesFound} files found)`;
      logger.info({ loaded, filesFound: p.filesFound, ...p.counts }, `Loading: ${what}`);
    },
    done(stats) {
      const ms = Date.now() - started;
      const counts = final?.counts ?? { projects: 0, tasks: 0, sessions: 0, templates: 0, queues: 0 };
      const perKind = Object.entries(counts)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', ');
      logger.info(
        { ms, ...counts, quarantined: stats.quarantined, repaired: stats.linkRepairs, migrated: stats.migrated },
        `Loaded ${total(counts)} entities in ${ms} ms (${perKind}; quarantined ${stats.quarantined}, repaired ${stats.linkRepairs}, migrated ${stats.migrated})`,
      );
    },
  };
}

function total(counts: LoadProgress['counts']): number {
  return counts.projects + counts.tasks + counts.sessions + counts.templates + counts.queues;
}
