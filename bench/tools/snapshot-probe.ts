/**
 * Go/no-go probe for a start-up snapshot (docs/performance.md, "Tried and not kept": the start-up snapshot).
 * Not part of the bench: it measures the pieces a "load cache written at shutdown, checked by stat at start-up"
 * would cost, each in a fresh process, in alternating rounds (the machine is shared; compare within a round).
 *
 *   npx tsx bench/tools/snapshot-probe.ts <dir> [rounds]       seed <dir>/data (full bench store) if missing,
 *                                                               build <dir>/snap.json + snap.ndjson, run rounds
 *   npx tsx bench/tools/snapshot-probe.ts <dir> --one <variant> one measurement (what the rounds run)
 *
 * Variants: stat-sync, stat-worker, stat-promises (64 in flight), read (open/read/close, the work a snapshot would
 * replace), parse-json (whole snapshot, one JSON.parse), parse-ndjson (one JSON.parse per line, 1 MB reads),
 * combo (readdir + stat on a worker while the main thread parses the NDJSON snapshot), cold (today's
 * loadDataDir), warm (combo + fingerprint check + today's migrations and link repair on the cached entities).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { seedDataDir } from '../lib/seed.js';
import { loadDataDir } from '../../src/store/load.js';
import { Layout } from '../../src/store/layout.js';
import { fileSystemIO } from '../../src/store/io.js';
import { migrateProject, migrateQueue, migrateSession, migrateTask, repairLinks } from '../../src/store/migrate.js';
import type { Session, Task } from '../../src/store/entities.js';

const FOLDERS = ['projects', 'tasks', 'sessions', 'queues', 'templates'];
const byName = (a: fs.Dirent, b: fs.Dirent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Relative paths of every entity file, in load order (folders and files in name order). */
function listFiles(dataDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const entries = fs.readdirSync(path.join(dataDir, rel), { withFileTypes: true }).sort(byName);
    for (const e of entries) {
      if (e.isDirectory()) walk(`${rel}/${e.name}`);
      else if (e.name.endsWith('.json')) out.push(`${rel}/${e.name}`);
    }
  };
  for (const f of FOLDERS) walk(f);
  return out;
}

// The worker of stat-worker and combo: readdir + stat, fingerprints handed back in one Float64Array.
const STAT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs'); const path = require('node:path');
const dataDir = workerData.dataDir; const t = performance.now(); const paths = [];
const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const walk = (rel) => { for (const e of fs.readdirSync(path.join(dataDir, rel), { withFileTypes: true }).sort(byName)) {
  if (e.isDirectory()) walk(rel + '/' + e.name); else if (e.name.endsWith('.json')) paths.push(rel + '/' + e.name); } };
for (const f of workerData.folders) walk(f);
const fp = new Float64Array(paths.length * 4);
for (let i = 0; i < paths.length; i++) { const s = fs.statSync(dataDir + '/' + paths[i]);
  fp[4 * i] = s.size; fp[4 * i + 1] = s.ino; fp[4 * i + 2] = s.ctimeMs; fp[4 * i + 3] = s.mtimeMs; }
