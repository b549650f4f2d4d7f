/**
 * One writer per DATA_DIR (issue 6; docs/behaviour.md §5.4): a second server on the same DATA_DIR refuses to start
 * (exit 1, the message names DATA_DIR and the holder's pid) and leaves the first one and its data untouched;
 * a lock left by a SIGKILLed server is taken over by the next start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, freePort } from '../support/http.js';
import { killAllChildren, spawnChild, startChild } from '../support/server.js';
import { tempDir } from '../support/temp.js';
import { figure, snapshot } from './helpers.js';

afterAll(killAllChildren);

describe('second instance and stale lock', () => {
  it('a second server on the same DATA_DIR exits 1 naming DATA_DIR and the pid; the first keeps serving', async () => {
    const root = tempDir('maestro-reliability-');
    const dataDir = path.join(root, 'data');
    const first = await startChild({ root });
    try {
      expect((await call(first.port, 'POST', '/api/projects', { body: { name: 'kept' } })).status).toBe(201);
      const before = await snapshot(first.port);
      const lockBefore = fs.readFileSync(path.join(dataDir, '.lock'), 'utf8');
      expect(lockBefore.split('\n')[0]).toBe(String(first.pid)); // the pid is the lock's first line

      const second = await spawnChild({ root, env: { LOG_LEVEL: 'info' } });
      const { code } = await second.exited;
      expect(code).toBe(1);
      expect(second.output()).toContain(dataDir);
      expect(second.output()).toContain(`pid ${first.pid}`);
      expect(second.output()).toContain('CONFIG_ERROR');
      expect(second.output()).not.toContain('Server running');

      // The loser touched nothing: same lock, same data, the first server still answers.
      expect(fs.readFileSync(path.join(dataDir, '.lock'), 'utf8')).toBe(lockBefore);
      expect(await snapshot(first.port)).toEqual(before);
      expect((await call(first.port, 'POST', '/api/projects', { body: { name: 'still writable' } })).status).toBe(201);
    } finally {
      await first.kill('SIGTERM');
    }
    fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('a lock left by a SIGKILLed server (or naming a dead pid, or garbled) is recovered by the next start', async () => {
    const root = tempDir('maestro-reliability-');
    const dataDir = path.join(root, 'data');
    const lock = path.join(dataDir, '.lock');
    const killed = await startChild({ root });
    expect((await call(killed.port, 'POST', '/api/projects', { body: { name: 'survivor' } })).status).toBe(201);
    await killed.kill('SIGKILL');
    expect(fs.readFileSync(lock, 'utf8').split('\n')[0]).toBe(String(killed.pid)); // left behind

    let recovered = 0;
    const next = await startChild({ root });
    expect(fs.readFileSync(lock, 'utf8').split('\n')[0]).toBe(String(next.pid));
    expect(((await call(next.port, 'GET', '/api/projects')).json as Array<{ name: string }>).map((p) => p.name)).toEqual(['survivor']);
    await next.kill('SIGKILL');
    recovered++;

    for (const content of ['2147483646\n', '', 'garbage', `${killed.pid}`]) {
      fs.writeFileSync(lock, content);
      const child = await startChild({ root });
      expect(fs.readFileSync(lock, 'utf8').split('\n')[0]).toBe(String(child.pid));
      const { code } = await child.kill('SIGTERM');
      expect(code).toBe(0);
      expect(fs.existsSync(lock)).toBe(false); // released on a clean shutdown
      recovered++;
    }
    figure(`instances: second instance refused (exit 1), stale locks recovered ${recovered}/${recovered}`);
    fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);
});
