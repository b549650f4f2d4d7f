/**
 * `npm run bench` — the measurements of issue 7 against same-run baselines; `npm run bench -- --quick` — the
 * ~1-minute subset CI runs (smaller stores, shorter runs; numbers are indicative only).
 *
 * Processes: this one seeds DATA_DIR, drives the load (autocannon) and the event rate, and reports. The
 * server under test (`node dist/main.js`, exactly as `npm start`: lib/procs.ts), the baselines and the
 * WebSocket clients each run in their own process, so nothing measured shares an event loop with the load
 * generator.
 *
 * Options: --quick; --smoke (every scenario once with tiny sizes: test/bench); --only=validation,codegen,startup,get,list,post,patch,spawn,queue,ws (comma list);
 * --profile (server CPU profiles into bench/results/profiles/); --keep (keep the temp folder);
 * --out=<file> (default bench/results/latest.json, or latest-quick.json with --quick).
 * Docs: docs/performance.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureInterleaved, median, type LoadOptions, type LoadResult } from './lib/load.js';
import { ROOT, httpGet, httpPost, rssOf, startBaseline, startMaestro, type Child, type MaestroEnv } from './lib/procs.js';
import { seedDataDir, type SeedInfo } from './lib/seed.js';
import { measureValidation, type ValidationResult } from './lib/validation.js';
import { measureWsLag, type WsLagResult } from './lib/ws-lag.js';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const quick = args.includes('--quick') || smoke;
const profile = args.includes('--profile');
const keep = args.includes('--keep');
const onlyArg = args.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : undefined;
const outArg = args.find((a) => a.startsWith('--out='));
const outFile = path.resolve(ROOT, outArg ? outArg.slice('--out='.length) : `bench/results/${smoke ? 'latest-smoke' : quick ? 'latest-quick' : 'latest'}.json`);
const want = (name: string) => only === undefined || only.has(name);

const P = smoke
  ? {
      // test/bench: every code path once, tiny and fast; the numbers mean nothing.
      big: { projects: 3, tasksPerProject: 60, sessions: 20 },
      small: { projects: 2, tasksPerProject: 60, sessions: 10 },
      queueSessions: 12,
      queueItems: 40,
      connections: 4,
      warmupSec: 0,
      durationSec: 1,
      runs: 1,
      startupRuns: 1,
      wsClients: [10],
      wsWarmupSec: 0.2,
      wsDurationSec: 0.5,
      validationIterations: 2000,
    }
  : quick
  ? {
      big: { projects: 20, tasksPerProject: 500, sessions: 1000 },
      small: { projects: 2, tasksPerProject: 500, sessions: 100 },
      queueSessions: 60,
      queueItems: 60,
      connections: 50,
      warmupSec: 1,
      durationSec: 2,
      runs: 2,
      startupRuns: 1,
      wsClients: [100],
      wsWarmupSec: 1,
      wsDurationSec: 3,
      validationIterations: 50_000,
    }
  : {
      big: { projects: 100, tasksPerProject: 1000, sessions: 10_000 },
      small: { projects: 10, tasksPerProject: 1000, sessions: 1000 },
      queueSessions: 150,
      queueItems: 150,
      connections: 50,
      warmupSec: 3,
      durationSec: 10,
      runs: 3,
      startupRuns: 3,
      wsClients: [100, 1000],
      wsWarmupSec: 2,
      wsDurationSec: 10,
      validationIterations: 200_000,
    };

interface Row {
  scenario: string;
  rps?: number;
  p50?: number;
  p99?: number;
  non2xx?: number;
  note?: string;
}
interface Target {
  target: string;
  measured: string;
  met: boolean;
}

const rows: Row[] = [];
const targets: Target[] = [];
const json: Record<string, unknown> = {};
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-bench-'));
const profileDir = path.join(ROOT, 'bench/results/profiles');
const serverArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];

function envFor(name: string): MaestroEnv {
  const skillsDir = path.join(tmp, 'skills');
  fs.mkdirSync(skillsDir, { recursive: true });
  return { dataDir: path.join(tmp, name, 'data'), sessionDir: path.join(tmp, name, 'sessions'), skillsDir };
}

function seed(name: string, shape: { projects: number; tasksPerProject: number; sessions: number }): { env: MaestroEnv; info: SeedInfo } {
  const env = envFor(name);
  const info = seedDataDir({
    dataDir: env.dataDir,
    sessionDir: env.sessionDir,
    ...shape,
    queueSessions: P.queueSessions,
    queueItems: P.queueItems,
  });
  log(`seeded ${name}: ${info.tasks} tasks, ${info.sessionCount} sessions, ${info.files} files in ${info.seedMs} ms`);
  return { env, info };
}

function loadRow(scenario: string, r: LoadResult, note?: string): Row {
  const row: Row = { scenario, rps: r.rps, p50: r.p50, p99: r.p99, non2xx: r.non2xx + r.errors, note };
  rows.push(row);
  log(`${scenario}: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx/errors ${r.non2xx + r.errors} (runs: ${r.runs.map((x) => x.rps).join(', ')})`);
  return row;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

async function main(): Promise<void> {
  const started = performance.now();
  const gitRev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const gitDirty = spawnSync('git', ['status', '--porcelain', '--', 'src', 'generated'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  json.meta = {
    date: new Date().toISOString(),
    mode: smoke ? 'smoke' : quick ? 'quick' : 'full',
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memGb: Math.round(os.totalmem() / 1e9),
    git: gitRev + (gitDirty ? '+dirty' : ''),
    params: P,
  };

  // 1. Validation microbenchmark (nothing else running yet).
  if (want('validation')) {
    const v: ValidationResult = measureValidation(P.validationIterations);
    json.validation = v;
    for (const c of v.cases) log(`validation ${c.name}: ${c.us} µs`);
    rows.push({ scenario: 'request validation, typical valid body', note: `${v.typicalUs} µs/request (worst case ${v.worstUs} µs: invalid body + error mapping)` });
    targets.push({ target: 'request validation ≤ 15 µs per request', measured: `${v.typicalUs} µs typical, ${v.worstUs} µs invalid body`, met: v.typicalUs <= 15 });
    targets.push({ target: 'zero schema compiles at run time', measured: `${v.runtimeCompiles} Ajv compiles`, met: v.runtimeCompiles === 0 });
  }

  // 2. Codegen: the whole generation into a scratch folder, as its own process (what a developer waits for).
  if (want('codegen')) {
    const out = path.join(tmp, 'codegen-out');
    const t0 = performance.now();
    execFileSync(process.execPath, ['--import', 'tsx', 'codegen/main.ts', '--out', out, '--quiet'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    const ms = Math.round(performance.now() - t0);
    json.codegen = { ms };
    log(`codegen: ${ms} ms`);
    rows.push({ scenario: 'codegen (tsx codegen/main.ts --out <tmp>)', note: `${ms} ms` });
    targets.push({ target: 'codegen < 10 s', measured: `${(ms / 1000).toFixed(2)} s`, met: ms < 10_000 });
  }

  const needBig = ['startup', 'get', 'list', 'post', 'patch', 'spawn', 'queue', 'ws'].some(want);
  if (!needBig) return finish(started);
  const big = seed('big', P.big);
  const bigLabel = `${big.info.tasks / 1000}k tasks`;

  // 3. Start-up time to the first served request, and memory, with the big store on disk.
  if (want('startup')) {
    const samples: { readyMs: number; firstGetMs: number; rssMb: number; peakMb: number }[] = [];
    for (let i = 0; i < P.startupRuns; i++) {
      const s = await startMaestro(big.env);
      const t0 = performance.now();
      const got = await httpGet(`${s.url}/api/tasks/${big.info.getTaskId}`);
      if (got.status !== 200) throw new Error(`GET task after start: ${got.status}`);
      const firstGetMs = s.readyMs + (performance.now() - t0);
      const mem = rssOf(s.proc.pid!) ?? { rssMb: NaN, peakMb: NaN };
      samples.push({ readyMs: Math.round(s.readyMs), firstGetMs: Math.round(firstGetMs), ...mem });
      await s.stop();
      log(`start-up run ${i + 1}: /health 200 after ${Math.round(s.readyMs)} ms, RSS ${mem.rssMb} MB (peak ${mem.peakMb} MB)`);
    }
    const med = (k: keyof (typeof samples)[number]) => [...samples.map((s) => s[k])].sort((a, b) => a - b)[Math.floor((samples.length - 1) / 2)]!;
    const st = { runs: samples, readyMs: med('readyMs'), rssMb: med('rssMb'), peakMb: med('peakMb') };
    json.startup = { tasks: big.info.tasks, sessions: big.info.sessionCount, ...st };
    rows.push({ scenario: `start-up, ${bigLabel} + ${big.info.sessionCount / 1000}k sessions`, note: `${st.readyMs} ms to first 200; RSS ${st.rssMb} MB (peak ${st.peakMb} MB)` });
    targets.push({ target: `start-up < 2 s (${bigLabel} + ${big.info.sessionCount} sessions)`, measured: `${st.readyMs} ms`, met: st.readyMs < 2000 });
    targets.push({ target: 'RSS < 300 MB after start-up', measured: `${st.rssMb} MB (peak ${st.peakMb} MB)`, met: st.rssMb < 300 });
  }

  const httpScenarios = ['get', 'list', 'post', 'patch', 'spawn', 'queue', 'ws'].some(want);
  if (httpScenarios) {
    // Every server of the HTTP scenarios runs for the whole phase (idle ones cost nothing), so that the
    // scenarios can be measured in interleaved rounds (lib/load.ts measureInterleaved).
    const small = want('list') || want('get') ? seed('small', P.small) : undefined;
    const server = await startMaestro(big.env, serverArgs);
    const smallServer = small ? await startMaestro(small.env, serverArgs) : undefined;
    const stops: (() => Promise<void>)[] = [() => server.stop()];
    if (smallServer) stops.push(() => smallServer.stop());
    try {
      const info = big.info;
      const url = server.url;
      const scenarios: { key: string; label: string; opts: LoadOptions }[] = [];
      const add = (key: string, label: string, opts: Omit<LoadOptions, 'connections' | 'warmupSec' | 'durationSec' | 'runs'>) =>
        scenarios.push({ key, label, opts: { ...opts, connections: P.connections, warmupSec: P.warmupSec, durationSec: P.durationSec, runs: P.runs } });

      // GET by id: ours against both baselines answering the same JSON (what our server answers).
      const getPath = `/api/tasks/${info.getTaskId}`;
      if (want('get')) {
        const got = await httpGet(`${url}${getPath}`);
        if (got.status !== 200) throw new Error(`GET /api/tasks/:id: ${got.status} ${got.body}`);
        const taskFile = path.join(tmp, 'task.json');
        fs.writeFileSync(taskFile, got.body);
        json.getBodyBytes = Buffer.byteLength(got.body);
        const node = await startBaseline('node', taskFile);
        stops.push(() => node.stop());
        const express = await startBaseline('express', taskFile);
        stops.push(() => express.stop());
        add('node', 'baseline: raw node:http GET /api/tasks/:id', { url: node.url, path: getPath });
        add('express', 'baseline: bare Express 5 GET /api/tasks/:id', { url: express.url, path: getPath });
        add('get', `GET /api/tasks/:id (${bigLabel})`, { url, path: getPath });
        // The same request on the small store's server: what the size of the heap (GC) costs a GET.
        if (small && smallServer) {
          add('getSmall', `GET /api/tasks/:id (${small.info.tasks / 1000}k tasks)`, { url: smallServer.url, path: `/api/tasks/${small.info.getTaskId}` });
        }
      }
      // The filtered list: same project, same result, on the big and on the small store.
      if (want('list') && small && smallServer) {
        add('listBig', `GET /api/tasks?projectId&status (${bigLabel}, ${info.listResultSize} results)`, {
          url,
          path: `/api/tasks?projectId=${info.listProjectId}&status=${info.listStatus}`,
        });
        add('listSmall', `GET /api/tasks?projectId&status (${small.info.tasks / 1000}k tasks, ${small.info.listResultSize} results)`, {
          url: smallServer.url,
          path: `/api/tasks?projectId=${small.info.listProjectId}&status=${small.info.listStatus}`,
        });
      }

      // Mutation targets: tasks outside the list project and the queue project (the list result stays fixed).
      const perProject = P.big.tasksPerProject;
      const mutable = info.taskIds.slice(perProject);
      const projectOf = (i: number) => info.projectIds[1 + Math.floor(i / perProject)]!;
      let pick = 0;
      const nextIndex = () => {
        // A stride through the pool: spread over projects, no task hit twice in a row.
        pick = (pick + 7919) % mutable.length;
        return pick;
      };
      // The disk's share of a durable mutation: raw node:http doing only docs/behaviour.md's write protocol, one
      // file per request (bench/servers/baseline.ts `durable`). Into one folder (as POST: all new tasks go to
      // project 1's folder) and spread over 99 folders (as PATCH), so each comparison has the same fsyncs.
      let durable: Child | undefined;
      // About the size of a task file (the GET body is ~0.9 KB), so that both sides write one block per file.
      const fileSizedBody = (n: number) => JSON.stringify({ n, text: 'x'.repeat(880) });
      if (want('post') || want('patch')) {
        durable = await startBaseline('durable', path.join(tmp, 'durable-writes'));
        stops.push(() => durable!.stop());
      }
      if (want('post')) {
        const body = JSON.stringify({
          projectId: info.projectIds[1],
          title: 'Benchmark task',
          description: 'Created by npm run bench: a typical task body with a few fields set.',
          priority: 'high',
          skillIds: ['maestro-worker'],
        });
        add('post', 'POST /api/tasks (durable)', { url, method: 'POST', path: '/api/tasks', headers: JSON_HEADERS, body });
        add('durableOne', 'baseline: raw node:http + one durable file write per request (1 folder)', {
          url: durable!.url,
          method: 'POST',
          path: '/write/p1',
          headers: JSON_HEADERS,
          body: fileSizedBody(0),
        });
      }
      if (want('patch')) {
        let n = 0;
        add('patch', 'PATCH /api/tasks/:id (durable)', {
          url,
          requests: [
            {
              method: 'PATCH',
              headers: JSON_HEADERS,
              setupRequest: (req) => ({
                ...req,
                path: `/api/tasks/${mutable[nextIndex()]}`,
                body: JSON.stringify({ title: `Benchmark update ${n++}`, priority: n % 2 ? 'low' : 'high' }),
              }),
            },
          ],
        });
        let m = 0;
        add('durableSpread', 'baseline: raw node:http + one durable file write per request (99 folders)', {
          url: durable!.url,
          requests: [
            {
              method: 'POST',
              headers: JSON_HEADERS,
              setupRequest: (req) => ({
                ...req,
                path: `/write/p${1 + (m % 99)}`,
                body: fileSizedBody(m++),
              }),
            },
          ],
        });
      }
      if (want('spawn')) {
        add('spawn', 'POST /api/sessions/spawn (server manifest, durable)', {
          url,
          requests: [
            {
              method: 'POST',
              path: '/api/sessions/spawn',
              headers: JSON_HEADERS,
              setupRequest: (req) => {
                const i = nextIndex();
                return { ...req, body: JSON.stringify({ projectId: projectOf(i), taskIds: [mutable[i]], role: 'worker', spawnSource: 'ui', skills: ['maestro-worker'] }) };
              },
            },
          ],
        });
      }
      if (want('queue')) {
        // Each start+complete pair takes a queue from the pool and gives it back once complete has answered,
        // so no two connections ever work on the same queue (that would be "Already processing").
        let free: string[] = [];
        add('queue', 'POST …/queue/start + …/queue/complete (durable; req/s counts both)', {
          url,
          // A run that ends between start and complete leaves that queue processing: complete it first.
          beforeRun: async () => {
            await Promise.all(info.queueSessionIds.map((sid) => httpPost(`${url}/api/sessions/${sid}/queue/complete`)));
            free = [...info.queueSessionIds];
          },
          requests: [
            {
              method: 'POST',
              headers: JSON_HEADERS,
              setupRequest: (req, ctx) => {
                ctx.sid = free.shift();
                return { ...req, path: `/api/sessions/${String(ctx.sid)}/queue/start`, body: '{}' };
              },
            },
            {
              method: 'POST',
              headers: JSON_HEADERS,
              setupRequest: (req, ctx) => ({ ...req, path: `/api/sessions/${String(ctx.sid)}/queue/complete`, body: '{}' }),
              onResponse: (_status, _body, ctx) => {
                free.push(ctx.sid as string);
              },
            },
          ],
        });
      }

      if (scenarios.length > 0) {
        log(`HTTP: ${scenarios.length} scenarios × ${P.runs} interleaved rounds of ${P.durationSec} s (warm-up ${P.warmupSec} s each)`);
        const results = await measureInterleaved(scenarios.map((x) => x.opts));
        const by = new Map(scenarios.map((x, i) => [x.key, { ...x, r: results[i]! }]));
        /** Median over rounds of a/b throughput, in % (both measured in the same round). */
        const roundRatio = (a: string, b: string) => {
          const ra = by.get(a)!.r.runs;
          const rb = by.get(b)!.r.runs;
          return Math.round(median(ra.map((x, i) => x.rps / rb[i]!.rps)) * 1000) / 10;
        };
        for (const x of by.values()) {
          let note: string | undefined;
          if (x.key === 'get' && by.has('express')) note = `${roundRatio('get', 'express')} % of Express, ${roundRatio('get', 'node')} % of node:http (median of per-round ratios)`;
          if (x.key === 'getSmall' && by.has('express')) note = `${roundRatio('getSmall', 'express')} % of Express`;
          if ((x.key === 'post' || x.key === 'patch') && by.has('get')) {
            const disk = x.key === 'post' ? 'durableOne' : 'durableSpread';
            note = `${roundRatio(x.key, 'get')} % of GET by id; ${roundRatio(x.key, disk)} % of the durable-write baseline`;
          }
          if (x.key === 'listBig' && by.has('listSmall')) note = `${roundRatio('listBig', 'listSmall')} % of the small store`;
          loadRow(x.label, x.r, note);
          json[x.key] = x.r;
        }
        if (by.has('get') && by.has('express')) {
          const ratio = roundRatio('get', 'express');
          targets.push({ target: 'GET by id ≥ 85 % of bare Express', measured: `${ratio} % (${by.get('get')!.r.rps} vs ${by.get('express')!.r.rps} req/s)`, met: ratio >= 85 });
        }
        if (by.has('get')) {
          for (const key of ['post', 'patch']) {
            const x = by.get(key);
            if (!x) continue;
            const ratio = roundRatio(key, 'get');
            // The ceiling this disk allows: a server doing nothing but docs/behaviour.md's write protocol, as % of our GET.
            const disk = key === 'post' ? 'durableOne' : 'durableSpread';
            const ceiling = by.has(disk) ? `; the durable-write baseline alone: ${roundRatio(disk, 'get')} % of GET` : '';
            targets.push({
              target: `${key.toUpperCase()} ≥ 50 % of GET throughput at ${P.connections} connections, p99 < 30 ms`,
              measured: `${ratio} %, p99 ${x.r.p99} ms${ceiling}`,
              met: ratio >= 50 && x.r.p99 < 30 && x.r.non2xx + x.r.errors === 0,
            });
          }
        }
        if (by.has('listBig') && by.has('listSmall') && small) {
          const ratio = roundRatio('listBig', 'listSmall');
          targets.push({
            target: `filtered list: same throughput at ${small.info.tasks / 1000}k and ${bigLabel} (within 20 %)`,
            measured: `${bigLabel}: ${ratio} % of ${small.info.tasks / 1000}k (${by.get('listBig')!.r.rps} vs ${by.get('listSmall')!.r.rps} req/s)`,
            met: ratio >= 80 && ratio <= 120,
          });
        }
      }

      // WebSocket broadcast lag (events produced by PATCHes at 100/s from this process).
      if (want('ws')) {
        const wsResults: WsLagResult[] = [];
        for (const clients of P.wsClients) {
          const r = await measureWsLag({
            port: server.port,
            clients,
            eventsPerSec: 100,
            warmupSec: P.wsWarmupSec,
            durationSec: P.wsDurationSec,
            taskIds: mutable.slice(0, 1000),
          });
          wsResults.push(r);
          log(
            `ws ${clients} clients: p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms, ${r.samples}/${r.expectedSamples} frames, ` +
              `${r.failedPatches} failed PATCHes${r.failures.length ? ` (${r.failures.join(', ')})` : ''}, ${r.closedEarly} clients dropped, ${r.badFrames} bad frames`,
          );
          rows.push({
            scenario: `WS broadcast lag, ${clients} clients, 100 events/s`,
            p50: r.p50,
            p99: r.p99,
            note: `max ${r.max} ms; ${r.samples}/${r.expectedSamples} frames received in the window`,
          });
          const limit = clients <= 100 ? 10 : 50;
          targets.push({
            target: `WS p99 lag < ${limit} ms at ${clients} clients`,
            measured: `p99 ${r.p99} ms (p50 ${r.p50} ms)`,
            met: r.p99 < limit && r.samples >= r.expectedSamples && r.closedEarly === 0 && r.badFrames === 0,
          });
        }
        json.ws = wsResults;
      }
      json.serverAfterLoad = rssOf(server.proc.pid!);
    } finally {
      for (const stop of stops) await stop();
    }
  }
  finish(started);
}

function finish(started: number): void {
  const totalSec = Math.round((performance.now() - started) / 100) / 10;
  json.rows = rows;
  json.targets = targets;
  json.totalSec = totalSec;
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(json, null, 2)}\n`);

  const meta = json.meta as { mode: string; node: string; cpus: number; cpuModel?: string; git: string };
  const fmt = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '' : String(n));
  const lines = [
    `Maestro bench (${meta.mode}) — node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel ?? '?'}), git ${meta.git}, ${P.connections} connections`,
    '',
    '| Scenario | req/s | p50 ms | p99 ms | non-2xx | Notes |',
    '|---|---:|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.scenario} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.non2xx)} | ${r.note ?? ''} |`),
    '',
    '| Target | Measured | Met |',
    '|---|---|---|',
    ...targets.map((t) => `| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`),
    '',
    `${quick ? 'Quick mode: small stores and short runs, numbers are indicative. ' : ''}Total ${totalSec} s. Results: ${path.relative(ROOT, outFile)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
  else log(`kept ${tmp}`);
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(1);
});
