/**
 * The DATA_DIR lock in a container (docs/behaviour.md §5.4, API 1.2: a reused pid is stale). The bundled server
 * (`node dist/main.js`) runs as PID 1 of its own PID namespace (`unshare --fork --pid --mount-proc`), is
 * SIGKILLed, and is started again the same way on the same DATA_DIR: the lock it left names pid 1, which is now
 * the new server's own pid, and the new server starts and serves every acknowledged write. A second server
 * started inside the same namespace while PID 1 runs (as `docker exec` would) is refused, and so is one started
 * on the host.
 * No skipping: without a working unshare the test fails and says why.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseLock } from '../../src/store/lock-owner.js';
import { freePort, rawRequest } from '../support/http.js';
import { tempDir } from './helpers.js';
import { assertUnshareWorks, spawnAsPid1, type Pid1Process } from './pid1.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

beforeAll(() => {
  assertUnshareWorks();
  execFileSync(process.execPath, ['scripts/build-dist.mjs'], { cwd: ROOT, stdio: 'inherit' });
}, 60_000);

function startPid1(env: NodeJS.ProcessEnv): Pid1Process {
  const p = spawnAsPid1([process.execPath, path.join(ROOT, 'dist/main.js')], { cwd: ROOT, env });
  cleanups.push(() => {
    // Killing PID 1 ends its whole namespace; unshare then exits by itself.
    void p.hostPid().then((pid) => process.kill(pid, 'SIGKILL')).catch(() => undefined);
  });
  return p;
}

async function waitHealthy(port: number, p: { exited: Promise<unknown>; output: () => string }): Promise<void> {
  let gone = false;
  void p.exited.then(() => (gone = true));
  const end = Date.now() + 30_000;
  for (;;) {
    if (gone) throw new Error(`the server exited before it answered /health:\n${p.output()}`);
    if (Date.now() > end) throw new Error(`no 200 from /health:\n${p.output()}`);
    const res = await rawRequest(port, 'GET', '/health').catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the lock with the server as PID 1 in a fresh PID namespace (docs/behaviour.md §5.4)', () => {
  it('SIGKILL, then the same start again: it starts and keeps the writes; a live PID 1 is still refused', async () => {
    const dir = tempDir('maestro-pid1-');
    const dataDir = path.join(dir, 'data');
    const lockPath = path.join(dataDir, '.lock');
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      PORT: String(port),
      DATA_DIR: dataDir,
      SESSION_DIR: path.join(dir, 'sessions'),
      SKILLS_DIR: path.join(dir, 'skills'),
      LOG_FORMAT: 'json',
    };

    // 1. First life: PID 1, one acknowledged write, then SIGKILL (a container crash).
    const first = startPid1(env);
    await waitHealthy(port, first);
    const created = await rawRequest(port, 'POST', '/api/projects', { body: JSON.stringify({ name: 'survives' }), headers: { 'Content-Type': 'application/json' } });
    expect(created.status).toBe(201);
    const firstOwner = parseLock(fs.readFileSync(lockPath, 'utf8'));
    expect(firstOwner?.pid).toBe(1);
    process.kill(await first.hostPid(), 'SIGKILL');
    expect((await first.exited).code).not.toBe(0);
    expect(parseLock(fs.readFileSync(lockPath, 'utf8'))).toEqual(firstOwner); // left behind, naming pid 1

    // 2. Second life, started the same way: pid 1 again, and it starts.
    const second = startPid1(env);
    await waitHealthy(port, second);
    const projects = await rawRequest(port, 'GET', '/api/projects');
    expect((projects.json as Array<{ id: string; name: string }>).map((p) => p.name)).toEqual(['survives']);
    const secondOwner = parseLock(fs.readFileSync(lockPath, 'utf8'));
    expect(secondOwner?.pid).toBe(1);
    expect(secondOwner?.instance).not.toBe(firstOwner?.instance);
    expect(secondOwner?.startTime).not.toBe(firstOwner?.startTime);
    // The old namespace is gone; the kernel may give the new one the same id (then pid 1 is our own) or not.
    expect(second.output()).toMatch(
      /Took over a stale DATA_DIR lock: (its pid 1 is now this process's own pid|no process with pid 1 and its start time is left in its PID namespace)/,
    );

    // 3. A second server inside the same namespace while PID 1 runs (`docker exec`): refused, lock untouched.
    const secondHostPid = await second.hostPid();
    const lockText = fs.readFileSync(lockPath, 'utf8');
    const intruder: ChildProcess = spawn(
      'nsenter',
      ['--target', String(secondHostPid), '--pid', '--mount', process.execPath, path.join(ROOT, 'dist/main.js')],
      { cwd: ROOT, env: { ...env, PORT: String(await freePort()) }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => intruder.kill('SIGKILL'));
    let intruderOut = '';
    intruder.stdout!.on('data', (c: Buffer) => (intruderOut += c.toString()));
    intruder.stderr!.on('data', (c: Buffer) => (intruderOut += c.toString()));
    const intruderCode = await new Promise<number | null>((resolve) => intruder.once('exit', (code) => resolve(code)));
    expect(intruderCode, intruderOut).toBe(1);
    expect(intruderOut).toContain('CONFIG_ERROR');
    expect(intruderOut).toContain(dataDir);
    expect(intruderOut).toContain('pid 1 ');
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(lockText);
    expect((await rawRequest(port, 'GET', '/health')).status).toBe(200);

    // 3b. A server on the host (outside the namespace) while PID 1 runs: pid 1 means the host's init here, so
    // the lock's PID namespace decides: the holder is found inside it and the host server is refused.
    const hostServer = spawn(process.execPath, [path.join(ROOT, 'dist/main.js')], {
      cwd: ROOT,
      env: { ...env, PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => hostServer.kill('SIGKILL'));
    let hostOut = '';
    hostServer.stdout!.on('data', (c: Buffer) => (hostOut += c.toString()));
    hostServer.stderr!.on('data', (c: Buffer) => (hostOut += c.toString()));
    expect(await new Promise<number | null>((resolve) => hostServer.once('exit', (code) => resolve(code))), hostOut).toBe(1);
    expect(hostOut).toContain(`${dataDir} is locked by another Maestro server (pid 1 `);
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(lockText);

    // 4. PID 1 handles SIGTERM (docs/behaviour.md §5.7): clean exit, lock released.
    process.kill(secondHostPid, 'SIGTERM');
    const stopped = await second.exited;
    expect(stopped.code, second.output()).toBe(0);
    expect(fs.existsSync(lockPath)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 90_000);
});
