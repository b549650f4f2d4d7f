/**
 * End to end: a temporary git repository with two commits, the CLI run in it as `tsx codegen/spec-diff/main.ts`
 * (cwd = the temporary repository), checking output lines, summary and exit codes.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = join(ROOT, 'codegen', 'spec-diff', 'main.ts');

let repo: string;

function git(...args: string[]): string {
  const result = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

function write(path: string, value: unknown): void {
  const full = join(repo, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, typeof value === 'string' ? value : path.endsWith('.json') ? JSON.stringify(value, null, 2) : stringify(value));
}

function cli(...args: string[]): { code: number; stdout: string; stderr: string; lines: string[] } {
  const result = spawnSync(TSX, [MAIN, ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, lines: result.stdout.trim().split('\n') };
}

function openapi(version: string, extra: Record<string, unknown> = {}) {
  return {
    openapi: '3.1.0',
    info: { title: 'Test API', version },
    paths: {
      '/api/tasks': {
        get: {
          operationId: 'listTasks',
          summary: 'E6 list tasks',
          'x-emits': [],
          responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'array', items: { $ref: '../schemas/entities/task.json' } } } } } },
        },
      },
      ...extra,
    },
  };
}

function task(withTitle: boolean) {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://maestro.local/schemas/entities/task.json',
    title: 'Task',
    type: 'object',
    additionalProperties: false,
    required: withTitle ? ['id', 'title'] : ['id'],
    properties: withTitle ? { id: { type: 'string' }, title: { type: 'string' } } : { id: { type: 'string' } },
  };
}

const health = { '/health': { get: { operationId: 'getHealth', summary: 'E43 health', 'x-emits': [], responses: { '200': { description: 'OK' } } } } };

/** Working tree of commit B plus the given edits (commit B: title removed from Task, GET /health added, summary changed). */
function workingTree(version = '1.0.0', changes?: string): void {
  const doc = openapi(version, health);
  doc.paths['/api/tasks'].get.summary = 'E6 list all tasks';
  write('spec/openapi.yaml', doc);
  write('schemas/entities/task.json', task(false));
  if (changes === undefined) rmSync(join(repo, 'spec/changes.yaml'), { force: true });
  else write('spec/changes.yaml', changes);
  rmSync(join(repo, 'CHANGELOG.md'), { force: true });
}

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'spec-diff-e2e-'));
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'test@example.invalid');
  git('config', 'user.name', 'spec-diff test');
  git('config', 'commit.gpgsign', 'false');
  write('spec/openapi.yaml', openapi('1.0.0'));
  write('schemas/entities/task.json', task(true));
  git('add', '.');
  git('commit', '-q', '-m', 'A: first spec');
  workingTree();
  git('add', '.');
  git('commit', '-q', '-m', 'B: title removed, /health added');
});

afterAll(() => rmSync(repo, { recursive: true, force: true }));

beforeEach(() => workingTree());

const BREAK = /^BREAKING {6}response-property-removed {2}GET \/api\/tasks response\.200\.body\[\]\.title {2}property removed \(was required\)/;

