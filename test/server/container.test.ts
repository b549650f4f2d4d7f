/**
 * The Dockerfile without a container engine (none runs here): this test reads the Dockerfile and carries out its
 * steps itself, in a clean copy of the build context (the repository's files minus .dockerignore):
 * WORKDIR, COPY (also --from the build stage), ENV and every RUN (npm ci, the bundle, the runtime's
 * `npm ci --omit=dev`, the data folders) exactly as written. Container paths (/src, /app, /data, …) live under
 * one temporary root; the image's user `node` is played by `nobody` (both non-root); the one RUN that installs
 * system packages (apt-get: tini) is the only step not run. tini's job, PID 1, is played by the server itself
 * under `unshare --fork --pid --mount-proc` (the harder case: no init in front of it).
 *
 * Then, as the runtime image would: HOST=0.0.0.0 without a token is refused; with a token the server runs as a
 * non-root PID 1, the HEALTHCHECK command passes, the API needs the token, the data is owned by the user, no dev
 * dependency is installed; SIGKILL and a restart keep the data; SIGTERM exits 0.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, rawRequest } from '../support/http.js';
import { killAllChildren, spawnChild, startChild, type ChildOptions } from '../support/server.js';
import { tempDir } from '../support/temp.js';
import { assertUnshareWorks, PID1 } from './pid1.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const USER = { name: 'nobody', uid: 65534, gid: 65534 };
afterEach(killAllChildren);

interface Instruction {
  op: string;
  args: string;
}

/** One instruction per line (the Dockerfile says so); comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      expect(l.endsWith('\\'), `line continuation in Dockerfile: ${l}`).toBe(false);
      const space = l.indexOf(' ');
      return { op: l.slice(0, space).toUpperCase(), args: l.slice(space + 1).trim() };
    });
}

/** .dockerignore: patterns matched against the path from the context root, or one of its parent folders. */
function dockerIgnored(patterns: string[], rel: string): boolean {
  const parts = rel.split('/');
  return patterns.some((p) => {
    const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    return parts.some((_, i) => re.test(parts.slice(0, i + 1).join('/')));
  });
}

/** The build context: tracked and untracked-but-not-gitignored files, minus .dockerignore. */
function buildContext(into: string): void {
  const patterns = fs
    .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && fs.existsSync(path.join(ROOT, f)) && !dockerIgnored(patterns, f));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(into, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(into, f));
  }
}

interface Image {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  healthcheck: string[];
  entrypoint: string[];
  cmd: string[];
  volumes: string[];
  skipped: string[];
}

/** Carries out the Dockerfile's steps under `root`; returns what the final (runtime) stage defines. */
function buildImage(root: string, context: string): Image {
  const inRoot = (p: string) => path.join(root, p);
  // Container paths named in RUN commands live under the root; the image's user is played by USER.
  const mapCommand = (cmd: string) => cmd.replace(/(^|\s)\/(data|sessions|skills|src|app)\b/g, (_m, pre: string, dir: string) => `${pre}${inRoot(dir)}`).replace(/\bnode:node\b/g, `${USER.uid}:${USER.gid}`);
  let image: Image | undefined;
  for (const { op, args } of parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))) {
    if (op === 'ARG') continue;
    if (op === 'FROM') {
      image = { root, workdir: root, env: {}, user: undefined, healthcheck: [], entrypoint: [], cmd: [], volumes: [], skipped: [] };
      continue;
    }
    const img = image!;
    switch (op) {
      case 'WORKDIR':
        img.workdir = inRoot(args);
        fs.mkdirSync(img.workdir, { recursive: true });
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        const from = words[0]!.startsWith('--from=') ? words.shift() : undefined;
        const dest = words.pop()!;
        const target = path.isAbsolute(dest) ? inRoot(dest) : path.join(img.workdir, dest);
        for (const src of words) {
          const source = from !== undefined ? inRoot(src) : path.join(context, src);
          const isDir = fs.statSync(source).isDirectory();
          // COPY dir dest copies the folder's contents into dest; a file goes into dest when dest ends in /.
          const to = isDir || !dest.endsWith('/') ? target : path.join(target, path.basename(src));
          if (dest.endsWith('/') || isDir) fs.mkdirSync(target, { recursive: true });
          fs.cpSync(source, to, { recursive: true });
        }
        break;
      }
      case 'ENV':
        for (const [, k, v] of args.matchAll(/([A-Z_]+)=(\S+)/g)) img.env[k!] = v!.startsWith('/') ? inRoot(v!) : v!;
        break;
      case 'RUN':
        if (/^apt-get /.test(args)) {
          img.skipped.push(args);
          break;
        }
        execFileSync('sh', ['-c', mapCommand(args)], {
          cwd: img.workdir,
          env: { PATH: process.env.PATH ?? '', HOME: root, npm_config_prefer_offline: 'true', ...img.env },
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 64 * 1024 * 1024,
        });
        break;
      case 'USER':
        img.user = args;
        break;
      case 'VOLUME':
        img.volumes = JSON.parse(args) as string[];
        break;
      case 'HEALTHCHECK':
        img.healthcheck = JSON.parse(args.slice(args.indexOf('CMD ') + 4)) as string[];
        break;
      case 'ENTRYPOINT':
        img.entrypoint = JSON.parse(args) as string[];
        break;
      case 'CMD':
        img.cmd = JSON.parse(args) as string[];
        break;
      case 'EXPOSE':
        break;
      default:
        throw new Error(`Dockerfile instruction this test does not know: ${op}`);
    }
  }
  return image!;
}

