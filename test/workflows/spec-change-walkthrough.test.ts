/**
 * CONTRIBUTING.md's "A spec-first change, step by step", done for real on a temporary copy of the repository:
 *
 * 1. copy the git-tracked files (working-tree content; `node_modules` is a symlink), `git init` + commit;
 * 2. build and start the copy's server as `npm start` does (`npm run build:dist`, then `node … dist/main.js` on a
 *    free port and temp DATA_DIR/SESSION_DIR/SKILLS_DIR), create a project "old", stop it with SIGTERM;
 * 3. apply the example change (`color` on projects) from the blocks of CONTRIBUTING.md marked
 *    `<!-- walkthrough: … -->`, so that the document and this test cannot drift apart;
 * 4. `npm run lint:spec`, `npm run codegen`, `npm run spec:diff -- main` (its output must be the sample printed in
 *    CONTRIBUTING.md), `npm run build` — and `src/` must be byte-identical before and after: a plain field needs
 *    no handwritten code;
 * 5. start the server again on the same DATA_DIR: a WebSocket client sees `project:created`/`project:updated` with
 *    the colour, the default applies on create and to the project stored before the change, a bad colour is a
 *    400 VALIDATION_ERROR in docs/behaviour.md's error format;
 * 6. restart (SIGTERM, start) and read every colour back;
 * 7. CONTRIBUTING's last step as written (changelog, `git add` of the listed paths — which must be everything
 *    that changed — and commit); then remove `description` from the project entity: `npm run spec:diff -- HEAD`
 *    prints a BREAKING line for it and exits 1.
 *
 * Real child processes and ports; every wait is for a condition (a log line, an answer, an event), never a sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import YAML from 'yaml';
import { rawRequest, type RawResponse } from '../support/http.js';
import { killAllChildren, startChild, waitForOutput, type ChildServer } from '../support/server.js';
import { EventLog } from '../support/ws.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
// The walk-through takes 35–55 s on a 2-core machine (most of it `npm run build`, i.e. tsc over the whole
// project, next to spec:diff); the timeout leaves room for a busy CI runner.
const TIMEOUT_MS = 150_000;
const COMMAND_TIMEOUT_MS = 90_000;
const SERVER_START_TIMEOUT_MS = 30_000;

const cleanups: Array<() => Promise<void> | void> = [];

afterAll(async () => {
  // Children first (a failed step can leave a server or a tool running), then the rest in reverse order.
  killAllChildren();
  await Promise.all(
    [...running].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          killTree(c);
        }),
    ),
  );
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // keep cleaning up
    }
  }
}, 60_000);

// ---------------------------------------------------------------------------------------------------------------
// Child processes

interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();

/** Commands run in their own process group (`npm run` starts a shell and node below it): kill the whole group. */
function killTree(c: ChildProcess): void {
  try {
    if (c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
  } catch {
    c.kill('SIGKILL'); // not a group leader (the server) or already gone
  }
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
  // vitest's own settings must not leak into the copy's tools.
  delete env.VITEST;
  delete env.VITEST_WORKER_ID;
  delete env.VITEST_POOL_ID;
  delete env.NODE_OPTIONS;
  // a test run from a git hook must not point the copy's git at this repository
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR']) delete env[k];
  return env;
}

/** A committer for the copy's git (and no signing or hooks from the user's configuration). */
const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'walkthrough',
  GIT_AUTHOR_EMAIL: 'walkthrough@example.invalid',
  GIT_COMMITTER_NAME: 'walkthrough',
  GIT_COMMITTER_EMAIL: 'walkthrough@example.invalid',
  GIT_CONFIG_COUNT: '2',
  GIT_CONFIG_KEY_0: 'commit.gpgsign',
  GIT_CONFIG_VALUE_0: 'false',
  GIT_CONFIG_KEY_1: 'core.hooksPath',
  GIT_CONFIG_VALUE_1: '/dev/null',
};

