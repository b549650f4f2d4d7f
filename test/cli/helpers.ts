/**
 * Running `maestro-api` as a user does: a child process of the built bin code (dist/cli/maestro-api.js, built
 * once per test file by scripts/build-client.mjs --cli), stdout/stderr collected, the exit code returned. Always
 * asynchronous: the server of these tests runs in the test process, so a blocking spawn would stall it.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI_BUNDLE = path.join(REPO, 'dist/cli/maestro-api.js');

export function buildCliBundle(): void {
  const result = spawnSync(process.execPath, [path.join(REPO, 'scripts/build-client.mjs'), '--cli'], { cwd: REPO, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`build-client --cli failed: ${result.stderr}`);
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** extra environment (MAESTRO_URL, MAESTRO_API_TOKEN, …); the test process's MAESTRO_* are never inherited */
  env?: Record<string, string>;
  /** text written to stdin (then closed) */
  input?: string;
  /** the program to run: default the bundle; e.g. [bin/maestro-api.mjs] or [tsx, generated/cli/main.ts] */
  command?: string[];
  cwd?: string;
}

export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MAESTRO_')) env[k] = v;
  const command = options.command ?? [CLI_BUNDLE];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...command, ...args], { cwd: options.cwd ?? REPO, env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
