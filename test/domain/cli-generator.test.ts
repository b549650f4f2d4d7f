import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CLI_NOT_FOUND_REASON,
  CLI_TIMEOUT_MS,
  cliManifestArgs,
  runCliManifestGenerate,
  type CliGenerateOptions,
} from '../../src/spawn/cli-generator.js';
import { ManifestGenerationError } from '../../src/spawn/errors.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const FAKE = path.join(FIXTURES, 'fake-maestro.mjs');
const HANG = path.join(FIXTURES, 'fake-maestro-hang.mjs');

let root: string;
let record: string;
let output: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'maestro-cli-'));
  record = path.join(root, 'record.json');
  await mkdir(path.join(root, 'sessions', 'sess_1'), { recursive: true });
  output = path.join(root, 'sessions', 'sess_1', 'manifest.json');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function options(extra: Partial<CliGenerateOptions> & { mode?: string } = {}): CliGenerateOptions {
  const { mode, ...rest } = extra;
  return {
    cliPath: FAKE,
    role: 'worker',
    projectId: 'proj_1',
    taskIds: ['task_a', 'task_b'],
    skills: ['maestro-worker', 'extra'],
    strategy: 'simple',
    outputPath: output,
    dataDir: path.join(root, 'data'),
    sessionDir: path.join(root, 'sessions'),
    env: { ...process.env, FAKE_MAESTRO_RECORD: record, FAKE_MAESTRO_MODE: mode ?? 'ok', FAKE_MARKER: 'from-server-env' },
    ...rest,
  };
}

async function recorded(): Promise<{ args: string[]; cwd: string; DATA_DIR: string; SESSION_DIR: string; FAKE_MARKER?: string }> {
  return JSON.parse(await readFile(record, 'utf8'));
}

async function failure(promise: Promise<unknown>): Promise<ManifestGenerationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ManifestGenerationError);
  return error as ManifestGenerationError;
}

