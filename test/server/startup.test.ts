/**
 * Start and stop as an operator sees them, through the real bundled entry point (`node dist/main.js`) as a child
 * process (docs/behaviour.md §5.2, §5.7, §6.1, §6.4):
 * - a start error is ONE line on stderr naming the problem, exit 1; the stack trace only with LOG_LEVEL=debug;
 * - loading a large store prints a loading line, progress lines (entities so far) at least every second and a
 *   summary (entities per kind, quarantined, repaired, milliseconds);
 * - SIGTERM during the load stops cleanly: exit 0, DATA_DIR lock released, never "Server running";
 * - `--help` lists every variable with the default loadConfig really uses.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seedDataDir } from '../../bench/lib/seed.js';
import { ENV_VARIABLES, loadConfig, type EnvVariable } from '../../src/config.js';
import { formatLock, thisProcess } from '../../src/store/lock-owner.js';
import { freePort } from '../support/http.js';
import { killAllChildren, REPO_ROOT as ROOT, spawnChild, waitForOutput, type ChildServer } from '../support/server.js';
import { tempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const holders: ChildProcess[] = [];

afterEach(() => {
  killAllChildren();
  for (const c of holders.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build-dist.mjs'], { cwd: ROOT, stdio: 'inherit' });
}, 60_000);

/**
 * `node dist/main.js [args]` as an operator runs it: only PATH, HOME, the folders (a fresh temp folder) and `env`;
 * no NODE_ENV and no LOG_LEVEL unless `env` sets them (the server's own defaults). Not waited for.
 */
function run(env: Record<string, string>, args: string[] = []): Promise<ChildServer> {
  const root = tempDir('maestro-startup-');
  return spawnChild({ root, cwd: ROOT, entry: 'dist', serverArgs: args, env: { NODE_ENV: undefined, LOG_LEVEL: undefined, ...env } });
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

describe('start errors: one line naming the problem (docs/behaviour.md §6.1, §6.4)', () => {
  it.each([
    [{ PORT: 'abc' }, /CONFIG_ERROR: Invalid PORT="abc"/],
    [{ HOST: '0.0.0.0' }, /CONFIG_ERROR: HOST=0.0.0.0: binding to a non-loopback address requires MAESTRO_API_TOKEN/],
    [{ LOG_FORMAT: 'json', NODE_ENV: 'staging' }, /"msg":"CONFIG_ERROR: Invalid NODE_ENV=\\"staging\\"/],
  ])('%j → exit 1, one stderr line, no stack', async (env, expected) => {
    const r = await run(env);
    expect((await r.exited).code).toBe(1);
    expect(lines(r.stderr()), r.stderr()).toHaveLength(1);
    expect(r.stderr()).toMatch(expected);
    expect(r.stderr()).not.toMatch(/\n\s+at /);
    expect(r.stdout()).toBe('');
  });

  it('a DATA_DIR held by a live server: one line naming DATA_DIR and the pid; with LOG_LEVEL=debug the stack too', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    holders.push(holder);
    await new Promise((resolve) => holder.once('spawn', resolve));
    const dataDir = path.join(tempDir('maestro-startup-locked-'), 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, '.lock'), formatLock({ ...thisProcess(holder.pid!), instance: 'holder' }));

    const plain = await run({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    expect((await plain.exited).code).toBe(1);
    expect(lines(plain.stderr()), plain.stderr()).toHaveLength(1);
    expect(plain.stderr()).toContain(`CONFIG_ERROR: DATA_DIR ${dataDir} is locked by another Maestro server (pid ${holder.pid} on `);
    expect(plain.stdout()).not.toContain('Server running');

    const debug = await run({ DATA_DIR: dataDir, PORT: String(await freePort()), LOG_LEVEL: 'debug' });
    expect((await debug.exited).code).toBe(1);
    expect(debug.stderr()).toContain(`pid ${holder.pid}`);
    expect(debug.stderr()).toMatch(/\n\s+at /); // the stack trace, in debug only
  });

  it('a port in use: one line naming host and port', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await run({ PORT: String(port) });
      expect((await r.exited).code).toBe(1);
      expect(lines(r.stderr()), r.stderr()).toHaveLength(1);
      expect(r.stderr()).toContain(`server failed to start: Cannot listen on 127.0.0.1:${port}: address already in use`);
    } finally {
      blocker.close();
    }
  });
});

describe('--help and --version', () => {
  it('--help lists every variable with the default the configuration uses', async () => {
    const r = await run({}, ['--help']);
    expect((await r.exited).code).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(r.stdout()).toContain(`maestro-server ${pkg.version}`);
    for (const [name, v] of Object.entries(ENV_VARIABLES)) {
      expect(r.stdout()).toMatch(new RegExp(`^  ${name} +${escape(v.default ?? v.shownDefault ?? '(unset)')} `, 'm'));
      // The listed default is the one loadConfig applies: setting it explicitly changes nothing.
      if (v.default !== undefined) expect(loadConfig({ [name]: v.default }, '/w')).toEqual(loadConfig({}, '/w'));
    }
  });

  it('--version prints the package version; an unknown argument exits 2', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const v = await run({}, ['--version']);
    expect((await v.exited).code).toBe(0);
    expect(v.stdout()).toBe(`${pkg.version}\n`);
    const bad = await run({}, ['--port=1']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toContain('unknown argument "--port=1"');
  });
});

