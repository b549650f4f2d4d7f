/**
 * The server as an installed package: `npm pack` (its prepack builds dist/main.js), the tarball installed into
 * an empty project with `npm install --omit=dev`, then `npx maestro-server --version`, `--help`, and a real start
 * that answers GET /health and stops on SIGTERM. Proves that the executable needs no build and no dev
 * dependency at run time. `npm start` in the checkout builds only when the bundle is stale.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/http.js';
import { killAllChildren, REPO_ROOT as ROOT, startChild } from '../support/server.js';
import { tempDir } from '../support/temp.js';

const run = promisify(execFile);
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

afterEach(killAllChildren);

describe('the maestro-server executable from a packed tarball', () => {
  let project: string;
  let packDir: string;

  afterAll(() => {
    for (const dir of [project, packDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    packDir = tempDir('maestro-pack-');
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT, maxBuffer: 10 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed!.files.map((f) => f.path).sort();
    expect(files).toContain('dist/main.js');
    expect(files).toContain('bin/maestro-server.js');
    // the other two things a user installs the package for: the CLI and the client entry
    expect(files).toContain('bin/maestro-api.mjs');
    expect(files).toContain('dist/cli/maestro-api.js');
    expect(files).toContain('dist/client/index.js');
    expect(files).toContain('dist/client/index.d.ts');
    // the /docs and /ui files (docs/behaviour.md §14.3)
    expect(files).toContain('static/docs/index.html');
    // the web board's script, bundled from src/ui/ by prepack (scripts/build-dist.mjs)
    expect(files).toContain('dist/ui/board.js');
    expect(files).toContain('static/ui/index.html');
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);

    project = tempDir('maestro-installed-');
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'tryout', version: '1.0.0', private: true }));
    await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', path.join(packDir, packed!.filename)], {
      cwd: project,
      maxBuffer: 10 * 1024 * 1024,
    });
  }, 240_000);

  it('installs without a single dev dependency', () => {
    const installed = fs.readdirSync(path.join(project, 'node_modules'));
    expect(installed).toContain('maestro-server');
    for (const name of Object.keys(pkg.dependencies)) expect(installed).toContain(name);
    for (const dev of Object.keys(pkg.devDependencies)) expect(installed).not.toContain(dev.split('/')[0]);
  });

  it('npx maestro-server --version and --help', async () => {
    const version = await run('npx', ['--no-install', 'maestro-server', '--version'], { cwd: project });
    expect(version.stdout).toBe(`${pkg.version}\n`);
    const help = await run('npx', ['--no-install', 'maestro-server', '--help'], { cwd: project });
    expect(help.stdout).toMatch(/^ {2}PORT +3000 /m);
    expect(help.stdout).toMatch(/^ {2}DATA_DIR +~\/\.maestro\/data /m);
    expect(help.stdout).toMatch(/^ {2}MAESTRO_API_TOKEN +\(unset\) /m);
  }, 60_000);

  it('npx maestro-api --help from the installed package lists the spec\'s command groups', async () => {
    const help = await run('npx', ['--no-install', 'maestro-api', '--help'], { cwd: project });
    for (const group of ['projects', 'tasks', 'sessions']) expect(help.stdout).toMatch(new RegExp(`^ +${group}\\b`, 'm'));
  }, 60_000);

  it('starts from the installed package, answers /health, stops on SIGTERM', async () => {
    // The bin as installed, run with only PATH, HOME, PORT and the folders (no NODE_ENV, no LOG_LEVEL).
    const server = await startChild({
      cwd: project,
      command: [path.join(project, 'node_modules', '.bin', 'maestro-server')],
      env: { NODE_ENV: undefined, LOG_LEVEL: undefined },
      readyTimeoutMs: 30_000,
    });
    const port = server.port;
    const res = await rawRequest(port, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'ok' });
    const created = await rawRequest(port, 'POST', '/api/projects', { body: '{"name":"installed"}', headers: { 'Content-Type': 'application/json' } });
    expect(created.status).toBe(201);
    // /docs from the installed package: its static/ folder and swagger-ui-dist, a production dependency
    const docs = await rawRequest(port, 'GET', '/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toBe('text/html; charset=utf-8');
    const bundle = /src="(\/docs\/swagger-ui-bundle\.[0-9a-f]+\.js)"/.exec(docs.text)?.[1];
    expect(bundle).toBeDefined();
    expect((await rawRequest(port, 'GET', bundle!)).status).toBe(200);
    expect((await rawRequest(port, 'GET', '/docs/openapi.yaml')).status).toBe(200);
    expect((await rawRequest(port, 'GET', '/ui')).status).toBe(200);
    expect((await server.close()).code).toBe(0); // SIGTERM
  }, 60_000);
});

describe('bin/maestro-server.js without a bundle', () => {
  it('says what is missing and exits 1', async () => {
    const dir = tempDir('maestro-no-bundle-');
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.copyFileSync(path.join(ROOT, 'bin', 'maestro-server.js'), path.join(dir, 'bin', 'maestro-server.js'));
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    const err = (await run(process.execPath, [path.join(dir, 'bin', 'maestro-server.js'), '--version']).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(1);
    expect(err.stderr).toBe('maestro-server: dist/main.js is missing; in a checkout, run `npm run build:dist` (or `npm start`)\n');
  });
});

describe('npm start builds only a stale bundle', () => {
  it('prestart is the --if-stale build, start is plain node without flags', () => {
    expect(pkg.scripts.prestart).toBe('node scripts/build-dist.mjs --if-stale');
    expect(pkg.scripts.start).toBe('node dist/main.js');
    expect(pkg.scripts.prepack).toBe('node scripts/build-dist.mjs && node scripts/build-client.mjs');
    expect(pkg.bin['maestro-server']).toBe('bin/maestro-server.js');
  });

  it('--if-stale leaves a fresh bundle alone and rebuilds when a source is newer', async () => {
    const bundle = path.join(ROOT, 'dist', 'main.js');
    await run(process.execPath, ['scripts/build-dist.mjs'], { cwd: ROOT });
    // Date the bundle in the future: fresh whatever the sources' times; --if-stale must not touch it.
    const future = new Date(Date.now() + 3600_000);
    fs.utimesSync(bundle, future, future);
    await run(process.execPath, ['scripts/build-dist.mjs', '--if-stale'], { cwd: ROOT });
    expect(Math.abs(fs.statSync(bundle).mtimeMs - future.getTime())).toBeLessThan(1);
    // Date it in the past: older than every source, so --if-stale builds and dates it again.
    const past = new Date(Date.now() - 365 * 24 * 3600_000);
    fs.utimesSync(bundle, past, past);
    await run(process.execPath, ['scripts/build-dist.mjs', '--if-stale'], { cwd: ROOT });
    expect(fs.statSync(bundle).mtimeMs).toBeGreaterThan(past.getTime() + 1000);
  }, 60_000);
});
