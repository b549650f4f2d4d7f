/**
 * The servers the suite runs against. All use `npm start`'s path: `loadConfig(env)` → `startServer(config)`
 * (src/main.ts does exactly that), in-process for speed, each with its own temp DATA_DIR/SESSION_DIR and a
 * SKILLS_DIR with a few skills. A child-process smoke pass runs `npx tsx src/main.ts` (conformance.test.ts).
 *
 * - main:  the default configuration (NODE_ENV=test, so the hub also checks events against the catalogue).
 * - token: MAESTRO_API_TOKEN set, for the 401 responses.
 * - fault: every handler throws (test-only fault injection through the router factory seam of startServer),
 *          for the 500 responses of operations that cannot fail from outside (reads). Mutations get their
 *          500s on the main server from real write failures instead.
 * - cli:   MANIFEST_GENERATOR=cli with a missing executable, for spawn's 500 manifest_generation_failed.
 */
import { freePort } from '../support/http.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { RequestHandler } from 'express';
import { createApiRouter } from '../../generated/routes/router.js';
import { loadConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type HandlerMap, type RunningServer } from '../../src/server.js';
import { repoRoot } from './spec-model.js';

export interface Started {
  server: RunningServer;
  config: Config;
  root: string;
}

export const SKILLS = {
  'maestro-cli': { name: 'maestro-cli', version: '1.2.0', description: 'CLI skill', type: 'system' },
  'maestro-worker': { name: 'maestro-worker', version: '1.0.0', description: 'Worker skill', type: 'role' },
  'maestro-orchestrator': { name: 'maestro-orchestrator', description: 'Orchestrator skill', type: 'role' },
  'code-review': { name: 'Code review', version: '0.3.1', description: 'Reviews diffs', type: 'custom' },
} as const;

/** A temp root with data/, sessions/ and skills/ (skills filled from SKILLS). */
export function tempRoot(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'maestro-conformance-'));
  for (const [id, manifest] of Object.entries(SKILLS)) {
    mkdirSync(path.join(root, 'skills', id), { recursive: true });
    writeFileSync(path.join(root, 'skills', id, 'manifest.json'), JSON.stringify(manifest));
    writeFileSync(path.join(root, 'skills', id, 'skill.md'), `# ${manifest.name}\n\nInstructions for ${id}.\n`);
  }
  return root;
}

export function envFor(root: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: path.join(root, 'data'),
    SESSION_DIR: path.join(root, 'sessions'),
    SKILLS_DIR: path.join(root, 'skills'),
    NODE_ENV: 'test',
    ...extra,
  };
}

async function start(env: Record<string, string>, root: string, routerFactory?: typeof createApiRouter): Promise<Started> {
  const config = { ...loadConfig(env), port: 0 };
  const server = await startServer(config, { logger: silentLogger(), ...(routerFactory ? { createApiRouter: routerFactory } : {}) });
  return { server, config, root };
}

export function startMain(): Promise<Started> {
  const root = tempRoot();
  return start(envFor(root), root);
}

export function startToken(token: string): Promise<Started> {
  const root = tempRoot();
  return start(envFor(root, { MAESTRO_API_TOKEN: token }), root);
}

export function startCliMode(): Promise<Started> {
  const root = tempRoot();
  return start(envFor(root, { MANIFEST_GENERATOR: 'cli', MAESTRO_CLI_PATH: path.join(root, 'no-such-maestro-binary') }), root);
}

/** A server whose every handler throws an unexpected error (so the router's 500 path answers). */
export function startFault(): Promise<Started> {
  const root = tempRoot();
  const faulty = (handlers: HandlerMap, options: { maxBodyBytes: number }): RequestHandler => {
    const wrapped: Record<string, unknown> = {};
    for (const name of Object.keys(handlers)) {
      wrapped[name] = async () => {
        throw new Error(`injected fault in ${name}`);
      };
    }
    return createApiRouter(wrapped as HandlerMap, options);
  };
  return start(envFor(root), root, faulty as typeof createApiRouter);
}


export interface Child {
  port: number;
  root: string;
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for the exit code (docs/behaviour.md §5.7: 0). */
  stop(): Promise<number | null>;
}

/** `npm start`'s entry as a child process (`tsx src/main.ts`), on a free port; resolves once /health answers. */
export async function startChild(): Promise<Child> {
  const root = tempRoot();
  const port = await freePort();
  // `npm start` is `tsx src/main.ts`; run that binary directly (what `npx tsx` resolves to) so that SIGTERM
  // reaches the server and its exit code is ours to check (npx/npm would stand in between).
  const proc = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['src/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, ...envFor(root), PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${out}`);
    const up = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/health' }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not answer /health within 30 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    root,
    proc,
    output: () => out,
    async stop() {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export { freePort };
