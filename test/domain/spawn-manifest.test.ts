import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../generated/types/index.js';
import { buildSpawnEnv, manifestPathFor, sessionManifestDir, spawnCommandFor } from '../../src/spawn/env.js';
import { buildServerManifest, normaliseSkills, type ServerManifestInput } from '../../src/spawn/manifest.js';
import type { SchemaValidator } from '../../src/spawn/finalise.js';
import { compileManifestSchema } from './helpers/manifest-schema.js';

let validate: SchemaValidator;
beforeAll(async () => {
  validate = await compileManifestSchema();
});

function task(id: string, extra: Partial<Task> = {}): Task {
  return {
    id,
    projectId: 'proj_1',
    parentId: null,
    title: `Title ${id}`,
    description: `Description ${id}`,
    status: 'todo',
    priority: 'medium',
    createdAt: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    updatedAt: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    startedAt: null,
    completedAt: null,
    initialPrompt: 'never copied',
    sessionIds: ['sess_x'],
    skillIds: ['never-copied'],
    agentIds: ['agent'],
    dependencies: [],
    ...extra,
  };
}

function input(extra: Partial<ServerManifestInput> = {}): ServerManifestInput {
  return {
    role: 'worker',
    strategy: 'simple',
    project: { workingDir: '/home/me/project' },
    tasks: [task('task_a'), task('task_b')],
    skills: [],
    context: {},
    ...extra,
  };
}

function expectValid(manifest: unknown): void {
  const ok = validate(manifest);
  expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
  expect(ok).toBe(true);
}

describe('buildServerManifest (docs/behaviour.md §1.10)', () => {
  it('writes exactly the keys of docs/behaviour.md with the values of docs/behaviour.md', () => {
    const manifest = buildServerManifest(
      input({
        tasks: [
          task('task_a', { parentId: 'task_p', dependencies: ['task_d'], priority: 'high', status: 'in_progress', sessionStatus: 'working', dueDate: '2025-01-01' }),
          task('task_b', { description: '' }),
        ],
        skills: ['maestro-worker', '  ', 'extra', 'maestro-worker', ''],
        context: { reason: 'why', primaryTask: 'task_a' },
      }),
    );
    expect(manifest).toEqual({
      manifestVersion: '1.0',
      role: 'worker',
      tasks: [
        {
          id: 'task_a',
          title: 'Title task_a',
          description: 'Description task_a',
          acceptanceCriteria: ['Task completion as described'],
          projectId: 'proj_1',
          createdAt: '2024-01-02T03:04:05.678Z',
          parentId: 'task_p',
          dependencies: ['task_d'],
          priority: 'high',
          status: 'in_progress',
        },
        {
          id: 'task_b',
          title: 'Title task_b',
          description: '',
          acceptanceCriteria: ['Task completion as described'],
          projectId: 'proj_1',
          createdAt: '2024-01-02T03:04:05.678Z',
          parentId: null,
          dependencies: [],
          priority: 'medium',
          status: 'todo',
        },
      ],
      session: { model: 'sonnet', permissionMode: 'acceptEdits', thinkingMode: 'auto', workingDirectory: '/home/me/project' },
      context: { custom: { reason: 'why', primaryTask: 'task_a', taskIds: ['task_a', 'task_b'] } },
      skills: ['maestro-worker', 'extra'],
    });
    expect(Object.keys(manifest)).toEqual(['manifestVersion', 'role', 'tasks', 'session', 'context', 'skills']);
    expect(Object.keys(manifest.tasks[0])).toEqual([
      'id', 'title', 'description', 'acceptanceCriteria', 'projectId', 'createdAt', 'parentId', 'dependencies', 'priority', 'status',
    ]);
    expectValid(manifest);
  });

  it('never carries task fields the CLI schema does not know', () => {
    const manifest = buildServerManifest(input({ tasks: [task('t', { model: 'opus', sessionStatus: 'working', dueDate: null })] }));
    const text = JSON.stringify(manifest);
    for (const key of ['initialPrompt', 'sessionIds', 'skillIds', 'agentIds', 'updatedAt', 'startedAt', 'completedAt', 'sessionStatus', 'dueDate']) {
      expect(text).not.toContain(`"${key}"`);
    }
    expect('model' in manifest.tasks[0]).toBe(false);
    expect(manifest.session.model).toBe('opus');
    expectValid(manifest);
  });

  it('has strategy "queue" only for queue spawns', () => {
    const queue = buildServerManifest(input({ strategy: 'queue' }));
    expect(queue.strategy).toBe('queue');
    expect(Object.keys(queue)).toEqual(['manifestVersion', 'role', 'strategy', 'tasks', 'session', 'context', 'skills']);
    expectValid(queue);
    for (const strategy of ['simple', 'tree'] as const) {
      const manifest = buildServerManifest(input({ strategy }));
      expect('strategy' in manifest).toBe(false);
      expectValid(manifest);
    }
  });

  it('has templateId only when given', () => {
    expect('templateId' in buildServerManifest(input())).toBe(false);
    const manifest = buildServerManifest(input({ templateId: 'tmpl_1', role: 'orchestrator' }));
    expect(manifest.templateId).toBe('tmpl_1');
    expect(manifest.role).toBe('orchestrator');
    expectValid(manifest);
  });

  it('model is the first task (in taskIds order) that has one, else sonnet', () => {
    expect(buildServerManifest(input()).session.model).toBe('sonnet');
    const tasks = [task('a'), task('b', { model: 'haiku' }), task('c', { model: 'opus' })];
    expect(buildServerManifest(input({ tasks })).session.model).toBe('haiku');
    expect(buildServerManifest(input({ tasks: [tasks[2], tasks[1]] })).session.model).toBe('opus');
  });

  it('context.custom holds every request key, taskIds overrides, nothing else at the top of context', () => {
    const manifest = buildServerManifest(
      input({ context: { taskIds: ['spoofed'], relatedTasks: ['r'], codebaseContext: { a: 1 }, nested: { deep: [1, 2] } } }),
    );
    expect(manifest.context).toEqual({
      custom: { taskIds: ['task_a', 'task_b'], relatedTasks: ['r'], codebaseContext: { a: 1 }, nested: { deep: [1, 2] } },
    });
    expect(Object.keys(manifest.context)).toEqual(['custom']);
    expectValid(manifest);
    expect(buildServerManifest(input({ context: undefined })).context).toEqual({ custom: { taskIds: ['task_a', 'task_b'] } });
  });

  it('does not share arrays or objects with its input', () => {
    const source = task('a', { dependencies: ['d'] });
    const context = { list: [1] };
    const manifest = buildServerManifest(input({ tasks: [source], context }));
    manifest.tasks[0].dependencies.push('mutated');
    manifest.context.custom.extra = 1;
    expect(source.dependencies).toEqual(['d']);
    expect(context).toEqual({ list: [1] });
  });

  it('refuses to build a manifest without tasks (the schema needs at least one)', () => {
    expect(() => buildServerManifest(input({ tasks: [] }))).toThrow('manifest needs at least one task');
  });

  it('the schema rejects unknown keys, so an extra key would be caught', () => {
    const manifest = buildServerManifest(input()) as unknown as Record<string, unknown>;
    expect(validate({ ...manifest, project: {} })).toBe(false);
    expect(validate({ ...manifest, manifestVersion: '1.0.0' })).toBe(false);
    expect(validate({ ...manifest, strategy: 'simple' })).toBe(false);
    expect(validate({ ...manifest, context: { custom: { taskIds: [] }, extra: 1 } })).toBe(false);
  });
});