describe('loading a large store (docs/behaviour.md §5.2)', () => {
  let dataDir: string;
  let sessionDir: string;
  const TASKS = 80_000;

  beforeAll(() => {
    const dir = tempDir('maestro-startup-large-');
    dataDir = path.join(dir, 'data');
    sessionDir = path.join(dir, 'sessions');
    seedDataDir({ dataDir, sessionDir, projects: 80, tasksPerProject: TASKS / 80, sessions: 40, queueSessions: 1, queueItems: 3 });
  }, 120_000);

  it('prints a loading line, progress at least every second, and a summary; then serves', async () => {
    const r = await run({ DATA_DIR: dataDir, SESSION_DIR: sessionDir, PORT: String(await freePort()), LOG_FORMAT: 'json' });
    await waitForOutput(r, 'Server running', 60_000);
    const records = lines(r.stdout()).map((l) => JSON.parse(l) as { time: number; msg: string } & Record<string, unknown>);
    const loading = records.find((rec) => rec.msg.startsWith('Loading DATA_DIR'))!;
    const summary = records.find((rec) => rec.msg.startsWith('Loaded '))!;
    expect(loading.dataDir).toBe(dataDir);
    expect(summary).toMatchObject({ projects: 80, tasks: TASKS, sessions: 41, queues: 1, quarantined: 0, repaired: 0 });
    expect(summary.msg).toMatch(new RegExp(`^Loaded ${80 + TASKS + 41 + 1} entities in \\d+ ms \\(projects 80, tasks ${TASKS}, sessions 41, templates 0, queues 1; quarantined 0, repaired 0, migrated 0\\)$`));
    // Progress: between the loading line and the summary, no gap of more than a second without a line. This
    // holds however fast the machine loads; so does the count below. How long this load takes depends on the
    // machine: test/server/load-progress.test.ts proves the progress lines of a load of a set length.
    const progress = records.filter((rec) => rec.msg.startsWith('Loading: '));
    const marks = [loading, ...progress, summary].map((rec) => rec.time);
    const gaps = marks.slice(1).map((t, i) => t - marks[i]!);
    expect(Math.max(...gaps), `gaps between lines (ms): ${gaps.join(', ')}`).toBeLessThanOrEqual(1100);
    // A load of N seconds prints at least floor(N) - 1 progress lines; the end of the reading always has one.
    expect(progress.length, `${progress.length} progress lines in ${summary.ms as number} ms`).toBeGreaterThanOrEqual(Math.max(1, Math.floor((summary.ms as number) / 1000) - 1));
    const loaded = progress.map((rec) => rec.loaded as number);
    expect([...loaded].sort((a, b) => a - b)).toEqual(loaded);
    for (const rec of progress.slice(0, -1)) expect(rec.msg).toMatch(/^Loading: \d+ entities loaded so far \(\d+ files found\)$/);
    expect(progress.at(-1)!.msg).toBe(`Loading: all ${80 + TASKS + 41 + 1} entities read, indexing`);

    expect((await r.stop()).code).toBe(0);
    expect(fs.existsSync(path.join(dataDir, '.lock'))).toBe(false);
  }, 120_000);

  it('SIGTERM during the load: exit 0, the lock released, never listening', async () => {
    const r = await run({ DATA_DIR: dataDir, SESSION_DIR: sessionDir, PORT: String(await freePort()), LOG_FORMAT: 'json' });
    // Inside the load, the lock held: the store takes the lock, then loads at once. Signalled as soon as the lock
    // is there (not after the first progress line), so that even a machine that loads this store in well under a
    // second is stopped before it listens.
    await waitForOutput(r, /"msg":"Loading DATA_DIR /, 60_000);
    await waitFor(() => fs.existsSync(path.join(dataDir, '.lock')), 60_000, 'the DATA_DIR lock');
    expect(fs.existsSync(path.join(dataDir, '.lock'))).toBe(true);
    const t0 = Date.now();
    const exit = await r.kill('SIGTERM');
    expect(exit.code, r.output()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.stdout()).toContain('stop requested during startup');
    expect(r.stdout()).not.toContain('Server running');
    expect(fs.existsSync(path.join(dataDir, '.lock'))).toBe(false);
    // Nothing was lost or moved: the next start loads the same store.
    expect(fs.readdirSync(path.join(dataDir, 'quarantine'))).toEqual([]);
  }, 120_000);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