describe('the Dockerfile, carried out step by step (docs/deploy.md)', () => {
  let image: Image;
  let root: string;
  let context: string;

  beforeAll(() => {
    assertUnshareWorks();
    root = tempDir('maestro-image-');
    fs.chmodSync(root, 0o755); // the non-root user must reach /app under it
    context = tempDir('maestro-context-');
    buildContext(context);
    image = buildImage(root, context);
  }, 600_000);

  afterAll(() => {
    // Two full node_modules: do not leave them in the temp folder.
    for (const dir of [root, context]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the runtime stage: non-root user, tini as init, the volumes, no dev dependency, the bundle', () => {
    expect(image.user).toBe('node');
    expect(image.entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(image.skipped).toEqual([expect.stringMatching(/apt-get install -y --no-install-recommends tini/)]);
    expect(image.volumes).toEqual(['/data', '/sessions']);
    expect(image.env).toMatchObject({ HOST: '0.0.0.0', NODE_ENV: 'production' });
    expect(image.env.MAESTRO_API_TOKEN).toBeUndefined(); // never baked into the image
    const modules = fs.readdirSync(path.join(image.workdir, 'node_modules'));
    for (const dev of ['esbuild', 'tsx', 'typescript', 'vitest', 'handlebars']) expect(modules).not.toContain(dev);
    expect(fs.existsSync(path.join(image.workdir, 'dist', 'main.js'))).toBe(true);
    expect(fs.existsSync(path.join(image.workdir, 'src'))).toBe(false);
    expect(fs.statSync(image.env.DATA_DIR!).uid).toBe(USER.uid);
  });

  /**
   * The CMD as a non-root PID 1 of a fresh PID namespace (setpriv drops root after unshare, then execs), with the
   * image's environment only: none of the harness's defaults (folders, NODE_ENV, LOG_LEVEL) but PORT from `env`.
   */
  function cmdOptions(env: Record<string, string>): ChildOptions {
    return {
      cwd: image.workdir,
      wrap: [...PID1, 'setpriv', `--reuid=${USER.uid}`, `--regid=${USER.gid}`, '--clear-groups'],
      command: image.cmd,
      env: { HOME: '/nonexistent', DATA_DIR: undefined, SESSION_DIR: undefined, SKILLS_DIR: undefined, NODE_ENV: undefined, LOG_LEVEL: undefined, ...image.env, ...env },
      readyTimeoutMs: 30_000,
    };
  }

  it('HOST=0.0.0.0 without a token: refused with one CONFIG_ERROR line, exit 1', async () => {
    const p = await spawnChild(cmdOptions({ PORT: String(await freePort()) }));
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toContain('binding to a non-loopback address requires MAESTRO_API_TOKEN');
    expect(p.output().trim().split('\n')).toHaveLength(1);
  });

  it('with a token: non-root PID 1 serves, HEALTHCHECK passes, SIGKILL + restart keeps the data, SIGTERM exits 0', async () => {
    const port = await freePort();
    const env = { PORT: String(port), MAESTRO_API_TOKEN: 'container-test-token' };
    const auth = { Authorization: 'Bearer container-test-token', 'Content-Type': 'application/json' };
    const first = await startChild(cmdOptions(env));
    const hostPid = await first.serverPid();
    expect(fs.statSync(`/proc/${hostPid}`).uid).toBe(USER.uid);

    // The HEALTHCHECK command, as the image's user with the image's environment.
    const health = spawnSync(image.healthcheck[0]!, image.healthcheck.slice(1), {
      cwd: image.workdir,
      env: { PATH: process.env.PATH ?? '', ...image.env, ...env },
      uid: USER.uid,
      gid: USER.gid,
    });
    expect(health.status, String(health.stderr)).toBe(0);

    expect((await rawRequest(port, 'GET', '/api/projects')).status).toBe(401);
    // the static files are in the image and need no token (docs/behaviour.md §14.3)
    expect((await rawRequest(port, 'GET', '/docs')).status).toBe(200);
    expect((await rawRequest(port, 'GET', '/ui')).status).toBe(200);
    const created = await rawRequest(port, 'POST', '/api/projects', { body: '{"name":"in a container"}', headers: auth });
    expect(created.status).toBe(201);
    const projectFile = path.join(image.env.DATA_DIR!, 'projects', `${(created.json as { id: string }).id}.json`);
    expect(fs.statSync(projectFile).uid).toBe(USER.uid);

    await first.kill('SIGKILL'); // to PID 1 of the namespace, by its host pid
    const second = await startChild(cmdOptions(env));
    const list = await rawRequest(port, 'GET', '/api/projects', { headers: auth });
    expect((list.json as Array<{ name: string }>).map((p) => p.name)).toEqual(['in a container']);

    expect((await second.stop()).code, second.output()).toBe(0); // SIGTERM to PID 1
    expect(fs.existsSync(path.join(image.env.DATA_DIR!, '.lock'))).toBe(false);
  }, 90_000);
});
