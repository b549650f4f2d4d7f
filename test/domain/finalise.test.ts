import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../../generated/types/index.js';
import { ManifestGenerationError } from '../../src/spawn/errors.js';
import { finaliseManifest, type SchemaValidator } from '../../src/spawn/finalise.js';
import { generateManifest, removeSessionManifestDir, type GenerateManifestOptions } from '../../src/spawn/generate.js';
import { compileManifestSchema } from './helpers/manifest-schema.js';

const FAKE = fileURLToPath(new URL('./fixtures/fake-maestro.mjs', import.meta.url));

let validate: SchemaValidator;
let root: string;
let file: string;
let warnings: string[];
const logger = { warn: (_obj: Record<string, unknown>, msg: string) => void warnings.push(msg) };

beforeAll(async () => {
  validate = await compileManifestSchema();
});

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'maestro-finalise-'));
  await mkdir(path.join(root, 'm'));
  file = path.join(root, 'm', 'manifest.json');
  warnings = [];
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const baseManifest = {
  manifestVersion: '1.0',
  role: 'worker',
  strategy: 'queue',
  tasks: [
    {
      id: 't1',
      title: 'T',
      description: '',
      acceptanceCriteria: ['Task completion as described'],
      projectId: 'p',
      createdAt: '1970-01-01T00:00:00.000Z',
      parentId: null,
      dependencies: [],
      priority: 'medium',
      status: 'todo',
    },
  ],
  session: { model: 'sonnet', permissionMode: 'acceptEdits', thinkingMode: 'auto', workingDirectory: '/w' },
  context: { custom: { taskIds: ['t1'] } },
  skills: ['from-generator'],
  templateId: 'tmpl_stale',
};

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ManifestGenerationError);
  return (error as ManifestGenerationError).reason;
}

async function tempLeftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name !== 'manifest.json');
}

