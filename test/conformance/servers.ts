/**
 * The servers the suite runs against, all started by test/support/server.ts (`loadConfig(env)` →
 * `startServer(config)`, what src/main.ts does), in-process for speed, each with its own temp folders and a
 * SKILLS_DIR holding SKILLS. A child-process smoke pass runs the real entry point (conformance.test.ts).
 *
 * - main:  the default configuration (NODE_ENV=test).
 * - token: MAESTRO_API_TOKEN set, for the 401 responses.
 * - fault: every handler throws (test-only fault injection through the router factory seam of startServer),
 *          for the 500 responses of operations that cannot fail from outside (reads). Mutations get their
 *          500s on the main server from real write failures instead.
 * - cli:   MANIFEST_GENERATOR=cli with a missing executable, for spawn's 500 manifest_generation_failed.
 */
import path from 'node:path';
import type { RequestHandler } from 'express';
import { createApiRouter } from '../../generated/routes/router.js';
import type { HandlerMap } from '../../src/server.js';
import { startChild as startChildServer, startInProcess, type ChildServer, type InProcessOptions, type InProcessServer } from '../support/server.js';
import { tempDir } from '../support/temp.js';

/** A running in-process server: `server` (RunningServer), `config`, `root`, the folders and `close()`. */
export type Started = InProcessServer;

export const SKILLS = {
  'maestro-cli': { name: 'maestro-cli', version: '1.2.0', description: 'CLI skill', type: 'system' },
  'maestro-worker': { name: 'maestro-worker', version: '1.0.0', description: 'Worker skill', type: 'role' },
  'maestro-orchestrator': { name: 'maestro-orchestrator', description: 'Orchestrator skill', type: 'role' },
  'code-review': { name: 'Code review', version: '0.3.1', description: 'Reviews diffs', type: 'custom' },
} as const;

/** An in-process server with SKILLS installed. */
export function startWithSkills(options: InProcessOptions = {}): Promise<Started> {
  return startInProcess({ ...options, skills: SKILLS });
}

export function startMain(): Promise<Started> {
  return startWithSkills();
}

export function startToken(token: string): Promise<Started> {
  return startWithSkills({ env: { MAESTRO_API_TOKEN: token } });
}

export function startCliMode(): Promise<Started> {
  const missing = path.join(tempDir('maestro-conformance-'), 'no-such-maestro-binary');
  return startWithSkills({ env: { MANIFEST_GENERATOR: 'cli', MAESTRO_CLI_PATH: missing } });
}

/** A server whose every handler throws an unexpected error (so the router's 500 path answers). */
export function startFault(): Promise<Started> {
  const faulty = (handlers: HandlerMap, options: { maxBodyBytes: number }): RequestHandler => {
    const wrapped: Record<string, unknown> = {};
    for (const name of Object.keys(handlers)) {
      wrapped[name] = async () => {
        throw new Error(`injected fault in ${name}`);
      };
    }
    return createApiRouter(wrapped as HandlerMap, options);
  };
  return startWithSkills({ deps: { createApiRouter: faulty as typeof createApiRouter } });
}

/** The real entry point as a child process (NODE_ENV=test, like the in-process servers), ready once /health answers. */
export function startChild(): Promise<ChildServer> {
  return startChildServer({ skills: SKILLS, env: { NODE_ENV: 'test' }, readyTimeoutMs: 30_000 });
}
