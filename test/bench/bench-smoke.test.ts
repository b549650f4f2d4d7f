/**
 * `npm run bench` code paths (bench/main.ts --smoke: every scenario once, tiny store, 1 s runs): the harness
 * starts the real server and both baselines in child processes, drives every scenario without errors, and
 * writes the table and the JSON. The numbers are not checked (they mean nothing at this size).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Row {
  scenario: string;
  rps?: number;
  non2xx?: number;
  note?: string;
}

describe('bench harness (smoke)', () => {
  it('runs every scenario and writes the table and the JSON', { timeout: 60_000 }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-bench-test-'));
    const out = path.join(dir, 'result.json');
    try {
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'bench/main.ts', '--smoke', '--only=validation,startup,get,list,post,patch,spawn,queue,ws', `--out=${out}`],
        { cwd: ROOT, encoding: 'utf8', timeout: 55_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain('| Scenario | req/s | p50 ms | p99 ms | non-2xx | Notes |');
      expect(run.stdout).toContain('| Target | Measured | Met |');

      const result = JSON.parse(fs.readFileSync(out, 'utf8')) as {
        rows: Row[];
        targets: { target: string; met: boolean }[];
        ws: { samples: number; expectedSamples: number; failedPatches: number; closedEarly: number; badFrames: number }[];
        startup: { readyMs: number; rssMb: number };
        validation: { runtimeCompiles: number };
      };
      const row = (prefix: string) => result.rows.find((r) => r.scenario.startsWith(prefix));
      for (const prefix of [
        'baseline: raw node:http',
        'baseline: bare Express 5',
        'baseline: raw node:http + one durable file write per request (1 folder)',
        'baseline: raw node:http + one durable file write per request (99 folders)',
        'GET /api/tasks/:id',
        'POST /api/tasks',
        'PATCH /api/tasks/:id',
        'POST /api/sessions/spawn',
        'POST …/queue/start',
      ]) {
        const r = row(prefix);
        expect(r, prefix).toBeDefined();
        expect(r!.rps, prefix).toBeGreaterThan(0);
        expect(r!.non2xx, `${prefix}: non-2xx responses`).toBe(0);
      }
      const lists = result.rows.filter((r) => r.scenario.startsWith('GET /api/tasks?projectId&status'));
      expect(lists).toHaveLength(2);
      for (const r of lists) expect(r.non2xx).toBe(0);
      expect(result.ws[0]!.samples).toBeGreaterThan(0);
      expect(result.ws[0]!.failedPatches).toBe(0);
      expect(result.ws[0]!.closedEarly).toBe(0);
      expect(result.ws[0]!.badFrames).toBe(0);
      // The durable-write baseline is what POST and PATCH are compared with.
      expect(row('POST /api/tasks')!.note).toMatch(/% of the durable-write baseline/);
      expect(result.startup.readyMs).toBeGreaterThan(0);
      expect(result.validation.runtimeCompiles).toBe(0);
      expect(result.targets.map((t) => t.target).join('\n')).toMatch(/GET by id ≥ 85 %/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
