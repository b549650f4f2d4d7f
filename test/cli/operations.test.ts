/**
 * Every operation of the spec through `maestro-api` (a child process per call) against the real server, with
 * `--json`: the printed JSON is the API's answer, compared with the same read over plain HTTP. The commands are
 * looked up in the generated table, and the test fails if one operation was never called.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../generated/cli/commands.js';
import { startApi, type Api } from '../api/harness.js';
import { testConfig } from '../support/server.js';
import { buildCliBundle, runCli } from './helpers.js';

let api: Api;
const called = new Set<string>();

/** Runs `<group> <name> …flags --json`, expects exit 0 and returns the parsed stdout. */
async function call(group: string, name: string, flags: string[] = [], input?: string): Promise<any> {
  const command = commands.find((c) => c.group === group && c.name === name);
  if (!command) throw new Error(`no command ${group} ${name}`);
  called.add(command.operationId);
  const run = await runCli([group, name, ...flags, '--json'], { env: { MAESTRO_URL: api.server.url }, input });
  expect(run.stderr).toBe('');
  expect(run.code, `${group} ${name}`).toBe(0);
  expect(run.stdout.endsWith('\n')).toBe(true);
  expect(run.stdout.trimEnd().split('\n')).toHaveLength(1); // not a TTY: one line, nothing decorative
  return JSON.parse(run.stdout);
}

/** The same read over plain HTTP. */
async function httpGet(urlPath: string): Promise<unknown> {
  const res = await api.raw('GET', urlPath);
  expect(res.status).toBe(200);
  return res.json;
}

beforeAll(async () => {
  buildCliBundle();
  const config = testConfig();
  fs.mkdirSync(path.join(config.skillsDir, 'maestro-cli'), { recursive: true });
  fs.writeFileSync(path.join(config.skillsDir, 'maestro-cli', 'manifest.json'), '{}');
  api = await startApi(config);
});
afterAll(async () => api.close());

