/**
 * Bad input (issue 3): protocol errors, wrong types, path tricks, odd ids. Each gets a 4xx in the error format,
 * the server stays up, and nothing is written outside DATA_DIR.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectEvents, projectWithTask, startApi, type Api } from './harness.js';

/** Every file below `root`, relative. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

/** Sends raw bytes and returns the raw response text (for requests fetch/http would refuse to build). */
function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (/\r\n\r\n[\s\S]*\}$/.test(data) || data.includes('\r\n\r\n') && /content-length: 0/i.test(data)) socket.end();
    });
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, 2000);
  });
}

describe('bad input', () => {
  let api: Api;
  let root: string;
  let before: string[];
  let project: { id: string };
  let task: { id: string };

  beforeAll(async () => {
    api = await startApi();
    root = path.dirname(api.config.dataDir);
    ({ project, task } = await projectWithTask(api));
    before = listFiles(root).filter((f) => !f.startsWith(`data${path.sep}`));
  });
  afterAll(async () => api.close());

  it('malformed JSON → 400, non-object JSON → 400, non-JSON content type → 415, oversized → 413', async () => {
    const ct = { 'Content-Type': 'application/json' };
    expectError(await api.raw('POST', '/api/projects', { headers: ct, body: '{"name": "x",' }), 400, 'VALIDATION_ERROR');
    for (const body of ['[]', '"str"', '42', 'null', 'true']) {
      const res = await api.raw('POST', '/api/projects', { headers: ct, body });
      expectError(res, 400, 'VALIDATION_ERROR');
      expect((res.json as { message: string }).message).toBe('Request body must be a JSON object');
    }
    expectError(await api.raw('POST', '/api/projects', { headers: { 'Content-Type': 'text/plain' }, body: '{"name":"x"}' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await api.raw('POST', '/api/projects', { body: '{"name":"x"}' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const ok = await api.raw('POST', '/api/projects', { headers: { 'Content-Type': 'Application/Vnd.Foo+JSON; charset=utf-8' }, body: '{"name":"x"}' });
    expect(ok.status).toBe(201);
    const huge = JSON.stringify({ name: 'x'.repeat(api.config.maxBodyBytes + 10) });
    expectError(await api.raw('POST', '/api/projects', { headers: ct, body: huge }), 413, 'PAYLOAD_TOO_LARGE');
    // 415 wins over 413.
    expectError(await api.raw('POST', '/api/projects', { headers: { 'Content-Type': 'text/plain' }, body: huge }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    // Invalid UTF-8 is not valid JSON text.
    expectError(await api.raw('POST', '/api/projects', { headers: ct, body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }), 400, 'VALIDATION_ERROR');
    await expectEvents(api, ['project:created']);
  });

  it('very long strings and any Unicode are stored as sent (no trimming, no limit below the body limit)', async () => {
    const name = ` ${'ü\u0001'.repeat(100_000)} `;
    const res = await api.json('POST', '/api/projects', { name });
    expect(res.status).toBe(201);
    expect((res.json as { name: string }).name).toBe(name);
    await expectEvents(api, ['project:created']);
  });

  it('ids with path characters, dot segments, NUL, malformed escapes or 10 000 characters are unknown ids', async () => {
    const ids = ['..', '.', '%2E%2E', '..%2F..%2Fetc', 'a%2Fb', 'a%5Cb', 'a%00b', '%E0%A4%A', '%zz', 'x'.repeat(10_000), '..%5C..%5Cwin'];
    for (const id of ids) {
      expectError(await api.raw('GET', `/api/tasks/${id}`), 404, 'TASK_NOT_FOUND');
      expectError(await api.raw('GET', `/api/projects/${id}`), 404, 'PROJECT_NOT_FOUND');
      expectError(await api.raw('DELETE', `/api/sessions/${id}`), 404, 'SESSION_NOT_FOUND');
      expectError(await api.json('PATCH', `/api/tasks/${id}`, { title: 'x' }), 404, 'TASK_NOT_FOUND');
      expectError(await api.raw('GET', `/api/templates/${id}`), 404, 'NOT_FOUND');
      expectError(await api.raw('GET', `/api/skills/${id}`), 404, 'NOT_FOUND');
      expectError(await api.raw('GET', `/api/sessions/${id}/queue`), 404, 'NOT_FOUND');
      expectError(await api.raw('POST', `/api/sessions/${id}/tasks/${task.id}`), 404, 'NOT_FOUND');
    }
    // A raw `../` in the path is normalised by nothing: no route matches it.
    const traversal = await rawHttp(api.server.port, 'GET /api/tasks/../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(traversal).toMatch(/^HTTP\/1\.1 404/);
    expect(traversal).toContain('"code":"NOT_FOUND"');
    // References in bodies are looked up, never used as paths.
    expectError(await api.json('POST', '/api/tasks', { projectId: '../../x', title: 't' }), 404, 'PROJECT_NOT_FOUND');
    expectError(await api.json('POST', '/api/tasks', { projectId: project.id, title: 't', parentId: '../x' }), 404, 'TASK_NOT_FOUND');
    expectError(await api.json('POST', '/api/sessions', { projectId: project.id, taskIds: ['../../x'] }), 404, 'TASK_NOT_FOUND');
    await expectEvents(api, []);
  });

  it('client-chosen session ids outside [A-Za-z0-9._-]{1,128} are refused with 400 on field id', async () => {
    for (const id of ['../x', 'a/b', 'a\\b', 'a\u0000b', '.', '..', '', 'x'.repeat(10_000), 'sp ace', 'ü']) {
      expectError(await api.json('POST', '/api/sessions', { id, projectId: project.id, taskIds: [] }), 400, 'VALIDATION_ERROR', 'id');
    }
    const ok = await api.json('POST', '/api/sessions', { id: 'session-1732_a.b', projectId: project.id, taskIds: [] });
    expect(ok.status).toBe(201);
    await expectEvents(api, ['session:created']);
  });

  it('wrong types for every field of every create body are 400 VALIDATION_ERROR naming the field', async () => {
    const wrong: Array<[string, Record<string, unknown>, string]> = [
      ['/api/projects', { name: 1 }, 'name'],
      ['/api/tasks', { projectId: project.id, title: 't', description: 1 }, 'description'],
      ['/api/tasks', { projectId: project.id, title: 't', initialPrompt: {} }, 'initialPrompt'],
      ['/api/tasks', { projectId: project.id, title: 't', priority: null, skillIds: [null] }, 'skillIds'],
      ['/api/sessions', { projectId: project.id, taskIds: [], agentId: 5 }, 'agentId'],
      ['/api/sessions', { projectId: project.id, taskIds: [], env: 'a=b' }, 'env'],
      [`/api/sessions/${'sess_x'}/events`, { type: ['x'] }, 'type'],
      [`/api/tasks/${task.id}/timeline`, { message: 5, sessionId: 's' }, 'message'],
      ['/api/templates', { name: 'n', role: 'worker', content: 5 }, 'content'],
    ];
    for (const [url, body, field] of wrong) {
      expectError(await api.json('POST', url, body), 400, 'VALIDATION_ERROR', field);
    }
    await expectEvents(api, []);
  });

  it('unknown routes and methods are 404 JSON; HEAD works on GET routes; trailing slash ignored; paths case-sensitive', async () => {
    for (const [method, url] of [
      ['GET', '/api'],
      ['GET', '/nope'],
      ['PUT', '/api/tasks/x'],
      ['POST', '/api/projects/x'],
      ['DELETE', '/api/projects'],
      ['GET', '/API/projects'],
      ['PATCH', '/health'],
    ] as const) {
      const res = await api.raw(method, url);
      expectError(res, 404, 'NOT_FOUND');
      expect((res.json as { message: string }).message).toBe(`Route not found: ${method} ${url}`);
    }
    const head = await api.raw('HEAD', '/api/projects');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect((await api.raw('GET', '/api/projects/')).status).toBe(200);
  });

  it('the server is still up and wrote nothing outside DATA_DIR', async () => {
    const health = await api.raw('GET', '/health');
    expect(health.status).toBe(200);
    const after = listFiles(root).filter((f) => !f.startsWith(`data${path.sep}`));
    expect(after).toEqual(before);
    for (const f of listFiles(api.config.dataDir)) {
      expect(f).toMatch(/^(projects\/[^/]+\.json|tasks\/[^/]+\/[^/]+\.json|sessions\/[^/]+\.json|queues\/[^/]+\.json|templates\/[^/]+\.json|\.lock)$/);
    }
  });
});
