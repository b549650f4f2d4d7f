/**
 * What this disk allows for durable writes, without HTTP (docs/performance.md: decision 10, and "What is left, and
 * why" for POST/PATCH). Not part of the bench: a study tool for the POST/PATCH target, whose HTTP numbers swing with the
 * shared disk by more than any change to the server.
 *
 *   npx tsx bench/tools/write-ceiling.ts [fsync|protocol|store|all] [rounds]
 *
 * - fsync: write a new 0.9 KB file and fsync it, 1 / 4 / 16 / 64 at a time: the raw rate of the one step the
 *   docs/behaviour.md §5.4 requires per file (step 2).
 * - protocol: the whole §5.4 protocol in group-commit rounds as the store runs them (50 closed-loop writers; a
 *   round writes every pending file — temp, fsync, rename — then fsyncs each folder once; up to 3 rounds in
 *   flight), into 1 folder (like POST) and over 99 folders (like PATCH), with two ways of issuing the calls:
 *   `store` is the store's own `writeFileAtomic`/`syncDir` (src/store/atomic-file.ts: only the fsyncs on the
 *   thread pool), `pool` makes every call a thread-pool round trip (how the store did it before decision 10).
 * - store: the real `Store` (a temp DATA_DIR with 100 projects × 100 tasks), 50 closed-loop callers of
 *   `mutate`: a new task in one project (like POST) or a changed task over 99 projects (like PATCH).
 *
 * Each line: operations per second, latency p50/p99, and process CPU (user + system, all threads) per operation.
 * Variants alternate inside a round; compare within a round, the machine is shared.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { syncDir, writeFileAtomic } from '../../src/store/atomic-file.js';
import { Store } from '../../src/store/store.js';
import { percentile } from '../../test/reliability/helpers.js';
import { project, task } from '../../test/store/helpers.js';

const WRITERS = 50;
const MEASURE_MS = 4000;
const BODY = `${JSON.stringify({ id: 'x', text: 'y'.repeat(850) }, null, 2)}\n`;

interface Result {
  ops: number;
  seconds: number;
  latencies: number[];
  cpuMs: number;
}

function report(name: string, r: Result): void {
  const at = (q: number) => percentile(r.latencies, q).toFixed(1);
  const perOp = r.ops > 0 ? ((r.cpuMs / r.ops) * 1000).toFixed(0) : '-';
  console.log(`${name.padEnd(34)} ${(r.ops / r.seconds).toFixed(0).padStart(6)} ops/s  p50 ${at(50).padStart(5)} ms  p99 ${at(99).padStart(5)} ms  CPU ${perOp} µs/op`);
}

/** Run `writers` closed loops of `op` for MEASURE_MS. */
async function closedLoop(writers: number, op: (writer: number, k: number) => Promise<void>): Promise<Result> {
  const latencies: number[] = [];
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const until = start + MEASURE_MS;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let k = 0; performance.now() < until; k++) {
        const t = performance.now();
        await op(w, k);
        latencies.push(performance.now() - t);
        ops++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { ops, seconds: (performance.now() - start) / 1000, latencies, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function fsyncRates(base: string): Promise<void> {
  for (const concurrency of [1, 4, 16, 64]) {
    const dir = fs.mkdtempSync(path.join(base, 'fsync-'));
    const r = await closedLoop(concurrency, async (w, k) => {
      // Only the fsync leaves the main thread, as in src/store/atomic-file.ts: the rate is the disk's.
      const fd = fs.openSync(path.join(dir, `${w}-${k}.tmp`), 'w');
      try {
        fs.writeSync(fd, BODY);
        await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
      } finally {
        fs.closeSync(fd);
      }
    });
    report(`write + fsync, ${concurrency} at a time`, r);
    fs.rmSync(dir, { recursive: true });
  }
}

/**
 * §5.4 with every call a thread-pool round trip (promises and a FileHandle): how src/store/atomic-file.ts did
 * it before decision 10, kept here as the comparison.
 */
async function writeViaPool(file: string, text: string, tmpSeq: number): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${tmpSeq}.tmp`);
  const handle = await fsp.open(tmp, 'wx', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, file);
}

async function syncDirViaPool(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Group-commit rounds like the store's (src/store/README.md, "Concurrency and group commit"). */
async function protocolRounds(base: string, folders: number, calls: 'pool' | 'store'): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(base, 'rounds-'));
  for (let f = 0; f < folders; f++) fs.mkdirSync(path.join(dir, `d${f}`));
  let pending: { file: string; done: () => void }[] = [];
  let inFlight = 0;
  let seq = 0;
  const startRounds = (): void => {
    while (inFlight < 3 && pending.length > 0) {
      const batch = pending;
      pending = [];
      inFlight++;
      void (async () => {
        const dirs = new Set(batch.map((b) => path.dirname(b.file)));
        await Promise.all(batch.map((b) => (calls === 'store' ? writeFileAtomic(b.file, BODY, { syncDir: false }) : writeViaPool(b.file, BODY, seq++))));
        await Promise.all([...dirs].map((d) => (calls === 'store' ? syncDir(d) : syncDirViaPool(d))));
        inFlight--;
        for (const b of batch) b.done();
        startRounds();
      })();
    }
  };
  const r = await closedLoop(WRITERS, (w, k) => {
    const file = path.join(dir, `d${(w * 7 + k) % folders}`, `t${w}-${k % 40}.json`);
    return new Promise<void>((done) => {
      pending.push({ file, done });
      queueMicrotask(startRounds);
    });
  });
  fs.rmSync(dir, { recursive: true });
  return r;
}

/** A task file of about the bench's size (~0.9 KB). */
const DESCRIPTION = 'd'.repeat(500);

async function storeRun(base: string): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(base, 'store-'));
  const store = await Store.open({ dataDir });
  await store.mutate((tx) => {
    for (let p = 0; p < 100; p++) {
      tx.putProject(project(`p${p}`));
      for (let t = 0; t < 100; t++) tx.putTask(task(`t${p}-${t}`, `p${p}`, { description: DESCRIPTION }));
    }
  });
  let created = 0;
  report('store: new task, 1 folder', await closedLoop(WRITERS, () => store.mutate((tx) => tx.putTask(task(`n${created++}`, 'p1', { description: DESCRIPTION })))));
  report(
    'store: changed task, 99 folders',
    await closedLoop(WRITERS, (w, k) =>
      store.mutate((tx) => {
        const id = `t${1 + ((w * 13 + k) % 99)}-${(w + k) % 100}`;
        tx.putTask({ ...tx.getTask(id)!, title: `changed ${k}`, updatedAt: Date.now() });
      }),
    ),
  );
  await store.close();
  fs.rmSync(dataDir, { recursive: true });
}

async function main(): Promise<void> {
  const what = process.argv[2] ?? 'all';
  const rounds = Number(process.argv[3] ?? 3);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-write-ceiling-'));
  console.log(`write-ceiling: ${what}, ${rounds} round(s), ${WRITERS} writers, ${MEASURE_MS / 1000} s each, in ${base}; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
  try {
    for (let round = 1; round <= rounds; round++) {
      console.log(`-- round ${round}`);
      if (what === 'fsync' || what === 'all') await fsyncRates(base);
      if (what === 'protocol' || what === 'all') {
        for (const folders of [1, 99]) {
          for (const calls of ['pool', 'store'] as const) report(`§5.4 rounds, ${folders} folder(s), ${calls}`, await protocolRounds(base, folders, calls));
        }
      }
      if (what === 'store' || what === 'all') await storeRun(base);
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

await main();
