/**
 * Reliability-specific helpers (issue 6): a seeded PRNG, percentiles, the figures log, and the API-vs-disk
 * snapshot check. Servers (in process or as child processes), HTTP calls and temp folders come from test/support.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { call } from '../support/http.js';
import { listFiles } from '../support/temp.js';

/** MAESTRO_SOAK=1 → long versions (`npm run test:soak`). */
export const SOAK = process.env.MAESTRO_SOAK === '1';

/** mulberry32: a small seeded PRNG so that every run with the same seed makes the same choices. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The path shapes an entity file may have inside DATA_DIR (docs/behaviour.md §5.1). */
export const ENTITY_FILE = /^(projects\/[^/]+\.json|tasks\/[^/]+\/[^/]+\.json|sessions\/[^/]+\.json|queues\/[^/]+\.json|templates\/[^/]+\.json)$/;

/** Percentile (0–100) of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Prints a figure line (visible in the vitest output) and appends it, dated, to
 * `$TMPDIR/maestro-reliability-figures.log` (outside the repository) so docs/reliability.md can quote a run.
 */
export function figure(line: string): void {
  // eslint-disable-next-line no-console
  console.log(line);
  try {
    fs.appendFileSync(path.join(os.tmpdir(), 'maestro-reliability-figures.log'), `${new Date().toISOString()} ${line}\n`);
  } catch {
    /* figures are informative; never fail a test on them */
  }
}

/** Everything the API serves (templates included). */
export interface Snapshot {
  projects: any[];
  tasks: any[];
  sessions: any[];
  queues: Map<string, any>;
  templates: any[];
}

export async function snapshot(port: number): Promise<Snapshot> {
  const get = async (p: string) => {
    const r = await call(port, 'GET', p);
    if (r.status !== 200) throw new Error(`GET ${p} → ${r.status} ${r.text}`);
    return r.json as any;
  };
  const [projects, tasks, sessions, templates] = await Promise.all(['/api/projects', '/api/tasks', '/api/sessions', '/api/templates'].map(get));
  const queues = new Map<string, any>();
  for (const s of sessions) {
    if (s.strategy !== 'queue') continue;
    const r = await call(port, 'GET', `/api/sessions/${s.id}/queue`);
    if (r.status === 200) queues.set(s.id, (r.json as any).queue);
  }
  return { projects, tasks, sessions, queues, templates };
}

/** Every file in DATA_DIR is an entity file in its place (or the lock), parses, and equals what the API serves. */
export function checkDisk(dataDir: string, snap: Snapshot): string[] {
  const problems: string[] = [];
  const expected = new Map<string, unknown>();
  for (const p of snap.projects) expected.set(`projects/${p.id}.json`, p);
  for (const t of snap.tasks) expected.set(`tasks/${t.projectId}/${t.id}.json`, t);
  for (const s of snap.sessions) expected.set(`sessions/${s.id}.json`, s);
  for (const [sid, q] of snap.queues) expected.set(`queues/${sid}.json`, q);
  for (const t of snap.templates) expected.set(`templates/${t.id}.json`, t);
  const seen = new Set<string>();
  for (const f of listFiles(dataDir)) {
    if (f === '.lock') continue;
    if (!ENTITY_FILE.test(f)) {
      problems.push(`unexpected file ${f} (temp file or quarantine left behind?)`);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(path.join(dataDir, f), 'utf8'));
    } catch (err) {
      problems.push(`${f} does not parse: ${(err as Error).message}`);
      continue;
    }
    seen.add(f);
    if (!expected.has(f)) problems.push(`${f} is on disk but not served by the API`);
    else if (JSON.stringify(parsed) !== JSON.stringify(expected.get(f))) problems.push(`${f} differs from the API's answer`);
  }
  for (const f of expected.keys()) if (!seen.has(f)) problems.push(`${f} is served by the API but missing on disk`);
  return problems;
}

