/**
 * HTTP load with autocannon: one warm-up run (discarded), then `runs` measured runs; the run with the median
 * throughput is reported (its latency percentiles come with it, so the numbers of one row belong together).
 */
import autocannon from 'autocannon';

export interface LoadRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: Record<string, unknown>, context: Record<string, unknown>) => Record<string, unknown>;
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
}

export interface LoadOptions {
  url: string;
  connections: number;
  warmupSec: number;
  durationSec: number;
  runs: number;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  requests?: LoadRequest[];
  /** Called before every run, warm-up included (e.g. to reset per-run state of the requests). */
  beforeRun?: () => Promise<void> | void;
}

export interface RunResult {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
}

export interface LoadResult extends RunResult {
  /** Every measured run, in order (the row shows the median one). */
  runs: RunResult[];
}

function once(opts: LoadOptions, durationSec: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        // autocannon takes the path from the URL (a separate `path` option is ignored).
        url: opts.url + (opts.path ?? ''),
        connections: opts.connections,
        duration: durationSec,
        pipelining: 1,
        method: (opts.method ?? 'GET') as 'GET',
        headers: opts.headers,
        body: opts.body,
        requests: opts.requests as never,
      },
      (err: Error | null, r: autocannon.Result) => {
        if (err) return reject(err);
        resolve({
          rps: Math.round(r.requests.total / (r.duration || durationSec)),
          p50: r.latency.p50,
          p99: r.latency.p99,
          total: r.requests.total,
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
        });
      },
    );
  });
}

function medianRun(runs: RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  // Even count: the lower middle (the conservative choice for "our" rows and baselines alike).
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The median of numbers (lower middle for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Warm-up, then the measured runs; the median-throughput run is the result. */
export async function measure(opts: LoadOptions): Promise<LoadResult> {
  const [result] = await measureInterleaved([opts]);
  return result!;
}

/**
 * Several scenarios measured in rounds: every scenario warms up once, then each round runs every scenario
 * once, in order. On a shared machine the background load drifts; interleaving gives every scenario the
 * same conditions, so ratios between them (taken per round) are fair. Each result keeps its runs in round
 * order.
 */
export async function measureInterleaved(list: LoadOptions[]): Promise<LoadResult[]> {
  for (const opts of list) {
    if (opts.warmupSec > 0) {
      await opts.beforeRun?.();
      await once(opts, opts.warmupSec);
    }
  }
  const runs: RunResult[][] = list.map(() => []);
  const rounds = Math.max(...list.map((o) => o.runs));
  for (let r = 0; r < rounds; r++) {
    for (const [i, opts] of list.entries()) {
      if (r >= opts.runs) continue;
      await opts.beforeRun?.();
      runs[i]!.push(await once(opts, opts.durationSec));
    }
  }
  return list.map((_, i) => ({ ...medianRun(runs[i]!), runs: runs[i]! }));
}