describe('spec:diff CLI', () => {
  it('reports nothing against HEAD itself and exits 0', () => {
    const run = cli('HEAD');
    expect(run.lines).toEqual(['0 breaking, 0 non-breaking, 0 info']);
    expect(run.code).toBe(0);
  });

  it('prints every change with its classification and the summary, and exits 1 on a breaking change', () => {
    const run = cli('HEAD~1');
    expect(run.lines).toHaveLength(4);
    expect(run.lines[0]).toMatch(BREAK);
    expect(run.lines[1]).toBe('non-breaking  path-added  /health  new path (GET)');
    expect(run.lines[2]).toBe('info          summary-changed  GET /api/tasks  summary changed');
    expect(run.lines[3]).toBe('1 breaking, 1 non-breaking, 1 info');
    expect(run.code).toBe(1);
  });

  it('exits 0 when spec/changes.yaml lists the break with a reason, and marks it allowed', () => {
    workingTree('1.0.0', stringify([{ rule: 'response-property-removed', location: 'GET /api/tasks response.200.body[].title', reason: 'title moved to /details' }]));
    const run = cli('HEAD~1');
    expect(run.lines[0]).toMatch(BREAK);
    expect(run.lines[0]).toMatch(/\[allowed: spec\/changes\.yaml: title moved to \/details\]$/);
    expect(run.lines.at(-1)).toBe('0 breaking, 1 non-breaking, 1 info, 1 allowed');
    expect(run.stderr).not.toContain('warning');
    expect(run.code).toBe(0);
  });

  it('warns about a changes.yaml entry that matches nothing and still fails on the unlisted break', () => {
    workingTree('1.0.0', stringify([{ rule: 'path-removed', location: '/api/nothing', reason: 'stale' }]));
    const run = cli('HEAD~1');
    expect(run.stderr).toContain('warning: spec/changes.yaml: entry { rule: path-removed, location: /api/nothing } matches no change');
    expect(run.code).toBe(1);
  });

  it('exits 2 when a changes.yaml entry has no reason', () => {
    workingTree('1.0.0', stringify([{ rule: 'response-property-removed', location: 'GET /api/tasks response.200.body[].title', reason: '' }]));
    const run = cli('HEAD~1');
    expect(run.stderr).toContain('"reason" is required');
    expect(run.code).toBe(2);
  });

  it('exits 0 when the major version is bumped', () => {
    workingTree('2.0.0');
    const run = cli('HEAD~1');
    expect(run.lines[0]).toMatch(/\[allowed: major version 1\.0\.0 → 2\.0\.0\]$/);
    expect(run.lines).toContain('info          version-changed  info.version  API version 1.0.0 → 2.0.0');
    expect(run.lines.at(-1)).toBe('0 breaking, 1 non-breaking, 2 info, 1 allowed');
    expect(run.code).toBe(0);
  });

  it('--json writes the same report as JSON', () => {
    const run = cli('HEAD~1', '--json');
    const report = JSON.parse(run.stdout);
    expect(report.summary).toEqual({ breaking: 1, nonBreaking: 1, info: 1, allowed: 0 });
    expect(report.changes[0]).toMatchObject({ severity: 'breaking', rule: 'response-property-removed', location: 'GET /api/tasks response.200.body[].title' });
    expect(report.versions).toEqual({ old: { openapi: '1.0.0' }, new: { openapi: '1.0.0' } });
    expect(run.code).toBe(1);
  });

  it('--markdown prints a changelog section; --write-changelog writes CHANGELOG.md only when the version changed', () => {
    const same = cli('HEAD~1', '--markdown', '--write-changelog');
    expect(same.stdout.split('\n')[0]).toBe('### API changes (1.0.0 → 1.0.0)');
    expect(same.stdout).toContain('#### Breaking');
    expect(same.stdout).toContain('#### Non-breaking');
    expect(same.stderr).toContain('CHANGELOG.md not written');
    expect(existsSync(join(repo, 'CHANGELOG.md'))).toBe(false);

    workingTree('1.1.0', stringify([{ rule: 'response-property-removed', location: 'GET /api/tasks response.200.body[].title', reason: 'unused' }]));
    const bumped = cli('HEAD~1', '--markdown', '--write-changelog');
    expect(bumped.code).toBe(0);
    const changelog = readFileSync(join(repo, 'CHANGELOG.md'), 'utf8');
    expect(changelog).toMatch(/^# Changelog\n\n## API\n[\s\S]*### API changes \(1\.0\.0 → 1\.1\.0\)\n\n#### Breaking\n\n- `GET \/api\/tasks response\.200\.body\[\]\.title`/);
  });

  it('exits 2 on usage and load errors', () => {
    expect(cli().code).toBe(2);
    expect(cli('HEAD', '--bogus').code).toBe(2);
    expect(cli('HEAD', '--json', '--markdown').code).toBe(2);
    const unknown = cli('no-such-ref');
    expect(unknown.stderr).toContain('unknown git revision: no-such-ref');
    expect(unknown.code).toBe(2);
    write('spec/openapi.yaml', { ...openapi('1.0.0'), paths: { '/x': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '../schemas/missing.json' } } } } } } } } });
    const broken = cli('HEAD');
    expect(broken.stderr).toContain('cannot resolve $ref "../schemas/missing.json"');
    expect(broken.code).toBe(2);
  });
});

describe('spec:diff --base auto', () => {
  it('uses HEAD~1 when there is no origin/main', () => {
    const run = cli('--base', 'auto');
    expect(run.stderr).toContain(`comparing with ${git('rev-parse', 'HEAD~1').slice(0, 12)} (HEAD~1`);
    expect(run.code).toBe(1);
  });

  it('uses HEAD~1 on a clean clone of main, where the merge base with origin/main is HEAD', () => {
    git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    try {
      const run = cli('--base', 'auto');
      expect(run.stderr).toContain('(HEAD~1');
      expect(run.code).toBe(1);
    } finally {
      git('update-ref', '-d', 'refs/remotes/origin/main');
    }
  });

  it('uses the merge base with origin/main on a branch', () => {
    git('update-ref', 'refs/remotes/origin/main', 'HEAD~1');
    try {
      const run = cli('--base', 'auto');
      expect(run.stderr).toContain(`comparing with ${git('rev-parse', 'HEAD~1').slice(0, 12)} (merge base of HEAD and origin/main)`);
      expect(run.lines.at(-1)).toBe('1 breaking, 1 non-breaking, 1 info');
    } finally {
      git('update-ref', '-d', 'refs/remotes/origin/main');
    }
  });

  it('reports "no base to compare" and exits 0 in a repository with a single commit', () => {
    const single = mkdtempSync(join(tmpdir(), 'spec-diff-single-'));
    try {
      for (const args of [['init', '-q'], ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'only']]) {
        expect(spawnSync('git', args, { cwd: single }).status).toBe(0);
      }
      const result = spawnSync(TSX, [MAIN, '--base', 'auto'], { cwd: single, encoding: 'utf8' });
      expect(result.stdout).toContain('no base to compare');
      expect(result.status).toBe(0);
    } finally {
      rmSync(single, { recursive: true, force: true });
    }
  });
});
