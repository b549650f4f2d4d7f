/** `npm run lint:spec` (codegen/lint-spec.ts) passes on the real documents and fails on broken ones. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { repoRoot, specFile, type JsonObject } from './spec-helpers.js';

const tsx = path.join(repoRoot, 'node_modules', '.bin', process.platform === 'win32' ? 'tsx.cmd' : 'tsx');
const asyncapiFile = path.join(repoRoot, 'spec', 'asyncapi.yaml');

function lint(...args: string[]): { status: number | null; out: string } {
  const run = spawnSync(tsx, ['codegen/lint-spec.ts', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

// Broken copies live in a scratch folder beside a link to the real schemas/, so `../schemas/…` still resolves.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'lint-spec-'));
mkdirSync(path.join(scratch, 'spec'));
symlinkSync(path.join(repoRoot, 'schemas'), path.join(scratch, 'schemas'), 'dir');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function brokenCopy(name: string, change: (doc: JsonObject) => void): string {
  const doc = parseYaml(readFileSync(specFile, 'utf8')) as JsonObject;
  change(doc);
  const file = path.join(scratch, 'spec', name);
  writeFileSync(file, stringifyYaml(doc, { aliasDuplicateObjects: false }));
  return file;
}

const op = (doc: JsonObject, p: string, method: string): JsonObject => ((doc.paths as JsonObject)[p] as JsonObject)[method] as JsonObject;

// Each case starts Redocly and the AsyncAPI parser in a child process: give it room on a busy CI machine.
describe('npm run lint:spec', { timeout: 120_000 }, () => {
  it('exits 0 on spec/openapi.yaml and spec/asyncapi.yaml', () => {
    const run = spawnSync('npm', ['run', '-s', 'lint:spec'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000, shell: process.platform === 'win32' });
    expect(`${run.stdout}${run.stderr}`).toMatch(/lint:spec: 0 error\(s\)/);
    expect(run.status).toBe(0);
  });

  it('fails when the AsyncAPI document is missing', () => {
    const run = lint('--asyncapi', path.join(scratch, 'spec', 'does-not-exist.yaml'));
    expect(run.out).toMatch(/does-not-exist\.yaml\s+file-exists\s+document not found/);
    expect(run.status).toBe(1);
  });

  it('fails on Redocly errors: a duplicate operationId and an unresolvable schema file', () => {
    const file = brokenCopy('redocly-errors.yaml', (doc) => {
      op(doc, '/api/projects', 'get').operationId = 'createProject';
      op(doc, '/api/projects', 'post').requestBody = {
        content: { 'application/json': { schema: { $ref: '../schemas/requests/nope.json' } } },
      };
    });
    const run = lint('--openapi', file, '--asyncapi', asyncapiFile);
    expect(run.out).toMatch(/no-unresolved-refs/);
    expect(run.out).toMatch(/operation-operationId-unique/);
    expect(run.status).toBe(1);
  });

  it('fails on an example that does not match its schema', () => {
    const file = brokenCopy('bad-example.yaml', (doc) => {
      const ok = (op(doc, '/health', 'get').responses as JsonObject)['200'] as JsonObject;
      const media = (ok.content as JsonObject)['application/json'] as JsonObject;
      ((media.examples as JsonObject).ok as JsonObject).value = { status: 'ok', timestamp: 'yesterday', uptime: 1, storage: { quarantined: 0 } };
    });
    const run = lint('--openapi', file, '--asyncapi', asyncapiFile);
    expect(run.out).toMatch(/GET \/health 200 application\/json example "ok"\s+example-valid\s+\/timestamp/);
    expect(run.status).toBe(1);
  });

  it('fails when x-emits names an event the AsyncAPI catalogue does not have', () => {
    const file = brokenCopy('unknown-event.yaml', (doc) => {
      op(doc, '/api/projects', 'post')['x-emits'] = ['project:made'];
    });
    const run = lint('--openapi', file, '--asyncapi', asyncapiFile);
    expect(run.out).toMatch(/x-emits-known-event\s+createProject emits "project:made"/);
    expect(run.status).toBe(1);
  });
});
