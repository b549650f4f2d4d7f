/**
 * The startup load's progress lines (docs/behaviour.md §5.2) on a load whose length the test sets, so that they do
 * not depend on how fast the machine reads files (test/server/startup.test.ts sees the same lines through the
 * bundled server, on a load as long as that machine makes it). The clock is faked: `Date.now()` is what the
 * load (src/store/load.ts `onProgress`, about every LOAD_PROGRESS_INTERVAL_MS) and the report
 * (src/load-report.ts: a line at most about a second apart) both read.
 */
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { seedDataDir } from '../../bench/lib/seed.js';
import { PROGRESS_LINE_INTERVAL_MS, startLoadReport } from '../../src/load-report.js';
import type { Logger } from '../../src/log.js';
import { LOAD_PROGRESS_INTERVAL_MS, type LoadProgress } from '../../src/store/load.js';
import { Store } from '../../src/store/index.js';
import { removeTempDirs, tempDir } from '../support/temp.js';

afterEach(() => {
  vi.restoreAllMocks();
  removeTempDirs();
});

interface Line {
  at: number;
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that records each info line with the (fake) time it was written at. */
function recordingLogger(now: () => number): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = { info: (fields: Record<string, unknown>, msg: string) => void lines.push({ at: now(), msg, fields }) };
  return { logger: logger as unknown as Logger, lines };
}

const counts = (tasks: number): LoadProgress['counts'] => ({ projects: 1, tasks, sessions: 0, templates: 0, queues: 0 });

describe('the load report (src/load-report.ts)', () => {
  it('reports every 250 ms for 5 s: a progress line every 750 ms, the end of the reading, the summary', () => {
    let now = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const { logger, lines } = recordingLogger(() => now);
    const report = startLoadReport(logger, '/data');
    for (now = LOAD_PROGRESS_INTERVAL_MS; now <= 5000; now += LOAD_PROGRESS_INTERVAL_MS) report.progress({ counts: counts(now), filesFound: now + 1, done: false });
    now = 5100;
    report.progress({ counts: counts(6000), filesFound: 6001, done: true });
    now = 5300;
    report.done({ quarantined: 0, linkRepairs: 0, migrated: 0 });

    expect(lines.map((l) => [l.at, l.msg])).toEqual([
      [0, 'Loading DATA_DIR /data'],
      ...[750, 1500, 2250, 3000, 3750, 4500].map((t) => [t, `Loading: ${t + 1} entities loaded so far (${t + 1} files found)`]),
      [5100, 'Loading: all 6001 entities read, indexing'],
      [5300, 'Loaded 6001 entities in 5300 ms (projects 1, tasks 6000, sessions 0, templates 0, queues 0; quarantined 0, repaired 0, migrated 0)'],
    ]);
    expect(PROGRESS_LINE_INTERVAL_MS + LOAD_PROGRESS_INTERVAL_MS).toBeLessThanOrEqual(1000); // hence "at least every second"
  });

  it('a load of a few seconds (each clock read 10 ms later: a file takes at least 10 ms): reports on time, lines at most a second apart', async () => {
    const root = tempDir('maestro-load-progress-');
    const dataDir = path.join(root, 'data');
    // 300 task files: below the read-ahead thread's threshold, so every file is read on this thread, under the fake clock.
    seedDataDir({ dataDir, sessionDir: path.join(root, 'sessions'), projects: 2, tasksPerProject: 150, sessions: 4, queueSessions: 1, queueItems: 2 });
    const STEP = 10;
    let now = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => (now += STEP));
    const { logger, lines } = recordingLogger(() => now);
    const report = startLoadReport(logger, dataDir);
    const reports: Array<{ at: number; progress: LoadProgress }> = [];
    const started = now;
    const store = await Store.open({
      dataDir,
      onLoadProgress: (progress) => {
        reports.push({ at: now, progress });
        report.progress(progress);
      },
    });
    report.done(store.loadStats);
    const ended = now;
    vi.restoreAllMocks();
    await store.close();

    const loadMs = ended - started;
    expect(loadMs, 'the fake load lasts at least one clock step per file').toBeGreaterThan(3000);
    // The load asks the hook about every LOAD_PROGRESS_INTERVAL_MS: never later than that plus a few clock reads.
    const interim = reports.filter((r) => !r.progress.done);
    expect(reports.at(-1)!.progress.done).toBe(true);
    const reportTimes = [started, ...reports.map((r) => r.at)];
    const reportGaps = reportTimes.slice(1).map((t, i) => t - reportTimes[i]!);
    expect(Math.max(...reportGaps), `gaps between reports: ${reportGaps.join(', ')}`).toBeLessThanOrEqual(LOAD_PROGRESS_INTERVAL_MS + 5 * STEP);
    expect(interim.length).toBeGreaterThanOrEqual(Math.floor(loadMs / (LOAD_PROGRESS_INTERVAL_MS + 5 * STEP)) - 1);
    const loaded = interim.map((r) => r.progress.counts.tasks + r.progress.counts.projects);
    expect([...loaded].sort((a, b) => a - b)).toEqual(loaded);

    // The lines: the loading line, progress lines, the end of the reading, the summary, at most a second apart.
    const progressLines = lines.filter((l) => l.msg.startsWith('Loading: '));
    expect(lines[0]!.msg).toBe(`Loading DATA_DIR ${dataDir}`);
    expect(lines.at(-1)!.msg).toMatch(/^Loaded 308 entities in \d+ ms \(projects 2, tasks 300, sessions 5, templates 0, queues 1;/);
    const lineTimes = lines.map((l) => l.at);
    const lineGaps = lineTimes.slice(1).map((t, i) => t - lineTimes[i]!);
    expect(Math.max(...lineGaps), `gaps between lines: ${lineGaps.join(', ')}`).toBeLessThanOrEqual(1000);
    expect(progressLines.length).toBeGreaterThanOrEqual(Math.floor(loadMs / 1000) - 1);
    for (const l of progressLines.slice(0, -1)) expect(l.msg).toMatch(/^Loading: \d+ entities loaded so far \(\d+ files found\)$/);
    expect(progressLines.at(-1)!.msg).toBe('Loading: all 308 entities read, indexing');
  });
});
