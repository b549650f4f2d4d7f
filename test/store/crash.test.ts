import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../../src/store/store.js';
import { cleanupTempDirs, project, session, task, tempDir } from './helpers.js';

afterEach(cleanupTempDirs);

const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crash-child.ts');

async function baseDataDir(): Promise<string> {
  const dir = await tempDir();
  const put = async (rel: string, v: unknown) => {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), `${JSON.stringify(v, null, 2)}\n`);
  };
  await put('projects/p.json', project('p'));
  await put('tasks/p/t1.json', task('t1', 'p', { sessionIds: ['s_base'] }));
  await put('tasks/p/t2.json', task('t2', 'p', { sessionIds: ['s_base'] }));
  await put('tasks/p/t3.json', task('t3', 'p'));
  await put('sessions/s_base.json', session('s_base', 'p', { taskIds: ['t1', 't2'] }));
  return dir;
}

async function runChild(dataDir: string, crashAt: number, torn: boolean): Promise<{ acks: number; totalOps?: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dataDir, String(crashAt), torn ? '1' : '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => proc.on('close', (c, s) => r([c, s])));
  if (code !== 0 && signal !== 'SIGKILL') throw new Error(`child failed: ${code} ${signal} ${err}`);
  const done = /DONE (\d+)/.exec(out);
  return { acks: (out.match(/^ACK /gm) ?? []).length, totalOps: done ? Number(done[1]) : undefined };
}

/** What must hold after every acknowledged mutation, whatever happened to the unacknowledged one. */
function checkAcknowledged(store: Store, acks: number): void {
  if (acks >= 1 && acks < 4) expect(store.getSession('s_new')).toBeDefined();
  // Mutation 4 removes the queue before the session: a crash in between leaves the session without its queue
  // (never a queue without its session, which the load would have to quarantine).
  if (acks >= 1 && acks < 3) expect(store.getQueue('s_new')).toBeDefined();
  if (acks >= 2 && acks < 4) expect(store.getSession('s_new')!.taskIds).not.toContain('t2');
  if (acks >= 3) expect(store.getSession('s_base')).toBeUndefined();
  if (acks >= 4) expect(store.getSession('s_new')).toBeUndefined();
}

describe('crash at every file operation (docs/behaviour.md §5.4: a crash never leaves links disagreeing)', () => {
  it('after a SIGKILL at any step, the next load gives consistent links, no junk, and every acknowledged change', async () => {
    const base = await baseDataDir();
    const fresh = async () => {
      const dir = await tempDir();
      await cp(base, dir, { recursive: true });
      return dir;
    };
    // A run without a crash counts the file operations of the scenario.
    const full = await runChild(await fresh(), -1, false);
    expect(full.acks).toBe(4);
    const totalOps = full.totalOps!;
    expect(totalOps).toBeGreaterThan(10);

    const cases = [false, true].flatMap((torn) => Array.from({ length: totalOps }, (_, crashAt) => ({ crashAt, torn })));
    const check = async ({ crashAt, torn }: { crashAt: number; torn: boolean }) => {
      const dataDir = await fresh();
      const { acks, totalOps: finished } = await runChild(dataDir, crashAt, torn);
      expect(finished, `crashAt=${crashAt} must crash`).toBeUndefined();
      // The killed process left its lock behind: the next start takes it over (its pid is dead).
      const store = await Store.open({ dataDir });
      try {
        const label = `crashAt=${crashAt} torn=${torn} acks=${acks}`;
        expect(store.quarantinedCount, label).toBe(0);
        for (const s of store.listSessions()) for (const tid of s.taskIds) expect(store.getTask(tid)!.sessionIds, label).toContain(s.id);
        for (const t of store.listTasks()) for (const sid of t.sessionIds) expect(store.getSession(sid)!.taskIds, label).toContain(t.id);
        checkAcknowledged(store, acks);
        for (const folder of ['projects', 'tasks/p', 'sessions', 'queues', 'templates']) {
          expect((await readdir(join(dataDir, folder))).filter((n) => !n.endsWith('.json')), `${label} ${folder}`).toEqual([]);
        }
      } finally {
        await store.close();
      }
    };
    for (let i = 0; i < cases.length; i += 4) await Promise.all(cases.slice(i, i + 4).map(check));
  }, 120_000);
});
