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

/** Warm-up, then the measured runs; the median-throughput run is the result. */
export async function measure(opts: LoadOptions): Promise<LoadResult> {
  if (opts.warmupSec > 0) {
    await opts.beforeRun?.();
    await once(opts, opts.warmupSec);
  }
  const runs: RunResult[] = [];
  for (let i = 0; i < opts.runs; i++) {
    await opts.beforeRun?.();
    runs.push(await once(opts, opts.durationSec));
  }
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  // Even count: the lower middle (the conservative choice for "our" rows and baselines alike).
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...median, runs };
}
