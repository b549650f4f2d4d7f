/**
 * `npm start` runs the bundled server: its `prestart` (`node scripts/build-dist.mjs --if-stale`; `npm run build:dist`
 * always builds) bundles src/main.ts into dist/main.js when it is stale, then `node dist/main.js` serves (issue 7:
 * no TypeScript loader at run time; no flag either). This builds the
 * bundle and starts it as a real child process on a temporary DATA_DIR holding enough task files for the
 * startup load's reader thread (src/store/parallel-read.ts starts it from inline source, which must survive
 * bundling), then checks that it serves /health and a stored task, and shuts down cleanly on SIGTERM.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { npmStartArgs } from '../../bench/lib/procs.js';
import { seedDataDir } from '../../bench/lib/seed.js';
import { rawRequest } from '../support/http.js';
import { killAllChildren, REPO_ROOT as ROOT, startChild } from '../support/server.js';
import { tempDir } from '../support/temp.js';

afterEach(killAllChildren);

describe('npm start runs the bundled dist/main.js', () => {
  it('the start scripts build dist/main.js and run it with plain node', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('node dist/main.js');
    expect(npmStartArgs()).toEqual(['dist/main.js']); // what the bench spawns
    expect(pkg.scripts.prestart).toBe('node scripts/build-dist.mjs --if-stale');
    expect(pkg.scripts['build:dist']).toBe('node scripts/build-dist.mjs');
  });

  it('builds, loads a store with the reader thread, serves /health and a task, exits 0 on SIGTERM', async () => {
    await promisify(execFile)('npm', ['run', '--silent', 'build:dist'], { cwd: ROOT });
    const bundle = fs.readFileSync(path.join(ROOT, 'dist', 'main.js'), 'utf8');
    expect(bundle).not.toMatch(/from ['"]\.\.?\//); // everything of src/ and generated/ is inside the bundle

    const dir = tempDir('maestro-dist-start-');
    const dataDir = path.join(dir, 'data');
    // 2 × 1 100 task files: above the 2 000 files from which the load reads ahead on a worker thread.
    const seeded = seedDataDir({ dataDir, sessionDir: path.join(dir, 'sessions'), projects: 2, tasksPerProject: 1100, sessions: 20, queueSessions: 1, queueItems: 3 });
    const child = await startChild({ root: dir, args: npmStartArgs(), env: { LOG_FORMAT: 'json' }, readyTimeoutMs: 45_000 });
    const port = child.port;
    const health = await rawRequest(port, 'GET', '/health');
    expect(health.json).toMatchObject({ status: 'ok' });

    const task = await rawRequest(port, 'GET', `/api/tasks/${seeded.getTaskId}`);
    expect(task.status).toBe(200);
    expect(task.json).toEqual(seeded.getTask);
    const list = await rawRequest(port, 'GET', `/api/tasks?projectId=${seeded.projectIds[1]}`);
    expect(list.status).toBe(200);
    expect((list.json as unknown[]).length).toBe(1100);
    expect(fs.readdirSync(path.join(dataDir, 'quarantine'))).toEqual([]);

    expect((await child.kill('SIGTERM')).code).toBe(0);
    await child.close();
  }, 90_000);
});