describe('cli-mode invocation (docs/behaviour.md §8.5, §11.17)', () => {
  it('runs the CLI with exactly the arguments of docs/behaviour.md, env and cwd, and the file is written', async () => {
    const result = await runCliManifestGenerate(options());
    const call = await recorded();
    expect(call.args).toEqual([
      'manifest', 'generate',
      '--role', 'worker',
      '--project-id', 'proj_1',
      '--task-ids', 'task_a,task_b',
      '--skills', 'maestro-worker,extra',
      '--strategy', 'simple',
      '--output', output,
    ]);
    expect(call.args).not.toContain('--api-url');
    expect(result.args).toEqual(call.args);
    expect(call.DATA_DIR).toBe(path.join(root, 'data'));
    expect(call.SESSION_DIR).toBe(path.join(root, 'sessions'));
    expect(call.FAKE_MARKER).toBe('from-server-env');
    expect(call.cwd).toBe(process.cwd());
    expect(JSON.parse(await readFile(output, 'utf8')).tasks.map((t: { id: string }) => t.id)).toEqual(['task_a', 'task_b']);
    expect(result.stdout).toBe(`Manifest written to ${output}\n`);
    expect(result.stderr).toBe('a harmless warning\n');
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('passes --skills "" when there are no skills, queue as queue, tree and simple as simple', async () => {
    await runCliManifestGenerate(options({ skills: [], strategy: 'queue', role: 'orchestrator' }));
    let args = (await recorded()).args;
    expect(args.slice(2, 4)).toEqual(['--role', 'orchestrator']);
    expect(args[args.indexOf('--skills') + 1]).toBe('');
    expect(args[args.indexOf('--strategy') + 1]).toBe('queue');
    expect(args).toHaveLength(14);

    await runCliManifestGenerate(options({ strategy: 'tree' }));
    args = (await recorded()).args;
    expect(args[args.indexOf('--strategy') + 1]).toBe('simple');
  });

  it('passes arguments as a vector: shell metacharacters arrive verbatim', async () => {
    const odd = 'proj_$(touch pwned);`id`|&>x "quoted" \'single\'';
    await runCliManifestGenerate(options({ projectId: odd, taskIds: ['t 1', 't*'] }));
    const args = (await recorded()).args;
    expect(args[args.indexOf('--project-id') + 1]).toBe(odd);
    expect(args[args.indexOf('--task-ids') + 1]).toBe('t 1,t*');
  });

  it('looks a bare name up on the PATH of the child environment', async () => {
    const bin = path.join(root, 'bin');
    await mkdir(bin);
    await copyFile(FAKE, path.join(bin, 'maestro'));
    await chmod(path.join(bin, 'maestro'), 0o755);
    const base = options();
    await runCliManifestGenerate({ ...base, cliPath: 'maestro', env: { ...base.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` } });
    expect((await recorded()).args[0]).toBe('manifest');
  });

  it('uses the given cwd when one is passed', async () => {
    await runCliManifestGenerate(options({ cwd: root }));
    expect((await recorded()).cwd).toBe(root);
  });

  it('cliManifestArgs is the same vector', () => {
    expect(cliManifestArgs({ role: 'worker', projectId: 'p', taskIds: ['a'], skills: [], strategy: 'tree', outputPath: '/o' })).toEqual([
      'manifest', 'generate', '--role', 'worker', '--project-id', 'p', '--task-ids', 'a', '--skills', '', '--strategy', 'simple', '--output', '/o',
    ]);
  });
});

describe('cli-mode failures (docs/behaviour.md §8.5 reasons)', () => {
  it('non-zero exit → the exit code and the tail of stderr', async () => {
    const error = await failure(runCliManifestGenerate(options({ mode: 'fail' })));
    expect(error.reason).toMatch(/^Manifest generation failed \(exit code 3\): /);
    expect(error.reason).toContain('Failed to generate manifest: Task task_x not found');
    expect(error.reason.length).toBeLessThan(700);
    expect(error.message).toBe(`Failed to generate manifest: ${error.reason}`);
    expect(error.output?.stdout).toBe('some progress output\n');
    expect(error.output?.stderr).toContain('noise line');
    const contract = error.toContractError();
    expect(contract.status).toBe(500);
    expect(contract.code).toBe('manifest_generation_failed');
    expect(contract.message).toBe(error.message);
  });

  it('non-zero exit with only stdout → the tail of stdout; with no output → a placeholder', async () => {
    expect((await failure(runCliManifestGenerate(options({ mode: 'fail-stdout' })))).reason).toBe(
      'Manifest generation failed (exit code 4): only stdout explains the failure',
    );
    expect((await failure(runCliManifestGenerate(options({ mode: 'fail-silent' })))).reason).toBe(
      'Manifest generation failed (exit code 5): (no output)',
    );
  });

  it('a hang past the time limit → killed, timeout reason', async () => {
    const pidFile = path.join(root, 'pid');
    const base = options();
    const started = Date.now();
    const error = await failure(
      runCliManifestGenerate({ ...base, cliPath: HANG, timeoutMs: 400, env: { ...base.env, FAKE_MAESTRO_PIDFILE: pidFile } }),
    );
    expect(Date.now() - started).toBeLessThan(2500);
    expect(error.reason).toBe('Manifest generation timed out after 0.4 s');
    expect(error.output?.stdout).toBe('thinking...\n');
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('settles at the time limit even when a grandchild keeps the output pipes open', async () => {
    const base = options();
    const started = Date.now();
    const error = await failure(
      runCliManifestGenerate({ ...base, cliPath: HANG, timeoutMs: 300, env: { ...base.env, FAKE_MAESTRO_GRANDCHILD: '1' } }),
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.reason).toBe('Manifest generation timed out after 0.3 s');
  });

  it('the default limit is 30 s, and its reason reads as docs/behaviour.md says', () => {
    expect(CLI_TIMEOUT_MS).toBe(30_000);
  });

  it('missing binary (path or bare name) → the not-found reason', async () => {
    const byPath = await failure(runCliManifestGenerate(options({ cliPath: path.join(root, 'no-such-maestro') })));
    expect(byPath.reason).toBe(CLI_NOT_FOUND_REASON);
    expect(CLI_NOT_FOUND_REASON).toBe('maestro CLI not found. Please install maestro: npm install -g maestro-cli');
    const base = options();
    const byName = await failure(
      runCliManifestGenerate({ ...base, cliPath: 'maestro-not-installed-anywhere', env: { ...base.env, PATH: path.join(root, 'empty-bin') } }),
    );
    expect(byName.reason).toBe(CLI_NOT_FOUND_REASON);
  });

  it('a file that cannot be executed → "Failed to spawn maestro CLI: …"', async () => {
    const notExecutable = path.join(root, 'maestro');
    await writeFile(notExecutable, '#!/bin/sh\nexit 0\n');
    await chmod(notExecutable, 0o644);
    const error = await failure(runCliManifestGenerate(options({ cliPath: notExecutable })));
    expect(error.reason).toMatch(/^Failed to spawn maestro CLI: .*EACCES/);
  });
});
