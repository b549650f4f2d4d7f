/**
 * `tsc --noEmit` under strict passes on the generated code (the committed generated/ and a fixture
 * generation), on codegen/ and on the typed use of the generated API below.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureProject, REPO, type FixtureProject } from './helpers.js';

const TSC = path.join(REPO, 'node_modules/typescript/bin/tsc');

function tsc(project: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [TSC, '--noEmit', '-p', project], { cwd: REPO, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

/** A tsconfig beside the repo's (same compiler options) limited to `include`. */
function writeTsconfig(dir: string, include: string[], exclude: string[] = []): string {
  const base = JSON.parse(fs.readFileSync(path.join(REPO, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
  const file = path.join(dir, `tsconfig.codegen-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify({ compilerOptions: { ...base.compilerOptions, noEmit: true }, include, exclude }, null, 2));
  return file;
}

let fixture: FixtureProject;
beforeAll(async () => {
  fixture = await fixtureProject();
  // typed usage of the fixture's generated API: a wrong input type must be a compile error
  fs.writeFileSync(
    path.join(fixture.dir, 'usage.ts'),
    [
      "import type { Handlers } from './generated/routes/handlers.js';",
      "import { createApiRouter } from './generated/routes/router.js';",
      "import { createClient } from './generated/client/index.js';",
      "import type { Emit } from './generated/events/index.js';",
      'export const partial: Partial<Handlers> = {',
      "  createTask: async ({ body }) => ({ id: 'x', projectId: body.projectId, parentId: body.parentId ?? null, title: body.title, priority: body.priority ?? 'medium', skillIds: [], createdAt: 1 }),",
      '  updateTemplate: async ({ params, readBody }) => {',
      '    const body = readBody();',
      "    return { id: params.id, name: body.name ?? 'n', role: 'worker', content: body.content ?? 'c', isDefault: false };",
      '  },',
      "  getTemplateForRole: async ({ params }) => ({ id: 't', name: 'n', role: params.role, content: 'c', isDefault: true }),",
      '};',
      'export const router = createApiRouter(partial, { maxBodyBytes: 1024 });',
      "export const client = createClient({ baseUrl: 'http://x' });",
      "export async function use(emit: Emit): Promise<string> { const t = await client.createTask({ body: { projectId: 'p', title: 't' } }); emit('task:deleted', { id: t.id }); return t.id; }",
    ].join('\n'),
  );
});
afterAll(() => fixture.cleanup());

describe('tsc --noEmit (strict)', () => {
  it('the committed generated/, codegen/ and the router helpers type-check', () => {
    const config = writeTsconfig(REPO, ['generated', 'codegen', 'src/http/api-router.ts', 'src/http/body.ts', 'src/http/validation-errors.ts', 'test/codegen'], [
      // owned by others; not part of the generator
      'codegen/lint-spec.ts',
      'codegen/spec-diff',
    ]);
    try {
      const result = tsc(config);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    } finally {
      fs.rmSync(config);
    }
  }, 120_000);

  it('a fixture generation and typed usage of it type-check', () => {
    const result = tsc(writeTsconfig(fixture.dir, ['generated', 'usage.ts']));
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  }, 120_000);

  it('a client call that drifts from the spec is a compile error', () => {
    const file = path.join(fixture.dir, 'client-usage.ts');
    const wrong = [
      "import { createClient, type ErrorCodeOf } from './generated/client/index.js';",
      "const client = createClient({ baseUrl: 'http://x' });",
      'export async function use(): Promise<void> {',
      "  await client.createTask({ body: { projectId: 1, title: 't' } });", // projectId is a string
      '  await client.getTask({ params: {} });', // id is required
      "  await client.listTasks({ query: { nope: 'x' } });", // not a query parameter
      "  const t: { id: number } = await client.getTask({ params: { id: 'x' } });", // Task.id is a string
      '  void t;',
      '}',
      "export const code: ErrorCodeOf<'getTask'> = 'NOT_A_CODE';", // not a documented code
    ];
    fs.writeFileSync(file, wrong.join('\n'));
    try {
      const result = tsc(writeTsconfig(fixture.dir, ['generated', 'client-usage.ts']));
      expect(result.status).not.toBe(0);
      const lines = result.output.split('\n').filter((l) => l.includes('client-usage.ts('));
      expect(lines.map((l) => Number(/\((\d+),/.exec(l)![1]))).toEqual([4, 5, 6, 7, 10]);
    } finally {
      fs.rmSync(file);
    }
  }, 120_000);

  it('client types that disagree with the server types fail in contract-check.ts', () => {
    // Simulates json-schema-to-typescript typing Task differently from openapi-typescript.
    const taskTypes = path.join(fixture.generatedDir, 'types/entities/task.ts');
    const original = fs.readFileSync(taskTypes, 'utf8');
    fs.writeFileSync(taskTypes, original.replace(/export interface Task \{/, 'export interface Task {\n  extra?: number;'));
    try {
      const result = tsc(writeTsconfig(fixture.dir, ['generated']));
      expect(result.status).not.toBe(0);
      const files = new Set(result.output.split('\n').filter((l) => /\.ts\(\d+,\d+\): error/.test(l)).map((l) => path.basename(l.split('(')[0])));
      expect([...files]).toEqual(['contract-check.ts']);
      expect(result.output).toMatch(/contract-check\.ts\(\d+,\d+\): error TS2344/);
    } finally {
      fs.writeFileSync(taskTypes, original);
    }
  }, 120_000);

  it('a type error in handler usage is reported', () => {
    fs.appendFileSync(path.join(fixture.dir, 'usage.ts'), "\nexport const wrong: Partial<Handlers> = { getTask: async ({ params }) => params.id };\n");
    const result = tsc(writeTsconfig(fixture.dir, ['generated', 'usage.ts']));
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('usage.ts');
  }, 120_000);
});
