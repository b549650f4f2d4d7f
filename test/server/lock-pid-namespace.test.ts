/**
 * The DATA_DIR lock in a container (docs/behaviour.md §5.4, API 1.2: a reused pid is stale). The bundled server
 * (`node dist/main.js`) runs as PID 1 of its own PID namespace (`unshare --fork --pid --mount-proc`), is
 * SIGKILLed, and is started again the same way on the same DATA_DIR: the lock it left names pid 1, which is now
 * the new server's own pid, and the new server starts and serves every acknowledged write. A second server
 * started inside the same namespace while PID 1 runs (as `docker exec` would) is refused, and so is one started
 * on the host.
 * No skipping: without a working unshare the test fails and says why.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseLock } from '../../src/store/lock-owner.js';
import { freePort, rawRequest } from '../support/http.js';
import { killAllChildren, REPO_ROOT as ROOT, spawnChild, startChild, type ChildOptions } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/temp.js';
import { assertUnshareWorks, PID1 } from './pid1.js';

afterEach(() => {
  // Kills PID 1 of a namespace too (which ends the namespace; unshare then exits by itself).
  killAllChildren();
  removeTempDirs();
});

beforeAll(() => {
  assertUnshareWorks();
  execFileSync(process.execPath, ['scripts/build-dist.mjs'], { cwd: ROOT, stdio: 'inherit' });
}, 60_000);

describe('the lock with the server as PID 1 in a fresh PID namespace (docs/behaviour.md §5.4)', () => {
  it('SIGKILL, then the same start again: it starts and keeps the writes; a live PID 1 is still refused', async () => {
    const dir = tempDir('maestro-pid1-');
    const dataDir = path.join(dir, 'data');
    const lockPath = path.join(dataDir, '.lock');
    const port = await freePort();
    // `node dist/main.js` with only PATH, HOME, PORT, the folders and LOG_FORMAT (no NODE_ENV, no LOG_LEVEL).
    const asPid1: ChildOptions = { root: dir, port, entry: 'dist', wrap: PID1, env: { LOG_FORMAT: 'json', NODE_ENV: undefined, LOG_LEVEL: undefined }, readyTimeoutMs: 30_000 };

    // 1. First life: PID 1, one acknowledged write, then SIGKILL (a container crash).
    const first = await startChild(asPid1);
    const created = await rawRequest(port, 'POST', '/api/projects', { body: JSON.stringify({ name: 'survives' }), headers: { 'Content-Type': 'application/json' } });
    expect(created.status).toBe(201);
    const firstOwner = parseLock(fs.readFileSync(lockPath, 'utf8'));
    expect(firstOwner?.pid).toBe(1);
    await first.kill('SIGKILL'); // to the server, PID 1 of the namespace (by its host pid)
    expect((await first.exited).code).not.toBe(0);
    expect(parseLock(fs.readFileSync(lockPath, 'utf8'))).toEqual(firstOwner); // left behind, naming pid 1

    // 2. Second life, started the same way: pid 1 again, and it starts.
    const second = await startChild(asPid1);
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
    const secondHostPid = await second.serverPid();
    const lockText = fs.readFileSync(lockPath, 'utf8');
    const intruder = await spawnChild({
      ...asPid1,
      port: await freePort(),
      wrap: ['nsenter', '--target', String(secondHostPid), '--pid', '--mount'],
    });
    const intruderCode = (await intruder.exited).code;
    const intruderOut = intruder.output();
    expect(intruderCode, intruderOut).toBe(1);
    expect(intruderOut).toContain('CONFIG_ERROR');
    expect(intruderOut).toContain(dataDir);
    expect(intruderOut).toContain('pid 1 ');
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(lockText);
    expect((await rawRequest(port, 'GET', '/health')).status).toBe(200);

    // 3b. A server on the host (outside the namespace) while PID 1 runs: pid 1 means the host's init here, so
    // the lock's PID namespace decides: the holder is found inside it and the host server is refused.
    const hostServer = await spawnChild({ ...asPid1, port: await freePort(), wrap: undefined });
    const hostCode = (await hostServer.exited).code;
    const hostOut = hostServer.output();
    expect(hostCode, hostOut).toBe(1);
    expect(hostOut).toContain(`${dataDir} is locked by another Maestro server (pid 1 `);
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(lockText);

    // 4. PID 1 handles SIGTERM (docs/behaviour.md §5.7): clean exit, lock released.
    const stopped = await second.stop(); // SIGTERM to the server, PID 1 of its namespace (by its host pid)
    expect(stopped.code, second.output()).toBe(0);
    expect(fs.existsSync(lockPath)).toBe(false);
  }, 90_000);
});
