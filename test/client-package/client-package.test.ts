/**
 * `maestro-server/client` used from a separate package (test/client-package/consumer), resolved through the
 * package's `exports` exactly as after `npm install <repo>` (node_modules/maestro-server links to the repository):
 * its types checked by tsc with browser libs only, and its code run by plain Node with the global fetch and
 * WebSocket against the real server. The built entry is one self-contained ESM file without Node built-ins.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Api } from '../api/harness.js';
import { testConfig } from '../support/server.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONSUMER = path.join(REPO, 'test/client-package/consumer');

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let api: Api;

beforeAll(async () => {
  const build = spawnSync(process.execPath, [path.join(REPO, 'scripts/build-client.mjs')], { cwd: REPO, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build-client failed: ${build.stderr}`);
  // What `npm install` makes of the consumer's "maestro-server": "file:../../.." dependency.
  const link = path.join(CONSUMER, 'node_modules/maestro-server');
  fs.rmSync(path.join(CONSUMER, 'node_modules'), { recursive: true, force: true });
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(path.relative(path.dirname(link), REPO), link, 'dir');
  api = await startApi(testConfig());
}, 120_000);

afterAll(async () => {
  await api?.close();
  fs.rmSync(path.join(CONSUMER, 'node_modules'), { recursive: true, force: true });
});

describe('maestro-server/client from another package', () => {
  it('is one ESM file with no import at all (openapi-fetch inlined, no Node built-in)', () => {
    const code = fs.readFileSync(path.join(REPO, 'dist/client/index.js'), 'utf8');
    expect(code).not.toMatch(/^\s*import\s|\bimport\(|\brequire\(|node:/m);
    expect(code).toMatch(/export \{[^}]*\bcreateClient\b[^}]*\}/);
    expect(code).toMatch(/export \{[^}]*\bsubscribe\b[^}]*\}/);
  });

  it('type-checks a consumer with browser libs only (mistakes are type errors)', async () => {
    const tsc = await run(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', CONSUMER], CONSUMER);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  }, 60_000);

  it('a type error in the consumer fails the check (the check is real)', async () => {
    const broken = path.join(CONSUMER, 'broken.ts');
    const config = path.join(CONSUMER, 'tsconfig.broken.json');
    fs.writeFileSync(broken, "import { createClient } from 'maestro-server/client';\nexport const x: number = (await createClient({ baseUrl: '' }).getHealth()).status;\n");
    fs.writeFileSync(config, JSON.stringify({ extends: './tsconfig.json', compilerOptions: { skipLibCheck: true }, files: ['broken.ts'] }));
    try {
      const tsc = await run(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', config], CONSUMER);
      expect(tsc.code).not.toBe(0);
      expect(tsc.stdout).toMatch(/broken\.ts.*error TS2322/);
    } finally {
      fs.rmSync(broken, { force: true });
      fs.rmSync(config, { force: true });
    }
  }, 60_000);

  it('runs under plain Node with the global fetch and WebSocket against the real server', async () => {
    const result = await run(process.execPath, ['--experimental-websocket', 'run.mjs', api.server.url], CONSUMER);
    expect(result.stderr.replace(/.*ExperimentalWarning.*\n|.*--trace-warnings.*\n/g, '')).toBe('');
    expect(result.code).toBe(0);
    const seen = JSON.parse(result.stdout);
    expect(fs.realpathSync(fileURLToPath(seen.resolved))).toBe(path.join(REPO, 'dist/client/index.js'));
    expect(seen.project).toMatchObject({ name: 'From a package' });
    expect(seen.event).toEqual(seen.project);
    expect(seen.error).toEqual({ isApiError: true, status: 404, code: 'PROJECT_NOT_FOUND', message: 'Project not found' });
  }, 60_000);

  it('only the exported entry is reachable by name', async () => {
    const deep = await run(process.execPath, ['--input-type=module', '-e', "await import('maestro-server/src/client/index.ts')"], CONSUMER);
    expect(deep.code).not.toBe(0);
    expect(deep.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});
