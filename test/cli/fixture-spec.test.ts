/**
 * Adding an operation to the spec adds its command after `npm run codegen`, with no hand-written code: a copy of
 * the repository's spec gets one new operation (path + query parameter + a body), is generated into its own
 * generated/ (src/ is the repository's, linked), and that generated CLI shows the command in its help and sends
 * exactly the request the spec describes — to the real server, which does not have the route, so the answer is
 * compared with the same request over plain HTTP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../codegen/generate.js';
import { writeTree } from '../../codegen/tree.js';
import { commands } from '../../generated/cli/commands.js';
import { startApi, type Api } from '../api/harness.js';
import { testConfig } from '../support/server.js';
import { REPO, runCli } from './helpers.js';

const NEW_OPERATION = {
  post: {
    operationId: 'archiveProject',
    tags: ['projects'],
    summary: 'E99: Archive a project',
    description: 'Marks a project as archived (an operation that exists only in this test fixture).',
    parameters: [
      { name: 'id', in: 'path', required: true, description: 'Project id.', schema: { type: 'string' } },
      { name: 'reason', in: 'query', required: false, description: 'Why it is archived.', schema: { type: 'string' } },
    ],
    requestBody: { required: true, content: { 'application/json': { schema: { $ref: '../schemas/requests/template-create.json' } } } },
    'x-emits': ['project:updated'],
    responses: { '200': { description: 'The project.', content: { 'application/json': { schema: { $ref: '../schemas/entities/project.json' } } } } },
  },
};

let dir: string;
let api: Api;
let cli: string[];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-cli-fixture-'));
  for (const sub of ['spec', 'schemas', 'templates/prompts']) fs.cpSync(path.join(REPO, sub), path.join(dir, sub), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'src'), path.join(dir, 'src'), 'dir');
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const specFile = path.join(dir, 'spec/openapi.yaml');
  const doc = parse(fs.readFileSync(specFile, 'utf8'));
  doc.paths['/api/projects/{id}/archive'] = NEW_OPERATION;
  fs.writeFileSync(specFile, stringify(doc));
  writeTree(path.join(dir, 'generated'), await generate({ root: dir }));
  cli = [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(dir, 'generated/cli/main.ts')];
  api = await startApi(testConfig());
}, 120_000);

afterAll(async () => {
  await api?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a new operation in the spec becomes a command', () => {
  it('is not in the repository, only in the fixture', () => {
    expect(commands.map((c): string => c.operationId)).not.toContain('archiveProject');
  });

  it('appears in the group help and has its own generated help', async () => {
    const group = await runCli(['projects', '--help'], { command: cli });
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/archive \[options\] +E99: Archive a project/);
    const own = await runCli(['projects', 'archive', '--help'], { command: cli });
    expect(own.code).toBe(0);
    expect(own.stdout).toContain('Marks a project as archived');
    expect(own.stdout).toMatch(/--id <value> +Project id\. \(required\)/);
    expect(own.stdout).toMatch(/--reason <value> +Why it is archived\./);
    expect(own.stdout).toMatch(/--role <value> .*choices: "worker", "orchestrator"/);
    expect(own.stdout).toContain('Request: POST /api/projects/{id}/archive → 200');
    expect(own.stdout).toContain('Emits: project:updated');
  }, 60_000);

  it('sends the request the spec describes (path, query, body) and checks its flags', async () => {
    const run = await runCli(['projects', 'archive', '--id', 'p 1', '--reason', 'old', '--name', 'n', '--role', 'worker', '--content', 'c'], {
      command: cli,
      env: { MAESTRO_URL: api.server.url },
    });
    // The real server has no such route: its 404 names the request the CLI sent.
    const same = await api.json('POST', '/api/projects/p%201/archive?reason=old', { name: 'n', role: 'worker', content: 'c' });
    expect(same.status).toBe(404);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`NOT_FOUND: ${(same.json as { message: string }).message}\n`);
    const missing = await runCli(['projects', 'archive', '--id', 'p', '--name', 'n', '--role', 'worker'], { command: cli, env: { MAESTRO_URL: api.server.url } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '--content' not specified/);
  }, 60_000);
});