describe('maestro-api: every operation against the real server', () => {
  it('calls each command once and prints exactly what the API answers', async () => {
    expect(Object.keys(await call('health', 'get'))).toEqual(Object.keys((await httpGet('/health')) as object));
    expect((await call('health', 'get-ws-status')).connectedClients).toBe(1);

    const project = await call('projects', 'create', ['--name', 'Demo', '--working-dir', '/tmp/demo']);
    expect(project).toMatchObject({ name: 'Demo', workingDir: '/tmp/demo' });
    expect(await call('projects', 'update', ['--id', project.id, '--description', 'from the CLI'])).toMatchObject({ description: 'from the CLI' });
    expect(await call('projects', 'get', ['--id', project.id])).toEqual(await httpGet(`/api/projects/${project.id}`));
    expect(await call('projects', 'list')).toEqual(await httpGet('/api/projects'));

    const task = await call('tasks', 'create', ['--project-id', project.id, '--title', 'Fix login', '--priority', 'high', '--skill-ids', 'a', '--skill-ids', 'b']);
    expect(task).toMatchObject({ title: 'Fix login', priority: 'high', skillIds: ['a', 'b'], parentId: null });
    // --data from stdin, a flag laid over it
    const child = await call('tasks', 'create', ['--data', '-', '--parent-id', task.id], JSON.stringify({ projectId: project.id, title: 'child', description: 'from stdin' }));
    expect(child).toMatchObject({ title: 'child', description: 'from stdin', parentId: task.id });
    expect(await call('tasks', 'list', ['--project-id', project.id, '--status', 'todo'])).toEqual(await httpGet(`/api/tasks?projectId=${project.id}&status=todo`));
    expect(await call('tasks', 'get', ['--id', task.id])).toEqual(await httpGet(`/api/tasks/${task.id}`));
    expect(await call('tasks', 'list-children', ['--id', task.id])).toEqual([child]);
    expect(await call('tasks', 'update', ['--id', task.id, '--status', 'in_progress', '--due-date', '2030-01-31'])).toMatchObject({ status: 'in_progress', dueDate: '2030-01-31' });

    const session = await call('sessions', 'create', ['--project-id', project.id, '--task-ids', task.id, '--strategy', 'queue', '--env', '{"A":"1"}']);
    expect(session).toMatchObject({ strategy: 'queue', env: { A: '1' }, taskIds: [task.id] });
    expect(await call('sessions', 'list', ['--task-id', task.id])).toEqual(await httpGet(`/api/sessions?taskId=${task.id}`));
    expect(await call('sessions', 'get', ['--id', session.id])).toEqual(await httpGet(`/api/sessions/${session.id}`));
    expect(await call('sessions', 'update', ['--id', session.id, '--status', 'working'])).toMatchObject({ status: 'working' });
    const withEvent = await call('sessions', 'add-event', ['--id', session.id, '--type', 'tool_call', '--body-data', '{"tool":"grep"}']);
    expect(withEvent.events.at(-1)).toMatchObject({ type: 'tool_call', data: { tool: 'grep' } });
    expect((await call('sessions', 'add-timeline-entry', ['--id', session.id, '--message', 'step'])).timeline.at(-1)).toMatchObject({ message: 'step' });
    await call('tasks', 'add-timeline-entry', ['--id', task.id, '--message', 'note', '--session-id', session.id]);
    expect((await call('sessions', 'add-task', ['--id', session.id, '--task-id', child.id])).taskIds).toContain(child.id);
    expect((await call('sessions', 'remove-task', ['--id', session.id, '--task-id', child.id])).taskIds).not.toContain(child.id);

    expect(await call('queue', 'get', ['--id', session.id])).toEqual(await httpGet(`/api/sessions/${session.id}/queue`));
    expect(await call('queue', 'peek', ['--id', session.id])).toEqual(await httpGet(`/api/sessions/${session.id}/queue/top`));
    await call('queue', 'start-item', ['--id', session.id]);
    await call('queue', 'complete-item', ['--id', session.id]);
    await call('queue', 'push-item', ['--id', session.id, '--task-id', child.id]);
    await call('queue', 'start-item', ['--id', session.id]);
    await call('queue', 'fail-item', ['--id', session.id, '--reason', 'no']);
    const third = await call('tasks', 'create', ['--data', JSON.stringify({ projectId: project.id, title: 'third' })]);
    await call('queue', 'push-item', ['--id', session.id, '--task-id', third.id]);
    expect((await call('queue', 'skip-item', ['--id', session.id])).skippedItem).toMatchObject({ taskId: third.id, status: 'skipped' });
    expect(await call('queue', 'list-items', ['--id', session.id])).toEqual(await httpGet(`/api/sessions/${session.id}/queue/items`));

    const spawned = await call('sessions', 'spawn', ['--project-id', project.id, '--task-ids', task.id, '--role', 'worker']);
    expect(spawned.session.status).toBe('spawning');

    expect(await call('skills', 'list')).toEqual(await httpGet('/api/skills'));
    expect(await call('skills', 'get', ['--id', 'maestro-cli'])).toEqual(await httpGet('/api/skills/maestro-cli'));
    expect(await call('skills', 'list-for-role', ['--role', 'worker'])).toEqual(await httpGet('/api/skills/role/worker'));
    expect((await call('skills', 'reload', ['--id', 'maestro-cli'])).reloaded).toBe(true);

    const templates = await call('templates', 'list');
    expect(templates).toEqual(await httpGet('/api/templates'));
    expect(await call('templates', 'get', ['--id', templates[0].id])).toEqual(await httpGet(`/api/templates/${templates[0].id}`));
    expect(await call('templates', 'get-for-role', ['--role', 'worker'])).toEqual(await httpGet('/api/templates/role/worker'));
    expect(await call('templates', 'get-default', ['--role', 'orchestrator'])).toEqual(await httpGet('/api/templates/default/orchestrator'));
    const mine = await call('templates', 'create', ['--name', 'n', '--role', 'worker', '--content', 'c']);
    expect(await call('templates', 'update', ['--id', mine.id, '--name', 'renamed'])).toMatchObject({ name: 'renamed' });
    await call('templates', 'reset', ['--id', mine.id]);
    await call('templates', 'delete', ['--id', mine.id]);

    await call('sessions', 'delete', ['--id', spawned.sessionId]);
    await call('sessions', 'delete', ['--id', session.id]);
    await call('tasks', 'delete', ['--id', third.id]);
    await call('tasks', 'delete', ['--id', child.id]);
    await call('tasks', 'delete', ['--id', task.id]);
    expect(await call('projects', 'delete', ['--id', project.id])).toEqual({ success: true, id: project.id });

    expect(commands.map((c) => c.operationId).filter((id) => !called.has(id))).toEqual([]);
  }, 300_000);
});