parentPort.postMessage({ paths, fp, ms: performance.now() - t }, [fp.buffer]);`;

function statOnWorker(dataDir: string): Promise<{ paths: string[]; fp: Float64Array; ms: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(STAT_WORKER, { eval: true, workerData: { dataDir, folders: FOLDERS } });
    w.on('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.on('error', reject);
  });
}

type Entry = [rel: string, size: number, ino: number, ctimeMs: number, mtimeMs: number, entity: Record<string, unknown>];

/** Stream the NDJSON snapshot (header line, then one entry per line) through `each`. */
function readNdjson(file: string, each: (e: Entry) => void): void {
  const fd = fs.openSync(file, 'r');
  let buf = Buffer.allocUnsafe(1 << 20);
  let len = 0;
  let first = true;
  try {
    for (;;) {
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const n = fs.readSync(fd, buf, len, buf.length - len, null);
      const end = len + n;
      let start = 0;
      for (let i = buf.indexOf(10, len); i !== -1 && i < end; i = buf.indexOf(10, start)) {
        const value = JSON.parse(buf.toString('utf8', start, i)) as Entry;
        if (first) first = false;
        else each(value);
        start = i + 1;
      }
      buf.copy(buf, 0, start, end);
      len = end - start;
      if (n === 0) break;
    }
  } finally {
    fs.closeSync(fd);
  }
}

async function one(dir: string, variant: string): Promise<string> {
  const dataDir = path.join(dir, 'data');
  const t0 = performance.now();
  let detail = '';
  const fp = (s: fs.Stats, out: Float64Array, i: number) => {
    out[4 * i] = s.size;
    out[4 * i + 1] = s.ino;
    out[4 * i + 2] = s.ctimeMs;
    out[4 * i + 3] = s.mtimeMs;
  };
  if (variant === 'stat-sync' || variant === 'stat-promises' || variant === 'read') {
    const files = listFiles(dataDir).map((r) => path.join(dataDir, r));
    const t1 = performance.now();
    const out = new Float64Array(files.length * 4);
    if (variant === 'stat-sync') for (let i = 0; i < files.length; i++) fp(fs.statSync(files[i]!), out, i);
    else if (variant === 'stat-promises') {
      let next = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < files.length) {
            const i = next++;
            fp(await fs.promises.stat(files[i]!), out, i);
          }
        }),
      );
    } else {
      const buf = Buffer.allocUnsafe(1 << 16);
      for (const f of files) {
        const fd = fs.openSync(f, 'r');
        while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
        fs.closeSync(fd);
      }
    }
    detail = `${files.length} files, readdir ${Math.round(t1 - t0)} ms, ${variant} ${Math.round(performance.now() - t1)} ms`;
  } else if (variant === 'stat-worker') {
    const r = await statOnWorker(dataDir);
    detail = `${r.paths.length} files, readdir + stat on a worker ${Math.round(r.ms)} ms`;
  } else if (variant === 'parse-json') {
    const all = JSON.parse(fs.readFileSync(path.join(dir, 'snap.json'), 'utf8')) as { entries: Entry[] };
    detail = `${all.entries.length} entries`;
  } else if (variant === 'parse-ndjson') {
    const entries: Entry[] = [];
    readNdjson(path.join(dir, 'snap.ndjson'), (e) => entries.push(e));
    detail = `${entries.length} entries`;
  } else if (variant === 'combo' || variant === 'warm') {
    const stats = statOnWorker(dataDir);
    const cache = new Map<string, Entry>();
    readNdjson(path.join(dir, 'snap.ndjson'), (e) => cache.set(e[0], e));
    const parsedAt = performance.now() - t0;
    const st = await stats;
    detail = `parsed at ${Math.round(parsedAt)} ms, worker readdir + stat ${Math.round(st.ms)} ms`;
    if (variant === 'warm') {
      const ctx = { loadTime: Date.now(), hostname: 'h', platform: 'linux', warn: () => undefined };
      const tasks = new Map<string, Task>();
      const sessions = new Map<string, Session>();
      let hits = 0;
      for (let i = 0; i < st.paths.length; i++) {
        const rel = st.paths[i]!;
        const e = cache.get(rel);
        const f = st.fp;
        if (!e || e[1] !== f[4 * i] || e[2] !== f[4 * i + 1] || e[3] !== f[4 * i + 2] || e[4] !== f[4 * i + 3]) continue;
        hits++;
        const raw = e[5];
        if (rel.startsWith('tasks/')) tasks.set(raw.id as string, migrateTask(raw, ctx).entity);
        else if (rel.startsWith('sessions/')) sessions.set(raw.id as string, migrateSession(raw, ctx).entity);
        else if (rel.startsWith('projects/')) migrateProject(raw, ctx);
        else if (rel.startsWith('queues/')) migrateQueue(raw, ctx);
      }
      cache.clear();
      repairLinks(tasks, sessions);
      detail += `, ${hits}/${st.paths.length} from the snapshot, ${tasks.size + sessions.size} tasks + sessions`;
    }
  } else if (variant === 'cold') {
    const d = await loadDataDir({
      layout: new Layout(dataDir),
      io: fileSystemIO,
      logger: { warn: () => undefined, info: () => undefined },
      loadTime: Date.now(),
      hostname: 'h',
      platform: 'linux',
    });
    detail = `${d.tasks.size + d.sessions.size} tasks + sessions`;
  } else throw new Error(`unknown variant ${variant}`);
  const ms = performance.now() - t0;
  const ru = process.resourceUsage();
  (globalThis as { gc?: () => void }).gc?.();
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const mb = (k: string) => Math.round(Number(status.match(new RegExp(`${k}:\\s+(\\d+)`))![1]) / 1024);
  return `${variant}: ${Math.round(ms)} ms (${detail}); cpu ${Math.round((ru.userCPUTime + ru.systemCPUTime) / 1000)} ms; RSS after GC ${mb('VmRSS')} MB, peak ${mb('VmHWM')} MB`;
}

function build(dir: string): void {
  const dataDir = path.join(dir, 'data');
  if (!fs.existsSync(dataDir)) {
    const info = seedDataDir({ dataDir, sessionDir: path.join(dir, 'sessions'), projects: 100, tasksPerProject: 1000, sessions: 10_000, queueSessions: 150, queueItems: 150 });
    console.log(`seeded ${info.files} files in ${info.seedMs} ms`);
  }
  if (fs.existsSync(path.join(dir, 'snap.ndjson'))) return;
  const t0 = performance.now();
  const entries: Entry[] = [];
  for (const rel of listFiles(dataDir)) {
    const file = path.join(dataDir, rel);
    const s = fs.statSync(file);
    entries.push([rel, s.size, s.ino, s.ctimeMs, s.mtimeMs, JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>]);
  }
  const t1 = performance.now();
  const text = `{"version":1}\n${entries.map((e) => JSON.stringify(e)).join('\n')}\n`;
  const t2 = performance.now();
  const fd = fs.openSync(path.join(dir, 'snap.ndjson'), 'w');
  fs.writeSync(fd, text);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const t3 = performance.now();
  fs.writeFileSync(path.join(dir, 'snap.json'), JSON.stringify({ version: 1, entries }));
  console.log(
    `snapshot: ${entries.length} entries, ${(fs.statSync(path.join(dir, 'snap.ndjson')).size / 1e6).toFixed(1)} MB; ` +
      `read all files ${Math.round(t1 - t0)} ms, stringify ${Math.round(t2 - t1)} ms, write + fsync ${Math.round(t3 - t2)} ms`,
  );
}

const [dirArg, second, third] = process.argv.slice(2);
if (!dirArg) throw new Error('usage: snapshot-probe.ts <dir> [rounds] | <dir> --one <variant>');
const dir = path.resolve(dirArg);
if (second === '--one') {
  console.log(await one(dir, third!));
} else {
  build(dir);
  const self = fileURLToPath(import.meta.url);
  const variants = ['stat-sync', 'stat-worker', 'stat-promises', 'read', 'parse-json', 'parse-ndjson', 'combo', 'cold', 'warm'];
  for (let r = 0; r < Number(second ?? 3); r++) {
    console.log(`round ${r + 1} (${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
    for (const v of variants) {
      const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, dir, '--one', v], { encoding: 'utf8' });
      console.log(`  ${out.trim()}`);
    }
  }
}
