/**
 * `maestro-api`'s exit codes, each through a child process: 0 success, 1 an API error (`CODE: message` on
 * stderr), 2 a usage error naming the flag, 3 no server; the server chosen by --url/MAESTRO_URL and the token by
 * --token/MAESTRO_API_TOKEN; the table/record view without --json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Api } from '../api/harness.js';
import { freePort } from '../support/http.js';
import { startInProcess, testConfig, type InProcessServer } from '../support/server.js';
import { buildCliBundle, runCli } from './helpers.js';

let api: Api;
let env: Record<string, string>;

beforeAll(async () => {
  buildCliBundle();
  api = await startApi(testConfig());
  env = { MAESTRO_URL: api.server.url };
});
afterAll(async () => api.close());

describe('exit codes', { timeout: 60_000 }, () => {
  it('0: success; without --json a plain table (stdout is not a TTY: no colour codes)', async () => {
    const created = await runCli(['projects', 'create', '--name', 'Demo', '--working-dir', '/tmp/demo'], { env });
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^id: +proj_\S+\nname: +Demo\n/);
    const list = await runCli(['projects', 'list'], { env });
    expect(list.code).toBe(0);
    const [header, row] = list.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +NAME +WORKINGDIR/);
    expect(row).toMatch(/^proj_\S+ +Demo +\/tmp\/demo/);
    expect(list.stdout).not.toContain('\u001b[');
  });

  it('1: an API error prints CODE: message on stderr (and the error body with --json)', async () => {
    const run = await runCli(['tasks', 'get', '--id', 'nope'], { env });
    expect(run).toMatchObject({ code: 1, stdout: '', stderr: 'TASK_NOT_FOUND: Task not found\n' });
    const json = await runCli(['tasks', 'create', '--project-id', 'nope', '--title', 'x', '--json'], { env });
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('PROJECT_NOT_FOUND: Project not found\n');
    expect(JSON.parse(json.stdout)).toEqual((await api.json('POST', '/api/tasks', { projectId: 'nope', title: 'x' })).json);
    const invalid = await runCli(['tasks', 'create', '--project-id', 'p', '--title', ' '], { env });
    expect(invalid).toMatchObject({ code: 1, stderr: 'VALIDATION_ERROR: title is required\n' });
    // With --data the body is the caller's: the server, not the CLI, says what is missing.
    const partial = await runCli(['tasks', 'create', '--data', '{"projectId":"p"}'], { env });
    expect(partial).toMatchObject({ code: 1, stderr: 'VALIDATION_ERROR: title is required\n' });
  });

  it('2: usage errors name the flag and send nothing', async () => {
    const before = (await api.raw('GET', '/api/projects')).json;
    const cases: [string[], RegExp][] = [
      [['projects', 'list', '--bogus'], /unknown option '--bogus'/],
      [['tasks', 'create', '--project-id', 'p', '--title', 't', '--priority', 'urgent'], /'--priority <value>' argument 'urgent' is invalid.*low, medium, high/],
      [['tasks', 'create', '--project-id', 'p'], /required option '--title' not specified/],
      [['projects', 'create'], /required option '--name' not specified/],
      [['tasks', 'get'], /required option '--id <value>' not specified/],
      [['sessions', 'create', '--project-id', 'p', '--env', '{not json'], /'--env <json>' argument '\{not json' is invalid. It is not valid JSON/],
      [['tasks', 'create', '--data', '@/nonexistent/body.json'], /--data' cannot read \/nonexistent\/body.json/],
      [['skills', 'list-for-role', '--role', 'admin'], /'--role <value>' argument 'admin' is invalid/],
      [['nothing-like-this'], /unknown command 'nothing-like-this'/],
      [['watch', '--event', 'nope:*'], /--event' argument 'nope:\*' matches no event/],
      [['projects', 'list', '--url', 'not a url'], /option '--url' is not a URL/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args, { env });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
      expect(run.stdout).toBe('');
    }
    expect((await api.raw('GET', '/api/projects')).json).toEqual(before);
  }, 120_000);

  it('3: the server cannot be reached (--url beats MAESTRO_URL)', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await runCli(['projects', 'list', '--url', url], { env });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(new RegExp(`cannot reach the server at ${url}.*ECONNREFUSED`));
    const fromEnv = await runCli(['health', 'get'], { env: { MAESTRO_URL: url } });
    expect(fromEnv.code).toBe(3);
    const watch = await runCli(['watch'], { env: { MAESTRO_URL: url } });
    expect(watch.code).toBe(3);
  });

  it('--data @file.json sends the file as the body', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-api-data-'));
    try {
      const file = path.join(dir, 'project.json');
      fs.writeFileSync(file, JSON.stringify({ name: 'From a file', description: 'd' }));
      const run = await runCli(['projects', 'create', '--data', `@${file}`, '--json'], { env });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ name: 'From a file', description: 'd' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('token', { timeout: 60_000 }, () => {
  // The harness's own WebSocket client sends no token, so this server is started without it.
  let secured: InProcessServer;
  beforeAll(async () => {
    secured = await startInProcess({ env: { MAESTRO_API_TOKEN: 's3cret' } });
  });
  afterAll(async () => secured.close());

  it('MAESTRO_API_TOKEN or --token is sent; without it the API answers 401 (exit 1)', async () => {
    const url = secured.server.url;
    expect(await runCli(['projects', 'list'], { env: { MAESTRO_URL: url } })).toMatchObject({ code: 1, stderr: 'UNAUTHORIZED: Missing or invalid API token\n' });
    expect(await runCli(['projects', 'list', '--json'], { env: { MAESTRO_URL: url, MAESTRO_API_TOKEN: 's3cret' } })).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(await runCli(['projects', 'list', '--json', '--url', url, '--token', 's3cret'])).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(await runCli(['watch'], { env: { MAESTRO_URL: url } })).toMatchObject({ code: 1, stderr: expect.stringMatching(/^UNAUTHORIZED: /) });
  });
});
