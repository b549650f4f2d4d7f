/**
 * The generated client is what the CLI and the UI import: every method of the HTTP client and the typed WebSocket
 * subscriber are exercised against the real server here, one call per operation; the client bundled for the browser
 * (ESM, no Node built-in) runs against it too. The `expectTypeOf` lines are checked by `npm run build` (tsc); the
 * exhaustive per-operation check is generated/client/contract-check.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { WebSocket } from 'ws';
import { ApiError, type ApiClient, type ErrorCodeOf, type ResponseOf } from '../../generated/client/index.js';
import { createEventSubscriber } from '../../generated/client/events.js';
import { apiRoutes } from '../../generated/routes/router.js';
import type { QueueTopResponse, Role, Task, TaskUpdateRequest, TemplateUpdateRequest } from '../../generated/types/index.js';
import { testConfig } from '../support/server.js';
import { startApi, type Api } from './harness.js';

describe('generated client against the real server', () => {
  let api: Api;
  const called = new Set<string>();
  let client: ApiClient;

  beforeAll(async () => {
    const config = testConfig();
    fs.mkdirSync(path.join(config.skillsDir, 'maestro-cli'), { recursive: true });
    fs.writeFileSync(path.join(config.skillsDir, 'maestro-cli', 'manifest.json'), '{}');
    api = await startApi(config);
    // Record which operations were called through the client.
    client = new Proxy(api.client, {
      get(target, prop, receiver) {
        if (typeof prop === 'string') called.add(prop);
        return Reflect.get(target, prop, receiver);
      },
    });
  });
  afterAll(async () => api.close());

  it('every operation, typed, and the subscriber sees the events by name', async () => {
    const sub = createEventSubscriber({ url: `ws://127.0.0.1:${api.server.port}/`, WebSocket: WebSocket as never });
    await sub.ready;
    const createdTitles: string[] = [];
    const off = sub.on('task:created', (task, envelope) => {
      createdTitles.push(task.title);
      expect(envelope.event).toBe('task:created');
    });
    const spawnEvents: string[] = [];
    sub.on('session:spawn', (payload) => spawnEvents.push(payload.session.id));

    expect((await client.getHealth()).status).toBe('ok');
    expect((await client.getWsStatus()).connectedClients).toBe(2);
    const project = await client.createProject({ body: { name: 'Client' } });
    await client.updateProject({ params: { id: project.id }, body: { description: 'via client' } });
    expect(await client.getProject({ params: { id: project.id } })).toMatchObject({ description: 'via client' });
    expect(await client.listProjects()).toHaveLength(1);
    const task = await client.createTask({ body: { projectId: project.id, title: 'first' } });
    const child = await client.createTask({ body: { projectId: project.id, title: 'second', parentId: task.id } });
    expect(await client.listTasks({ query: { projectId: project.id } })).toHaveLength(2);
    expect(await client.getTask({ params: { id: task.id } })).toEqual(task);
    expect(await client.listTaskChildren({ params: { id: task.id } })).toEqual([child]);
    await client.updateTask({ params: { id: task.id }, body: { priority: 'high' } });
    const session = await client.createSession({ body: { projectId: project.id, taskIds: [task.id], strategy: 'queue' } });
    expect(await client.listSessions({ query: { taskId: task.id } })).toHaveLength(1);
    expect((await client.getSession({ params: { id: session.id } })).strategy).toBe('queue');
    await client.updateSession({ params: { id: session.id }, body: { status: 'working' } });
    await client.addSessionEvent({ params: { id: session.id }, body: { type: 'tool_call' } });
    await client.addSessionTimelineEntry({ params: { id: session.id }, body: { message: 'step' } });
    await client.addTaskTimelineEntry({ params: { id: task.id }, body: { message: 'note', sessionId: session.id } });
    await client.addTaskToSession({ params: { id: session.id, taskId: child.id } });
    await client.removeTaskFromSession({ params: { id: session.id, taskId: child.id } });
    expect((await client.getQueue({ params: { id: session.id } })).stats.total).toBe(1);
    expect((await client.peekQueue({ params: { id: session.id } })).hasMore).toBe(true);
    await client.startQueueItem({ params: { id: session.id } });
    await client.completeQueueItem({ params: { id: session.id } });
    await client.pushQueueItem({ params: { id: session.id }, body: { taskId: child.id } });
    await client.startQueueItem({ params: { id: session.id } });
    await client.failQueueItem({ params: { id: session.id }, body: { reason: 'no' } });
    await expect(client.skipQueueItem({ params: { id: session.id } })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
    expect((await client.listQueueItems({ params: { id: session.id } })).stats).toMatchObject({ completed: 1, failed: 1 });
    const spawned = await client.spawnSession({ body: { projectId: project.id, taskIds: [task.id] } });
    expect(spawned.session.status).toBe('spawning');
    expect((await client.listSkills()).map((s) => s.id)).toEqual(['maestro-cli']);
    expect((await client.getSkill({ params: { id: 'maestro-cli' } })).instructions).toBe('');
    expect(await client.listSkillsForRole({ params: { role: 'worker' } })).toHaveLength(1);
    expect((await client.reloadSkill({ params: { id: 'maestro-cli' } })).reloaded).toBe(true);
    const templates = await client.listTemplates();
    expect(templates).toHaveLength(2);
    expect((await client.getTemplate({ params: { id: templates[0]!.id } })).isDefault).toBe(true);
    expect((await client.getTemplateForRole({ params: { role: 'worker' } })).role).toBe('worker');
    expect((await client.getDefaultTemplate({ params: { role: 'orchestrator' } })).role).toBe('orchestrator');
    const mine = await client.createTemplate({ body: { name: 'n', role: 'worker', content: 'c' } });
    await client.updateTemplate({ params: { id: mine.id }, body: { name: 'renamed' } });
    await client.resetTemplate({ params: { id: mine.id } });
    await client.deleteTemplate({ params: { id: mine.id } });
    await client.deleteSession({ params: { id: spawned.sessionId } });
    await client.deleteSession({ params: { id: session.id } });
    await client.deleteTask({ params: { id: child.id } });
    await client.deleteTask({ params: { id: task.id } });
    await client.deleteProject({ params: { id: project.id } });

    // Errors reject with ApiError carrying status, code and message.
    const err = await client.getTask({ params: { id: 'nope' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: 'TASK_NOT_FOUND', message: 'Task not found' });

    const deadline = Date.now() + 2000;
    while ((createdTitles.length < 2 || spawnEvents.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(createdTitles).toEqual(['first', 'second']);
    expect(spawnEvents).toEqual([spawned.sessionId]);
    off();
    sub.close();
    const clientMethods = apiRoutes.map((o) => o.operationId);
    expect(clientMethods.filter((m) => !called.has(m))).toEqual([]);
  });

  it('types come from the spec (checked by tsc)', () => {
    expectTypeOf<Awaited<ReturnType<ApiClient['getTask']>>>().toEqualTypeOf<Task>();
    expectTypeOf<ResponseOf<'peekQueue'>>().toEqualTypeOf<QueueTopResponse>();
    expectTypeOf<NonNullable<Parameters<ApiClient['updateTask']>[0]['body']>>().toEqualTypeOf<TaskUpdateRequest>();
    expectTypeOf<NonNullable<Parameters<ApiClient['updateTemplate']>[0]['body']>>().toEqualTypeOf<TemplateUpdateRequest>();
    expectTypeOf<Parameters<ApiClient['getTemplateForRole']>[0]['params']['role']>().toEqualTypeOf<Role>();
    expectTypeOf<NonNullable<Parameters<ApiClient['listTasks']>[0]>['query']>().toEqualTypeOf<
      { parentId?: string; projectId?: string; status?: string } | undefined
    >();
    expectTypeOf<ErrorCodeOf<'getTask'>>().toEqualTypeOf<'UNAUTHORIZED' | 'FORBIDDEN' | 'TASK_NOT_FOUND' | 'INTERNAL_ERROR'>();
  });

  it('bundled for the browser (ESM, no Node built-ins) it runs against the real server', async () => {
    // platform 'browser' fails the build on any Node built-in; everything (openapi-fetch included) is inlined.
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../../generated/client/index.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const output = Object.values(result.metafile.outputs)[0]!;
    expect(output.imports).toEqual([]);
    expect(Object.keys(result.metafile.inputs).filter((f) => f.includes('node_modules')).map((f) => f.replace(/.*node_modules\//, ''))).toEqual([
      'openapi-fetch/dist/index.mjs',
    ]);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/\bnode:|require\(/);
    console.log(`generated client browser bundle: ${code.length} bytes minified`);
    expect(code.length).toBeLessThan(20_000);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-client-bundle-'));
    try {
      const file = path.join(dir, 'client.mjs');
      fs.writeFileSync(file, code);
      const bundled = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as typeof import('../../generated/client/index.js');
      const browserClient = bundled.createClient({ baseUrl: api.server.url });
      expect((await browserClient.getHealth()).status).toBe('ok');
      const project = await browserClient.createProject({ body: { name: 'From the bundle' } });
      expect(await browserClient.getProject({ params: { id: project.id } })).toEqual(project);
      const err = await browserClient.getProject({ params: { id: 'missing' } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(bundled.ApiError);
      expect(err).toMatchObject({ status: 404, code: 'PROJECT_NOT_FOUND' });
      await browserClient.deleteProject({ params: { id: project.id } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