/** Runs a command to its end (killed after COMMAND_TIMEOUT_MS) and collects its output. */
function run(cwd: string, command: string, args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { cwd, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => killTree(proc), COMMAND_TIMEOUT_MS);
    proc.once('error', (err) => {
      clearTimeout(timer);
      running.delete(proc);
      reject(err);
    });
    proc.once('close', (code) => {
      clearTimeout(timer);
      running.delete(proc);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `npm run <script> [-- args]` in the copy; the result with npm's own header lines left out (`--silent`). */
function npmRun(cwd: string, script: string, ...args: string[]): Promise<CommandResult> {
  return run(cwd, 'npm', ['run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])]);
}

async function mustSucceed(what: string, result: Promise<CommandResult>): Promise<CommandResult> {
  const r = await result;
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await mustSucceed(`git ${args.join(' ')}`, run(cwd, 'git', args, GIT_IDENTITY))).stdout;
}

/** Waits for both; throws the first failure (in argument order) once both have ended. */
async function both(a: Promise<unknown>, b: Promise<unknown>): Promise<void> {
  const results = await Promise.allSettled([a, b]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

// ---------------------------------------------------------------------------------------------------------------
// The server of the copy, started the way `npm start` does

/** `npm run build:dist`, then the copy's `scripts.start` (`node --expose-gc dist/main.js`) on a free port, on `root`'s folders. */
async function startServer(copy: string, root: string): Promise<ChildServer> {
  await mustSucceed('npm run build:dist', npmRun(copy, 'build:dist'));
  const pkg = JSON.parse(fs.readFileSync(path.join(copy, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words = pkg.scripts.start!.trim().split(/\s+/);
  expect(words[0], 'package.json "start" runs node').toBe('node');
  // NODE_ENV and LOG_LEVEL as a plain `npm start` has them (development, info: the "Server running" line).
  const server = await startChild({
    cwd: copy,
    root,
    args: words.slice(1),
    env: { LOG_FORMAT: 'json', LOG_LEVEL: 'info', NODE_ENV: 'development' },
    readyTimeoutMs: SERVER_START_TIMEOUT_MS,
  });
  const details = () => `server output:\n${server.output()}`;
  await waitForOutput(server, `Server running at http://127.0.0.1:${server.port}`, SERVER_START_TIMEOUT_MS);
  const health = await rawRequest(server.port, 'GET', '/health');
  expect(health.status, details()).toBe(200);
  expect(health.json).toMatchObject({ status: 'ok', storage: { quarantined: 0 } });
  return server;
}

async function stopServer(server: ChildServer): Promise<void> {
  expect((await server.stop()).code, `exit code after SIGTERM; server output:\n${server.output()}`).toBe(0);
}

/** Starts the copy's server, runs `fn`, stops it with SIGTERM (exit 0 required); a failure of `fn` wins. */
async function withServer<T>(copy: string, root: string, fn: (server: ChildServer) => Promise<T>): Promise<T> {
  const server = await startServer(copy, root);
  let result: T;
  try {
    result = await fn(server);
  } catch (err) {
    await server.stop();
    throw err;
  }
  await stopServer(server);
  return result;
}

function send(port: number, method: string, urlPath: string, body?: unknown): Promise<RawResponse> {
  return rawRequest(port, method, urlPath, body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

async function connectWs(port: number): Promise<EventLog & { ws: WebSocket }> {
  const log = await EventLog.open(port);
  cleanups.push(() => log.ws.terminate());
  return log;
}

// ---------------------------------------------------------------------------------------------------------------
// The copy and the edits

/** The git-tracked files as they are in the working tree, copied to `dest`; node_modules as a symlink. */
async function copyRepository(dest: string): Promise<number> {
  const listed = (await run(ROOT, 'git', ['ls-files', '-z'])).stdout.split('\0').filter((f) => f !== '');
  let copied = 0;
  for (const rel of listed) {
    if (rel === 'node_modules' || rel.startsWith('node_modules/')) continue; // linked below
    const from = path.join(ROOT, rel);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(from);
    } catch {
      continue; // tracked but deleted in the working tree
    }
    const to = path.join(dest, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (stat.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else if (stat.isFile()) fs.copyFileSync(from, to);
    else continue; // a submodule (a directory): not part of the build
    copied++;
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dest, 'node_modules'), 'dir');
  return copied;
}

/** A hash over every file under `dir` (relative paths and contents). */
function hashTree(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        hash.update(`${path.relative(dir, p)}\0`);
        hash.update(fs.readFileSync(p));
        hash.update('\0');
      }
    }
  };
  walk(dir);
  return hash.digest('hex');
}

/**
 * The blocks of CONTRIBUTING.md marked for this test: one or more lines `<!-- walkthrough: <target> <words…> -->`
 * directly followed by a fenced code block; each marker gets that block.
 */
interface Marked {
  target: string;
  words: string[];
  lang: string;
  text: string;
}

function markedBlocks(markdown: string): Marked[] {
  const lines = markdown.split('\n');
  const out: Marked[] = [];
  let pending: Array<{ target: string; words: string[] }> = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!--\s*walkthrough:\s*(.*?)\s*-->\s*$/.exec(lines[i]!);
    if (marker) {
      const [target, ...words] = marker[1]!.split(/\s+/);
      pending.push({ target: target!, words });
      continue;
    }
    const fence = /^```(\w*)\s*$/.exec(lines[i]!);
    if (fence && pending.length > 0) {
      const body: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
      for (const p of pending) out.push({ ...p, lang: fence[1]!, text: body.join('\n') });
    } else if (pending.length > 0) {
      throw new Error(`CONTRIBUTING.md: a walkthrough marker must be followed directly by a fenced block (line ${i + 1})`);
    }
    pending = [];
  }
  return out;
}

type Json = Record<string, unknown>;

const readJson = (file: string): Json => JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
const writeJson = (file: string, value: unknown): void => fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

/**
 * A JSON schema edit from CONTRIBUTING.md: the block holds object members (`"color": {…}`); they are added to
 * the object at `words[0]` (`properties`) and their names appended to each further array key (`required`,
 * `x-validation-order`), which the file must have.
 */
function applySchemaEdit(copy: string, edit: Marked): string[] {
  expect(edit.lang, `${edit.target}: a json block`).toBe('json');
  const members = JSON.parse(`{${edit.text}}`) as Json;
  const [objectKey, ...arrayKeys] = edit.words;
  const file = path.join(copy, edit.target);
  const schema = readJson(file);
  const target = schema[objectKey!] as Json | undefined;
  expect(target, `${edit.target} has "${objectKey}"`).toBeTypeOf('object');
  for (const [name, value] of Object.entries(members)) {
    expect(target![name], `${edit.target} already has ${objectKey}.${name}`).toBeUndefined();
    target![name] = value;
    for (const key of arrayKeys) {
      const list = schema[key];
      if (!Array.isArray(list)) throw new Error(`CONTRIBUTING.md says to add "${name}" to "${key}" of ${edit.target}, which has no such list`);
      list.push(name);
    }
  }
  writeJson(file, schema);
  return Object.keys(members);
}

/**
 * The `spec/openapi.yaml` edits: `info.version` one minor step up, and the members of the marked YAML block added
 * to every response example whose schema is the entity `words[0]` (or an array of it). Returns the versions.
 */
function applyOpenApiEdit(copy: string, edit: Marked): { from: string; to: string; examples: number } {
  expect(edit.lang, 'spec/openapi.yaml: a yaml block').toBe('yaml');
  const members = YAML.parse(edit.text) as Json;
  const entityRef = edit.words[0]!;
  const file = path.join(copy, 'spec/openapi.yaml');
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'));
  const from = String(doc.getIn(['info', 'version']));
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(from);
  if (!m) throw new Error(`info.version ${from} is not x.y.z`);
  const to = `${m[1]}.${Number(m[2]) + 1}.0`;
  doc.setIn(['info', 'version'], to);

  let examples = 0;
  const paths = doc.toJS().paths as Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: Json; examples?: Json }> }> }>>;
  for (const [p, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          const schema = media.schema ?? {};
          const isArray = schema.type === 'array';
          const ref = isArray ? (schema.items as Json | undefined)?.$ref : schema.$ref;
          if (ref !== entityRef) continue;
          for (const name of Object.keys(media.examples ?? {})) {
            const base = ['paths', p, method, 'responses', status, 'content', type, 'examples', name, 'value'];
            const values = isArray ? (doc.getIn(base) as YAML.YAMLSeq).items.map((_, i) => [...base, i]) : [base];
            for (const at of values) {
              for (const [k, v] of Object.entries(members)) doc.setIn([...at, k], v);
              examples++;
            }
          }
        }
      }
    }
  }
  fs.writeFileSync(file, doc.toString({ lineWidth: 0 }));
  return { from, to, examples };
}

/** The tool's report without the version numbers (the sample in CONTRIBUTING.md shows one example bump). */
function normaliseReport(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\d+\.\d+\.\d+ → \d+\.\d+\.\d+/g, 'x.y.z → x.y.z').trimEnd())
    .filter((l) => l !== '');
}

// ---------------------------------------------------------------------------------------------------------------

describe("CONTRIBUTING.md's spec-first change, done for real on a copy of the repository", () => {
  it(
    'add an optional project colour: spec only, src/ untouched; it is served, broadcast, defaulted, validated, survives restarts; removing a field is BREAKING',
    async () => {
      const t0 = Date.now();
      const timings: string[] = [];
      const step = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
        const s = Date.now();
        try {
          return await fn();
        } catch (err) {
          if (err instanceof Error) err.message = `[${name}] ${err.message}`;
          throw err;
        } finally {
          timings.push(`${name} ${((Date.now() - s) / 1000).toFixed(1)} s`);
        }
      };

      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-walkthrough-'));
      cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
      cleanups.push(() => console.log(`spec-change walk-through: ${((Date.now() - t0) / 1000).toFixed(1)} s (${timings.join(', ')})`));
      const copy = path.join(tmp, 'repo');
      const dirs = { root: tmp, data: path.join(tmp, 'data'), sessions: path.join(tmp, 'sessions'), skills: path.join(tmp, 'skills') };
      fs.mkdirSync(dirs.skills, { recursive: true });

      // 1. The copy, with a commit for spec:diff to compare with.
      await step('1 copy + git init', async () => {
        fs.mkdirSync(copy);
        const n = await copyRepository(copy);
        expect(n).toBeGreaterThan(100);
        await git(copy, 'init', '-q', '-b', 'main');
        await git(copy, 'add', '-A');
        await git(copy, 'commit', '-q', '-m', 'base');
      });

      // 2. Before the change: one project "old".
      const old = await step('2 before: project "old"', async () => {
        return withServer(copy, dirs.root, async (server) => {
          const created = await send(server.port, 'POST', '/api/projects', { name: 'old', workingDir: '/srv/old' });
          expect(created.status, created.text).toBe(201);
          const project = created.json as Json;
          expect(project).not.toHaveProperty('color');
          return project;
        });
      });

      // 3. CONTRIBUTING.md's example change, from its marked blocks.
      const srcBefore = hashTree(path.join(copy, 'src'));
      const contributing = fs.readFileSync(path.join(copy, 'CONTRIBUTING.md'), 'utf8');
      const blocks = markedBlocks(contributing);
      const find = (target: string): Marked => {
        const found = blocks.filter((b) => b.target === target);
        expect(found.length, `CONTRIBUTING.md has one walkthrough block for ${target}`).toBe(1);
        return found[0]!;
      };
      const version = await step('3 apply CONTRIBUTING.md', () => {
        expect(blocks.map((b) => b.target).sort()).toEqual(
          ['run', 'schemas/entities/project.json', 'schemas/requests/project-create.json', 'schemas/requests/project-update.json', 'spec/openapi.yaml', 'spec:diff'].sort(),
        );
        expect(applySchemaEdit(copy, find('schemas/entities/project.json'))).toEqual(['color']);
        expect(applySchemaEdit(copy, find('schemas/requests/project-create.json'))).toEqual(['color']);
        expect(applySchemaEdit(copy, find('schemas/requests/project-update.json'))).toEqual(['color']);
        const v = applyOpenApiEdit(copy, find('spec/openapi.yaml'));
        expect(v.examples, 'project examples of responses in spec/openapi.yaml').toBeGreaterThanOrEqual(4);
        return v;
      });
      const entity = readJson(path.join(copy, 'schemas/entities/project.json'));
      const colorSchema = (entity.properties as Record<string, Json>).color!;
      const DEFAULT = colorSchema.default as string;
      expect(DEFAULT).toBe('#808080');

      // 4. lint, codegen, spec:diff, type check; src/ untouched.
      // Steps that only read the same inputs run two at a time (CI machines have 2 cores; tsc uses one):
      // lint:spec next to codegen, spec:diff next to the type check. Each must exit 0.
      await both(
        step('4 npm run lint:spec', () => mustSucceed('npm run lint:spec', npmRun(copy, 'lint:spec'))),
        step('4 npm run codegen', () => mustSucceed('npm run codegen', npmRun(copy, 'codegen'))),
      );
      expect(fs.readFileSync(path.join(copy, 'generated/types/entities/project.ts'), 'utf8'), 'the generated types have the new field').toMatch(/\bcolor\b/);
      await both(
        step('4 npm run spec:diff (sample in CONTRIBUTING.md)', async () => {
          const sample = find('spec:diff');
          const diff = await mustSucceed(`npm run spec:diff -- ${sample.words.join(' ')}`, npmRun(copy, 'spec:diff', ...sample.words));
          expect(diff.stdout).toContain(`info.version  API version ${version.from} → ${version.to}`);
          expect(normaliseReport(diff.stdout), 'CONTRIBUTING.md shows what spec:diff prints for the example').toEqual(normaliseReport(sample.text));
        }),
        step('4 npm run build (type check)', () => mustSucceed('npm run build', npmRun(copy, 'build'))),
      );
      await step('4 src untouched', () => expect(hashTree(path.join(copy, 'src')), 'src/ is byte-identical: no handwritten code for a plain field').toBe(srcBefore));

      // 5. The new server on the same DATA_DIR.
      const ids: Record<string, { id: string; color: string }> = {};
      const keys = (entity.required as string[]).slice().sort();
      await step('5 color survives: HTTP + WebSocket', async () => {
        await withServer(copy, dirs.root, async (server) => {
          const ws = await connectWs(server.port);
          const red = await send(server.port, 'POST', '/api/projects', { name: 'red', workingDir: '/srv/red', color: '#ff0000' });
          expect(red.status, red.text).toBe(201);
          const redProject = red.json as Json;
          expect(redProject).toMatchObject({ name: 'red', color: '#ff0000' });
          expect(Object.keys(redProject).sort(), 'exactly the entity keys').toEqual(keys);
          expect((await ws.waitForEvent('project:created', ({ data: d }) => d.id === redProject.id, 10_000)).data).toMatchObject({ color: '#ff0000' });

          const updated = await send(server.port, 'PUT', `/api/projects/${String(redProject.id)}`, { color: '#00ff00' });
          expect(updated.status, updated.text).toBe(200);
          expect(updated.json).toMatchObject({ id: redProject.id, name: 'red', color: '#00ff00' });
          expect((await ws.waitForEvent('project:updated', ({ data: d }) => d.id === redProject.id, 10_000)).data).toMatchObject({ color: '#00ff00' });
          ids.red = { id: String(redProject.id), color: '#00ff00' };

          const plain = await send(server.port, 'POST', '/api/projects', { name: 'plain' });
          expect(plain.status, plain.text).toBe(201);
          expect(plain.json).toMatchObject({ name: 'plain', color: DEFAULT });
          const plainId = String((plain.json as Json).id);
          expect((await ws.waitForEvent('project:created', ({ data: d }) => d.id === plainId, 10_000)).data).toMatchObject({ color: DEFAULT });
          ids.plain = { id: plainId, color: DEFAULT };

          // An unrelated update keeps the colour.
          const renamed = await send(server.port, 'PUT', `/api/projects/${plainId}`, { name: 'plain 2' });
          expect(renamed.json).toMatchObject({ name: 'plain 2', color: DEFAULT });

          const bad = await send(server.port, 'POST', '/api/projects', { name: 'bad', color: 'red' });
          expect(bad.status, bad.text).toBe(400);
          expect(bad.json).toEqual({ error: true, code: 'VALIDATION_ERROR', message: expect.stringContaining('color'), details: { field: 'color' } });
          const badUpdate = await send(server.port, 'PUT', `/api/projects/${ids.red.id}`, { color: '#12345' });
          expect(badUpdate.status, badUpdate.text).toBe(400);
          expect(badUpdate.json).toMatchObject({ error: true, code: 'VALIDATION_ERROR', details: { field: 'color' } });

          const oldNow = await send(server.port, 'GET', `/api/projects/${String(old.id)}`);
          expect(oldNow.status).toBe(200);
          expect(oldNow.json, 'the project stored before the change gets the default').toEqual({ ...old, color: DEFAULT });
          ids.old = { id: String(old.id), color: DEFAULT };

          const list = (await send(server.port, 'GET', '/api/projects')).json as Json[];
          expect(list.map((p) => [p.name, p.color])).toEqual([
            ['old', DEFAULT],
            ['red', '#00ff00'],
            ['plain 2', DEFAULT],
          ]);
          await ws.settle(); // every event of the answered requests is in: the refused ones sent none
          expect(ws.received.filter((m) => m.event.startsWith('project:')).map((m) => m.event)).toEqual(['project:created', 'project:updated', 'project:created', 'project:updated']);
          ws.ws.close();
        });
      });

      // 6. Restart on the same DATA_DIR: every colour is still there, on disk and over HTTP.
      await step('6 color survives a restart', async () => {
        for (const { id, color } of Object.values(ids)) {
          expect(readJson(path.join(dirs.data, 'projects', `${id}.json`)).color, `projects/${id}.json`).toBe(color);
        }
        await withServer(copy, dirs.root, async (server) => {
          for (const { id, color } of Object.values(ids)) {
            const got = await send(server.port, 'GET', `/api/projects/${id}`);
            expect(got.status).toBe(200);
            expect((got.json as Json).color, id).toBe(color);
          }
        });
      });

      // 7. CONTRIBUTING's last step, its commands as written: changelog, then commit exactly the listed paths.
      await step('7 changelog + commit', async () => {
        const commands = find('run').text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
        expect(commands.length).toBeGreaterThan(0);
        for (const command of commands) {
          await mustSucceed(command, run(copy, 'sh', ['-c', command], GIT_IDENTITY));
        }
        expect(fs.readFileSync(path.join(copy, 'CHANGELOG.md'), 'utf8')).toContain(`### API changes (${version.from} → ${version.to})`);
        expect(await git(copy, 'status', '--porcelain'), 'the listed paths are everything the change touched').toBe('');
        expect(await git(copy, 'rev-list', '--count', 'HEAD')).toBe('2\n');
      });

      // Then remove a field: BREAKING, exit 1.
      await step('7 removing a field is BREAKING', async () => {
        const file = path.join(copy, 'schemas/entities/project.json');
        const schema = readJson(file);
        delete (schema.properties as Json).description;
        schema.required = (schema.required as string[]).filter((k) => k !== 'description');
        writeJson(file, schema);
        const diff = await npmRun(copy, 'spec:diff', 'HEAD');
        expect(diff.code, `${diff.stdout}\n${diff.stderr}`).toBe(1);
        const breaking = diff.stdout.split('\n').filter((l) => /^BREAKING\s/.test(l) && /\.description\b/.test(l));
        expect(breaking.length, diff.stdout).toBeGreaterThan(0);
        expect(breaking.some((l) => l.includes('GET /api/projects/{id} response.200.body.description')), diff.stdout).toBe(true);
        expect(diff.stdout).toMatch(/^[1-9]\d* breaking, /m);
      });
    },
    TIMEOUT_MS,
  );
});