describe('finaliseManifest (docs/behaviour.md §8.5 check and finalise)', () => {
  it('sets skills, removes strategy for non-queue spawns, sets templateId, rewrites with 2-space JSON', async () => {
    await writeFile(file, JSON.stringify(baseManifest));
    const result = await finaliseManifest({ manifestPath: file, skills: ['a', ' ', 'a', 'b'], strategy: 'simple', templateId: 'tmpl_1', validate, logger });
    expect(result.skills).toEqual(['a', 'b']);
    expect('strategy' in result).toBe(false);
    expect(result.templateId).toBe('tmpl_1');
    const text = await readFile(file, 'utf8');
    expect(text).toBe(`${JSON.stringify(result, null, 2)}\n`);
    expect(JSON.parse(text)).toEqual(result);
    expect(validate(JSON.parse(text))).toBe(true);
    expect(await tempLeftovers(path.dirname(file))).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('sets strategy "queue" for queue spawns even when the generator left it out; removes templateId when the role has none', async () => {
    const { strategy: _s, ...withoutStrategy } = baseManifest;
    await writeFile(file, JSON.stringify(withoutStrategy));
    const result = await finaliseManifest({ manifestPath: file, skills: [], strategy: 'queue', validate });
    expect(result.strategy).toBe('queue');
    expect('templateId' in result).toBe(false);
    expect(result.skills).toEqual([]);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(result);
  });

  it('tree spawns have no strategy key', async () => {
    await writeFile(file, JSON.stringify(baseManifest));
    const result = await finaliseManifest({ manifestPath: file, skills: [], strategy: 'tree' });
    expect('strategy' in result).toBe(false);
  });

  it('a missing file, invalid JSON or a non-object → "Failed to read manifest: …"', async () => {
    expect(await reason(finaliseManifest({ manifestPath: file, skills: [], strategy: 'simple' }))).toMatch(/^Failed to read manifest: .*ENOENT/);
    await writeFile(file, '{ "manifestVersion": ');
    expect(await reason(finaliseManifest({ manifestPath: file, skills: [], strategy: 'simple' }))).toMatch(/^Failed to read manifest: .+/);
    for (const text of ['[1,2]', 'null', '"text"', '42']) {
      await writeFile(file, text);
      expect(await reason(finaliseManifest({ manifestPath: file, skills: [], strategy: 'simple' }))).toBe(
        'Failed to read manifest: manifest is not a JSON object',
      );
    }
  });

  it('a missing manifestVersion or role → the missing-key reasons, and the file is left as it was', async () => {
    const { manifestVersion: _v, ...noVersion } = baseManifest;
    await writeFile(file, JSON.stringify(noVersion));
    expect(await reason(finaliseManifest({ manifestPath: file, skills: [], strategy: 'simple' }))).toBe('manifest missing manifestVersion');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(noVersion);
    const { role: _r, ...noRole } = baseManifest;
    await writeFile(file, JSON.stringify(noRole));
    expect(await reason(finaliseManifest({ manifestPath: file, skills: [], strategy: 'simple' }))).toBe('manifest missing role');
  });

  it('no tasks → only a warning (without a validator)', async () => {
    await writeFile(file, JSON.stringify({ ...baseManifest, tasks: [] }));
    const result = await finaliseManifest({ manifestPath: file, skills: [], strategy: 'simple', logger });
    expect(result.tasks).toEqual([]);
    expect(warnings).toEqual(['Manifest has no tasks']);
    warnings = [];
    const { tasks: _t, ...legacy } = baseManifest;
    await writeFile(file, JSON.stringify({ ...legacy, task: { id: 't1' } }));
    await finaliseManifest({ manifestPath: file, skills: [], strategy: 'simple', logger });
    expect(warnings).toEqual([]);
  });

  it('a manifest the schema rejects is not written; the reason names the problem', async () => {
    await writeFile(file, JSON.stringify({ ...baseManifest, project: { name: 'extra block' } }));
    const before = await readFile(file, 'utf8');
    expect(await reason(finaliseManifest({ manifestPath: file, skills: [], strategy: 'simple', validate }))).toMatch(
      /^manifest does not match the manifest schema: .*additional properties/,
    );
    expect(await readFile(file, 'utf8')).toBe(before);
  });
});

function task(id: string, extra: Partial<Task> = {}): Task {
  return {
    id, projectId: 'proj_1', parentId: null, title: `Title ${id}`, description: '', status: 'todo', priority: 'medium',
    createdAt: 0, updatedAt: 0, startedAt: null, completedAt: null, initialPrompt: '', sessionIds: [], skillIds: [],
    agentIds: [], dependencies: [], ...extra,
  };
}

function generateOptions(extra: Partial<GenerateManifestOptions> = {}): GenerateManifestOptions {
  return {
    mode: 'server',
    sessionId: 'sess_1',
    sessionDir: path.join(root, 'sessions'),
    dataDir: path.join(root, 'data'),
    role: 'worker',
    strategy: 'queue',
    projectId: 'proj_1',
    workingDir: '/home/me/dir',
    tasks: [task('task_a', { model: 'opus' }), task('task_b')],
    skills: ['s1', '', 's1'],
    context: { reason: 'r' },
    templateId: 'tmpl_w',
    validate,
    logger,
    ...extra,
  };
}

describe('generateManifest (docs/behaviour.md §8.3 step 4)', () => {
  it('server mode: creates the session folder and writes the final manifest', async () => {
    const result = await generateManifest(generateOptions());
    expect(result.manifestPath).toBe(path.join(root, 'sessions', 'sess_1', 'manifest.json'));
    expect(result.manifest).toEqual({
      manifestVersion: '1.0',
      role: 'worker',
      strategy: 'queue',
      tasks: [expect.objectContaining({ id: 'task_a' }), expect.objectContaining({ id: 'task_b' })],
      session: { model: 'opus', permissionMode: 'acceptEdits', thinkingMode: 'auto', workingDirectory: '/home/me/dir' },
      context: { custom: { reason: 'r', taskIds: ['task_a', 'task_b'] } },
      skills: ['s1'],
      templateId: 'tmpl_w',
    });
    expect(JSON.parse(await readFile(result.manifestPath, 'utf8'))).toEqual(result.manifest);
    expect(validate(result.manifest)).toBe(true);
    expect(result.cliOutput).toBeUndefined();
    expect(await tempLeftovers(path.dirname(result.manifestPath))).toEqual([]);
  });

  it('server mode: a build error becomes the reason (no tasks)', async () => {
    expect(await reason(generateManifest(generateOptions({ tasks: [] })))).toBe('manifest needs at least one task');
  });

  it('server mode: the schema check runs before the first write', async () => {
    const refuseAll: SchemaValidator = Object.assign(() => false, { errors: [{ instancePath: '/session', message: 'nope' }] });
    expect(await reason(generateManifest(generateOptions({ validate: refuseAll })))).toBe(
      'manifest does not match the manifest schema: /session nope',
    );
    await expect(stat(path.join(root, 'sessions', 'sess_1', 'manifest.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('cli mode: runs the CLI, then finalises its output (skills, strategy, templateId set by the server)', async () => {
    const record = path.join(root, 'record.json');
    const result = await generateManifest(
      generateOptions({
        mode: 'cli',
        cliPath: FAKE,
        strategy: 'tree',
        templateId: undefined,
        env: { ...process.env, FAKE_MAESTRO_RECORD: record, FAKE_MAESTRO_MODE: 'ok' },
      }),
    );
    const call = JSON.parse(await readFile(record, 'utf8'));
    expect(call.args).toEqual([
      'manifest', 'generate', '--role', 'worker', '--project-id', 'proj_1', '--task-ids', 'task_a,task_b',
      '--skills', 's1', '--strategy', 'simple', '--output', result.manifestPath,
    ]);
    expect('strategy' in result.manifest).toBe(false);
    expect('templateId' in result.manifest).toBe(false);
    expect(result.manifest.skills).toEqual(['s1']);
    expect(result.cliOutput?.stdout).toContain('Manifest written to');
    expect(JSON.parse(await readFile(result.manifestPath, 'utf8'))).toEqual(result.manifest);
  });

  it('cli mode: exit 0 without a file, bad output and missing keys give the finalise reasons', async () => {
    const cases: Array<[string, RegExp]> = [
      ['no-write', /^Failed to read manifest: .*ENOENT/],
      ['invalid-json', /^Failed to read manifest: /],
      ['array', /^Failed to read manifest: manifest is not a JSON object$/],
      ['no-version', /^manifest missing manifestVersion$/],
      ['no-role', /^manifest missing role$/],
      ['fail', /^Manifest generation failed \(exit code 3\): /],
    ];
    for (const [mode, expected] of cases) {
      await removeSessionManifestDir(path.join(root, 'sessions'), 'sess_1');
      const got = await reason(generateManifest(generateOptions({ mode: 'cli', cliPath: FAKE, validate: undefined, env: { ...process.env, FAKE_MAESTRO_MODE: mode } })));
      expect(got, mode).toMatch(expected);
    }
  });

  it('cli mode: a manifest without tasks only warns', async () => {
    const result = await generateManifest(
      generateOptions({ mode: 'cli', cliPath: FAKE, validate: undefined, env: { ...process.env, FAKE_MAESTRO_MODE: 'no-tasks' } }),
    );
    expect(result.manifest.tasks).toEqual([]);
    expect(warnings).toContain('Manifest has no tasks');
  });

  it('removeSessionManifestDir removes the folder recursively and tolerates a missing one', async () => {
    await generateManifest(generateOptions());
    await removeSessionManifestDir(path.join(root, 'sessions'), 'sess_1');
    await expect(stat(path.join(root, 'sessions', 'sess_1'))).rejects.toMatchObject({ code: 'ENOENT' });
    await removeSessionManifestDir(path.join(root, 'sessions'), 'sess_1');
    expect(await readdir(path.join(root, 'sessions'))).toEqual([]);
  });
});