describe('normaliseSkills (docs/behaviour.md §8.1)', () => {
  it('drops blank entries and duplicates, keeping the first', () => {
    expect(normaliseSkills(['a', '', ' ', '\t', 'b', 'a', ' a'])).toEqual(['a', 'b', ' a']);
    expect(normaliseSkills([])).toEqual([]);
  });
});

describe('spawn env vars (docs/behaviour.md §8.4)', () => {
  it('are exactly the six keys, with absolute paths', () => {
    const env = buildSpawnEnv({
      sessionId: 'sess_1_abcdefghi',
      sessionDir: 'rel/sessions',
      dataDir: '/data',
      serverUrl: 'http://127.0.0.1:3000',
      strategy: 'tree',
    });
    expect(env).toEqual({
      MAESTRO_SESSION_ID: 'sess_1_abcdefghi',
      MAESTRO_MANIFEST_PATH: path.resolve('rel/sessions', 'sess_1_abcdefghi', 'manifest.json'),
      MAESTRO_SERVER_URL: 'http://127.0.0.1:3000',
      MAESTRO_STRATEGY: 'tree',
      DATA_DIR: path.resolve('/data'),
      SESSION_DIR: path.resolve('rel/sessions'),
    });
    expect(Object.keys(env)).toEqual(['MAESTRO_SESSION_ID', 'MAESTRO_MANIFEST_PATH', 'MAESTRO_SERVER_URL', 'MAESTRO_STRATEGY', 'DATA_DIR', 'SESSION_DIR']);
    expect(path.isAbsolute(env.MAESTRO_MANIFEST_PATH)).toBe(true);
  });

  it('the initial command is maestro {role} init', () => {
    expect(spawnCommandFor('worker')).toBe('maestro worker init');
    expect(spawnCommandFor('orchestrator')).toBe('maestro orchestrator init');
  });

  it('manifest paths live in {SESSION_DIR}/{sessionId}/', () => {
    expect(manifestPathFor('/s', 'sess_1')).toBe(path.join(path.resolve('/s'), 'sess_1', 'manifest.json'));
    expect(sessionManifestDir('/s', 'sess_1')).toBe(path.join(path.resolve('/s'), 'sess_1'));
  });
});
