/**
 * docs/behaviour.md §0.6 (Content-Type on every response, including errors and HEAD) and §2.0.1 (routing details:
 * trailing slash, case, the `spawn` id, two-segment routes, percent-decoding) through the real server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../api/harness.js';
import { JSON_CT, rawRequest } from '../support/http.js';
import { startInProcess, testConfig } from '../support/server.js';
import { startAudit, type AuditServer } from './helpers.js';

let s: AuditServer;
let projectId: string;
let taskId: string;
let queueSession: string;
let templateId: string;

function skill(root: string, id: string, manifest: Record<string, unknown>, md?: string) {
  fs.mkdirSync(path.join(root, id), { recursive: true });
  fs.writeFileSync(path.join(root, id, 'manifest.json'), JSON.stringify(manifest));
  if (md !== undefined) fs.writeFileSync(path.join(root, id, 'skill.md'), md);
}

beforeAll(async () => {
  const config = testConfig();
  fs.mkdirSync(config.skillsDir, { recursive: true });
  skill(config.skillsDir, 'role', { name: 'Skill named role' });
  skill(config.skillsDir, 'maestro-cli', { name: 'CLI' });
  skill(config.skillsDir, 'maestro-worker', { name: 'Worker' });
  s = await startAudit({ config });
  projectId = (await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' })).id;
  taskId = (await s.ok('POST', '/api/tasks', { projectId, title: 'T' })).id;
  queueSession = (await s.ok('POST', '/api/sessions', { projectId, taskIds: [taskId], strategy: 'queue' })).id;
  templateId = (await s.ok('POST', '/api/templates', { name: 'N', role: 'worker', content: 'C' })).id;
  await s.drain();
});
afterAll(async () => {
  await s.close();
});

describe('§0.6 every response is JSON with the exact Content-Type', () => {
  it('success and not-found answers of every GET route, plus HEAD with the same headers and no body', async () => {
    const gets = [
      '/api/projects',
      `/api/projects/${'x'}`,
      '/api/tasks',
      '/api/tasks/x',
      '/api/tasks/x/children',
      '/api/sessions',
      '/api/sessions/x',
      '/api/skills',
      '/api/skills/x',
      '/api/skills/role/worker',
      '/api/skills/role/nobody',
      '/api/sessions/x/queue',
      '/api/sessions/x/queue/top',
      '/api/sessions/x/queue/items',
      '/api/templates',
      '/api/templates/x',
      '/api/templates/role/worker',
      '/api/templates/role/nobody',
      '/api/templates/default/worker',
      '/api/templates/default/nobody',
      '/health',
      '/ws-status',
      '/nope',
      `/api/projects/${projectId}`,
      `/api/tasks/${taskId}`,
      `/api/sessions/${queueSession}/queue`,
    ];
    for (const url of gets) {
      const get = await s.raw('GET', url);
      expect(get.headers['content-type'], `GET ${url}`).toBe(JSON_CT);
      expect(get.json, `GET ${url}`).toBeDefined();
      const head = await s.raw('HEAD', url);
      expect(head.status, `HEAD ${url}`).toBe(get.status);
      expect(head.headers['content-type'], `HEAD ${url}`).toBe(JSON_CT);
      expect(head.text, `HEAD ${url}`).toBe('');
    }
  });

  it('protocol errors: 413, 415, 400 invalid JSON, 400 not an object; mutation routes with bodies', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) });
    const cases: Array<[number, string, Parameters<AuditServer['raw']>[2]]> = [
      [413, 'PAYLOAD_TOO_LARGE', { headers: { 'Content-Type': 'application/json' }, body: big }],
      [415, 'UNSUPPORTED_MEDIA_TYPE', { headers: { 'Content-Type': 'text/plain' }, body: '{}' }],
      [415, 'UNSUPPORTED_MEDIA_TYPE', { body: '{}' }],
      [400, 'VALIDATION_ERROR', { headers: { 'Content-Type': 'application/json' }, body: '{' }],
      [400, 'VALIDATION_ERROR', { headers: { 'Content-Type': 'application/json' }, body: '[]' }],
    ];
    for (const url of ['/api/projects', `/api/tasks/${taskId}`, `/api/sessions/${queueSession}/queue/start`, '/api/sessions/spawn']) {
      const method = url.startsWith('/api/tasks/') ? 'PATCH' : 'POST';
      for (const [status, code, opts] of cases) expectError(await s.raw(method, url, opts), status, code);
    }
    expect(await s.drain()).toEqual([]);
  });

  it('401 (token) and 403 (Host guard) answers are JSON too', async () => {
    // startAudit's WS client carries no token, so this server is started without it.
    const server = await startInProcess({ env: { MAESTRO_API_TOKEN: 'sekret' } });
    try {
      for (const [m, u] of [
        ['GET', '/api/projects'],
        ['HEAD', '/api/projects'],
        ['POST', '/api/projects'],
        ['GET', '/nope'],
        ['GET', '/ws-status'],
      ] as const) {
        const res = await rawRequest(server.port, m, u);
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toBe(JSON_CT);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        if (m !== 'HEAD') expectError(res, 401, 'UNAUTHORIZED');
      }
      const ok = await rawRequest(server.port, 'GET', '/api/projects', { headers: { Authorization: 'bearer sekret' } });
      expect(ok.status).toBe(200);
    } finally {
      await server.close();
    }
    const forbidden = await s.raw('GET', '/api/projects', { headers: { Host: 'evil.example:80' } });
    expectError(forbidden, 403, 'FORBIDDEN');
    const forbiddenHead = await s.raw('HEAD', '/health', { headers: { Host: 'evil.example' } });
    expect(forbiddenHead.status).toBe(403);
    expect(forbiddenHead.headers['content-type']).toBe(JSON_CT);
  });

  it('OPTIONS is the only answer without a body', async () => {
    const res = await s.raw('OPTIONS', '/api/projects', { headers: { Origin: 'http://localhost:5173' } });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
  });
});

describe('§2.0.1 routing', () => {
  it('GET/PATCH/DELETE /api/sessions/spawn address a session with id "spawn"', async () => {
    expectError(await s.raw('GET', '/api/sessions/spawn'), 404, 'SESSION_NOT_FOUND');
    expectError(await s.call('PATCH', '/api/sessions/spawn', { status: 'idle' }), 404, 'SESSION_NOT_FOUND');
    expectError(await s.raw('DELETE', '/api/sessions/spawn'), 404, 'SESSION_NOT_FOUND');
    expectError(await s.raw('GET', '/api/sessions/spawn/'), 404, 'SESSION_NOT_FOUND');
    expectError(await s.raw('PUT', '/api/sessions/spawn'), 404, 'NOT_FOUND');
    // With a session whose id is "spawn", those routes find it, and POST still spawns.
    const created = await s.ok('POST', '/api/sessions', { id: 'spawn', projectId, taskIds: [] });
    expect(created.id).toBe('spawn');
    expect((await s.ok('GET', '/api/sessions/spawn')).id).toBe('spawn');
    expect((await s.ok('PATCH', '/api/sessions/spawn/', { agentId: 'a' })).agentId).toBe('a');
    const spawned = await s.ok('POST', '/api/sessions/spawn/', { projectId, taskIds: [taskId] }, 201);
    expect(spawned.sessionId).toMatch(/^sess_/);
    expect((await s.ok('POST', '/api/sessions/spawn/events', { type: 'x' })).events).toHaveLength(1);
    expect((await s.ok('DELETE', '/api/sessions/spawn')).id).toBe('spawn');
    expectError(await s.raw('GET', '/api/sessions/spawn'), 404, 'SESSION_NOT_FOUND');
    await s.drain();
  });

  it('two-segment routes never collide with :id routes', async () => {
    // A skill directory named "role" is a skill; /api/skills/role/:role is the role route.
    expect((await s.ok('GET', '/api/skills/role')).name).toBe('Skill named role');
    expect((await s.ok('GET', '/api/skills/role/')).id).toBe('role');
    expect((await s.ok('GET', '/api/skills/role/worker')).map((x: any) => x.id)).toEqual(['maestro-cli', 'maestro-worker']);
    expectError(await s.raw('GET', '/api/skills/role/Worker'), 400, 'VALIDATION_ERROR');
    expect((await s.ok('POST', '/api/skills/role/reload')).reloaded).toBe(true);
    expectError(await s.raw('GET', '/api/templates/role'), 404, 'NOT_FOUND');
    expectError(await s.raw('GET', '/api/templates/default'), 404, 'NOT_FOUND');
    expectError(await s.raw('DELETE', '/api/templates/role'), 404, 'NOT_FOUND');
    expectError(await s.call('PUT', '/api/templates/default', { name: 'x' }), 404, 'NOT_FOUND');
    expectError(await s.raw('POST', '/api/templates/default/reset'), 404, 'NOT_FOUND');
    expect((await s.ok('GET', '/api/templates/role/worker')).role).toBe('worker');
    expect((await s.ok('GET', '/api/templates/default/orchestrator/')).role).toBe('orchestrator');
    for (const [m, u] of [
      ['PUT', '/api/templates/role/worker'],
      ['DELETE', '/api/templates/role/worker'],
      ['DELETE', '/api/templates/default/worker'],
      ['POST', '/api/templates/default/worker'],
      ['POST', '/api/skills/role/worker'],
      ['GET', '/api/templates/role/worker/x'],
    ] as const) {
      const res = await s.raw(m, u);
      expectError(res, 404, 'NOT_FOUND');
      expect(res.json).toMatchObject({ message: `Route not found: ${m} ${u}` });
    }
    expect(await s.drain()).toEqual([]);
  });

  it('a single trailing slash is ignored on every kind of route; two are not', async () => {
    expect((await s.ok('GET', `/api/tasks/${taskId}/children/`))).toEqual([]);
    expect((await s.ok('GET', `/api/sessions/${queueSession}/queue/top/`)).hasMore).toBe(true);
    expect((await s.ok('POST', '/api/projects/', { name: 'slash' }, 201)).name).toBe('slash');
    expect((await s.ok('GET', '/health/')).status).toBe('ok');
    expect((await s.ok('GET', '/ws-status/')).connectedClients).toBeGreaterThanOrEqual(1);
    expectError(await s.raw('GET', '/api/projects//'), 404, 'NOT_FOUND');
    expectError(await s.raw('GET', '//api/projects'), 404, 'NOT_FOUND');
    await s.drain();
  });

  it('paths are case-sensitive: every segment', async () => {
    for (const url of ['/Api/projects', '/api/PROJECTS', `/api/tasks/${taskId}/Children`, '/api/templates/Role/worker', '/HEALTH', '/api/sessions/x/Queue']) {
      expectError(await s.raw('GET', url), 404, 'NOT_FOUND');
    }
    // Ids themselves are exact too.
    expectError(await s.raw('GET', `/api/tasks/${taskId.toUpperCase()}`), 404, 'TASK_NOT_FOUND');
  });

  it('ids are percent-decoded once; unsafe and malformed ids are unknown', async () => {
    expect((await s.ok('GET', `/api/tasks/${encodeURIComponent(taskId)}`)).id).toBe(taskId);
    const t = taskId.replace('_', '%5F');
    expect((await s.ok('GET', `/api/tasks/${t}`)).id).toBe(taskId);
    for (const id of ['%2E%2E', '%2e', '..%2F..%2Fetc', 'a%5Cb', 'a%00b', '%E0%A4%A', '%', `${encodeURIComponent(taskId)}%252F`]) {
      expectError(await s.raw('GET', `/api/tasks/${id}`), 404, 'TASK_NOT_FOUND');
      expectError(await s.raw('GET', `/api/projects/${id}`), 404, 'PROJECT_NOT_FOUND');
      expectError(await s.raw('GET', `/api/sessions/${id}`), 404, 'SESSION_NOT_FOUND');
      expectError(await s.raw('GET', `/api/templates/${id}`), 404, 'NOT_FOUND');
      expectError(await s.raw('GET', `/api/skills/${id}`), 404, 'NOT_FOUND');
      expectError(await s.raw('POST', `/api/skills/${id}/reload`), 404, 'NOT_FOUND');
      expectError(await s.raw('GET', `/api/sessions/${id}/queue`), 404, 'NOT_FOUND');
      expectError(await s.raw('POST', `/api/sessions/${queueSession}/tasks/${id}`), 404, 'NOT_FOUND');
    }
    // A client session id with dots is fine, and is found through its encoded form as well.
    await s.ok('POST', '/api/sessions', { id: 'a.b-c_D', projectId, taskIds: [] });
    expect((await s.ok('GET', '/api/sessions/a%2Eb-c_D')).id).toBe('a.b-c_D');
    await s.drain();
  });

  it('query strings never change routing; repeated parameters: the first counts; legacy values normalised', async () => {
    expect((await s.ok('GET', `/api/tasks?projectId=${projectId}&projectId=nope`)).map((x: any) => x.id)).toContain(taskId);
    expect(await s.ok('GET', `/api/tasks?projectId=nope&projectId=${projectId}`)).toEqual([]);
    expect((await s.ok('GET', `/api/tasks?status=pending&projectId=${projectId}`)).map((x: any) => x.id)).toContain(taskId);
    expect((await s.ok('GET', '/api/tasks?status=pending')).every((x: any) => x.status === 'todo')).toBe(true);
    await s.ok('PATCH', `/api/sessions/${queueSession}`, { status: 'running' });
    expect((await s.ok('GET', '/api/sessions?status=running')).map((x: any) => x.id)).toEqual([queueSession]);
    expect((await s.ok('GET', '/api/sessions?status=working&status=idle')).map((x: any) => x.id)).toEqual([queueSession]);
    expect(await s.ok('GET', '/api/sessions?status=RUNNING')).toEqual([]);
    expect((await s.ok('GET', `/api/tasks/${taskId}?x=1`)).id).toBe(taskId);
    expect((await s.ok('GET', '/api/sessions?active=TRUE')).length).toBe((await s.ok('GET', '/api/sessions')).length);
    await s.drain();
  });
});
