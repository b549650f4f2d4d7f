/**
 * The generated router through a real HTTP port (fixture spec): body protocol checks (docs/behaviour.md §3.3),
 * null stripping and validation mapping (spec-conventions §2), role params, 501 stubs, path and query rules;
 * and the generated table itself: data only, one entry per operation, one body rule per request schema.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ContractError } from '../../src/contract-error.js';
import type { ApiRoute } from '../../src/http/api-router.js';
import { fixtureProject, REPO, type FixtureProject } from './helpers.js';

interface Call {
  op: string;
  input: Record<string, unknown>;
}

let project: FixtureProject;
let server: http.Server;
let base: string;
let calls: Call[] = [];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let handlers: Record<string, (input: any) => Promise<unknown>>;

function record(op: string, result: unknown) {
  return async (input: Record<string, unknown>) => {
    calls.push({ op, input });
    return result;
  };
}

beforeAll(async () => {
  project = await fixtureProject();
  const { createApiRouter } = (await import(path.join(project.generatedDir, 'routes/router.ts'))) as {
    createApiRouter: (h: unknown, o: { maxBodyBytes: number }) => express.Router;
  };
  handlers = {
    listTasks: record('listTasks', []),
    createTask: record('createTask', { id: 'task_1' }),
    getTask: record('getTask', { id: 'task_1' }),
    createTemplate: record('createTemplate', { id: 'tmpl_1' }),
    getTemplateForRole: record('getTemplateForRole', { id: 'tmpl_1' }),
    spawnSession: record('spawnSession', { success: true, sessionId: 'sess_1' }),
    resetTemplate: record('resetTemplate', { id: 'tmpl_1' }),
    updateTemplate: async (input: { params: { id: string }; readBody(): unknown }) => {
      calls.push({ op: 'updateTemplate', input });
      if (input.params.id === 'unknown') throw new ContractError(404, 'NOT_FOUND', 'Template not found');
      return { body: input.readBody() };
    },
  };
  const app = express();
  app.use(createApiRouter(handlers, { maxBodyBytes: 1024 }));
  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: true, code: 'NOT_FOUND', message: `Route not found: ${req.method} ${req.originalUrl}` });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ContractError) res.status(err.status).json(err.toBody());
    else res.status(500).json({ error: true, code: 'INTERNAL_ERROR', message: String(err) });
  });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  project.cleanup();
});

beforeEach(() => {
  calls = [];
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  text: string;
}

/** Raw HTTP (fetch cannot send bodies on GET nor omit Content-Type freely). */
function request(method: string, pathname: string, options: { body?: string | Buffer; headers?: Record<string, string>; chunked?: boolean } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined && !options.chunked) headers['content-length'] = Buffer.byteLength(options.body);
    // host/port/path options: a URL string would normalise %2E%2E away before sending
    const { hostname, port } = new URL(base);
    const req = http.request({ hostname, port, path: pathname, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = undefined;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const json = (value: unknown) => ({ body: JSON.stringify(value), headers: { 'content-type': 'application/json' } });

describe('valid requests reach the handler with typed input', () => {
  it('createTask: 201, body as sent minus nulls the schema does not allow', async () => {
    const reply = await request('POST', '/api/tasks', json({ projectId: 'p1', title: 'T', description: null, parentId: null, priority: null, extra: 1 }));
    expect(reply.status).toBe(201);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.body).toEqual({ id: 'task_1' });
    expect(calls).toHaveLength(1);
    expect(calls[0].input).toEqual({ params: {}, query: {}, body: { projectId: 'p1', title: 'T', parentId: null, extra: 1 } });
  });

  it('null on a required field counts as missing', async () => {
    const reply = await request('POST', '/api/tasks', json({ projectId: 'p1', title: null }));
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'title is required', details: { field: 'title' } });
    expect(calls).toHaveLength(0);
  });

  it('path params, trailing slash and HEAD', async () => {
    expect((await request('GET', '/api/tasks/task_9')).status).toBe(200);
    expect(calls[0].input).toEqual({ params: { id: 'task_9' }, query: {} });
    expect((await request('GET', '/api/tasks/task_9/')).status).toBe(200);
    const head = await request('HEAD', '/api/tasks/task_9');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('paths are case-sensitive; unknown routes fall through to the app', async () => {
    const reply = await request('GET', '/API/tasks');
    expect(reply.status).toBe(404);
    expect(reply.body).toMatchObject({ code: 'NOT_FOUND', message: 'Route not found: GET /API/tasks' });
  });

  it('repeated query parameter: the first occurrence, as a string; undeclared ones are not passed', async () => {
    await request('GET', '/api/tasks?projectId=a&projectId=b&status=todo&other=1');
    expect(calls[0].input).toEqual({ params: {}, query: { projectId: 'a', status: 'todo' } });
  });

  it('malformed percent-encoding is a literal id; %2F decodes to /', async () => {
    expect((await request('GET', '/api/tasks/%E0%A4%A')).status).toBe(200);
    expect((await request('GET', '/api/tasks/a%2Fb')).status).toBe(200);
    expect((await request('GET', '/api/tasks/%zz%41')).status).toBe(200);
    expect((await request('GET', '/api/tasks/%2E%2E')).status).toBe(200);
    expect(calls.map((c) => (c.input.params as { id: string }).id)).toEqual(['%E0%A4%A', 'a/b', '%zz%41', '..']);
  });

  it('an unknown method on a known path, and two trailing slashes, fall through to the app 404 (no 405)', async () => {
    for (const [method, url] of [
      ['PUT', '/api/tasks/task_1'],
      ['DELETE', '/api/tasks'],
      ['GET', '/api/tasks/task_1//'],
      ['HEAD', '/api/templates/tmpl_1/reset'],
    ] as const) {
      const reply = await request(method, url);
      expect(reply.status, `${method} ${url}`).toBe(404);
      if (method !== 'HEAD') expect(reply.body).toMatchObject({ code: 'NOT_FOUND', message: `Route not found: ${method} ${url}` });
    }
    expect(calls).toHaveLength(0);
  });

  it('a handler that throws synchronously reaches the error handler', async () => {
    const saved = handlers.getTask;
    handlers.getTask = () => {
      throw new ContractError(418, 'TEAPOT', 'sync throw');
    };
    try {
      const reply = await request('GET', '/api/tasks/task_1');
      expect(reply.status).toBe(418);
      expect(reply.body).toEqual({ error: true, code: 'TEAPOT', message: 'sync throw' });
    } finally {
      handlers.getTask = saved!;
    }
  });

  it('a malformed segment on an unknown route still gets the app 404 with the original URL', async () => {
    const reply = await request('GET', '/api/nothing/%E0%A4%A');
    expect(reply.status).toBe(404);
    expect(reply.body).toMatchObject({ message: 'Route not found: GET /api/nothing/%E0%A4%A' });
  });
});

describe('validation errors: one ContractError, in x-validation-order', () => {
  const cases: [string, unknown, Record<string, unknown>][] = [
    ['missing required', { title: 'T' }, { code: 'VALIDATION_ERROR', message: 'projectId is required', details: { field: 'projectId' } }],
    ['blank required (x-error-messages)', { projectId: 'p', title: '  ' }, { message: 'title is required', details: { field: 'title' } }],
    ['wrong type', { projectId: 'p', title: 'T', description: 5 }, { message: 'description must be a string', details: { field: 'description' } }],
    ['enum', { projectId: 'p', title: 'T', priority: 'urgent' }, { message: 'priority must be one of: low, medium, high', details: { field: 'priority' } }],
    ['array entry', { projectId: 'p', title: 'T', skillIds: ['a', 3] }, { message: 'skillIds[1] must be a string', details: { field: 'skillIds' } }],
    ['array type', { projectId: 'p', title: 'T', skillIds: 'a' }, { message: 'skillIds must be an array of strings', details: { field: 'skillIds' } }],
    ['date format', { projectId: 'p', title: 'T', dueDate: '2024-02-30' }, { message: 'dueDate must be a date in YYYY-MM-DD format', details: { field: 'dueDate' } }],
    ['two invalid fields: the earlier wins', { projectId: 'p', title: 'T', priority: 'x', description: 1 }, { details: { field: 'description' } }],
  ];
  it.each(cases)('createTask: %s', async (_name, body, expected) => {
    const reply = await request('POST', '/api/tasks', json(body));
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: true, code: 'VALIDATION_ERROR', ...expected });
    expect(calls).toHaveLength(0);
  });

  it('a valid dueDate and a null dueDate pass', async () => {
    expect((await request('POST', '/api/tasks', json({ projectId: 'p', title: 'T', dueDate: '2024-02-29' }))).status).toBe(201);
    expect((await request('POST', '/api/tasks', json({ projectId: 'p', title: 'T', dueDate: null }))).status).toBe(201);
    expect((calls[1].input.body as { dueDate: unknown }).dueDate).toBeNull();
  });

  const templateCases: [string, unknown, string, string][] = [
    ['name missing + role invalid → name', { role: 'admin', content: 'c' }, 'name', 'name, role, and content are required'],
    ['role invalid + content missing → content (presence before role validity)', { name: 'n', role: 'admin' }, 'content', 'name, role, and content are required'],
    ['role missing + content missing → role', { name: 'n' }, 'role', 'name, role, and content are required'],
    ['role blank → required message', { name: 'n', role: ' ', content: 'c' }, 'role', 'name, role, and content are required'],
    ['all present, role invalid → Invalid role', { name: 'n', role: 'admin', content: 'c' }, 'role', 'Invalid role'],
  ];
  it.each(templateCases)('createTemplate: %s', async (_name, body, field, message) => {
    const reply = await request('POST', '/api/templates', json(body));
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: true, code: 'VALIDATION_ERROR', message, details: { field } });
  });

  const spawnCases: [string, unknown, string, string][] = [
    ['projectId null', { projectId: null, taskIds: ['t'] }, 'missing_project_id', 'projectId is required'],
    ['projectId blank beats bad taskIds', { projectId: ' ', taskIds: [] }, 'missing_project_id', 'projectId is required'],
    ['taskIds empty', { projectId: 'p', taskIds: [] }, 'invalid_task_ids', 'taskIds must be a non-empty array'],
    ['taskIds blank entry', { projectId: 'p', taskIds: ['t', ' '] }, 'invalid_task_ids', 'taskIds must be a non-empty array'],
    ['spawnSource', { projectId: 'p', taskIds: ['t'], spawnSource: 'cli' }, 'invalid_spawn_source', "spawnSource must be 'ui' or 'session'"],
    ['session without sessionId', { projectId: 'p', taskIds: ['t'], spawnSource: 'session', role: 'x' }, 'missing_session_id', "sessionId is required when spawnSource is 'session'"],
    ['role', { projectId: 'p', taskIds: ['t'], role: 'boss' }, 'invalid_role', "role must be 'worker' or 'orchestrator'"],
  ];
  it.each(spawnCases)('spawnSession: %s → spawn code, no details', async (_name, body, code, message) => {
    const reply = await request('POST', '/api/sessions/spawn', json(body));
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: true, code, message });
    expect(calls).toHaveLength(0);
  });

  it('spawnSession: a wrong-type optional field is VALIDATION_ERROR with details.field', async () => {
    const reply = await request('POST', '/api/sessions/spawn', json({ projectId: 'p', taskIds: ['t'], sessionName: 3 }));
    expect(reply.body).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'sessionName must be a non-empty string', details: { field: 'sessionName' } });
  });

  it('spawnSession: valid request → 201', async () => {
    const reply = await request('POST', '/api/sessions/spawn', json({ projectId: 'p', taskIds: ['t'], spawnSource: 'session', sessionId: 's', skills: null }));
    expect(reply.status).toBe(201);
    expect(calls[0].input.body).toEqual({ projectId: 'p', taskIds: ['t'], spawnSource: 'session', sessionId: 's' });
  });
});

describe('x-validate-body: after-lookup', () => {
  it('the handler runs its lookup first; an invalid body is reported only when it calls readBody()', async () => {
    const missing = await request('PUT', '/api/templates/unknown', json({}));
    expect(missing.status).toBe(404);
    const invalid = await request('PUT', '/api/templates/tmpl_1', json({}));
    expect(invalid.status).toBe(400);
    expect(invalid.body).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'At least one of name or content is required', details: { field: 'name' } });
    const ok = await request('PUT', '/api/templates/tmpl_1', json({ content: 'new', name: null }));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ body: { content: 'new' } });
    expect(calls).toHaveLength(3);
  });

  it('the body protocol checks still run before the handler', async () => {
    const reply = await request('PUT', '/api/templates/unknown', { body: '{', headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'Invalid JSON body' });
    expect(calls).toHaveLength(0);
  });
});

describe('role path parameter', () => {
  it('valid role reaches the handler', async () => {
    expect((await request('GET', '/api/templates/role/worker')).status).toBe(200);
    expect(calls[0].input.params).toEqual({ role: 'worker' });
  });
  it('invalid role → 400 VALIDATION_ERROR field role with x-error-message', async () => {
    const reply = await request('GET', '/api/templates/role/Worker');
    expect(reply.body).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'Invalid role', details: { field: 'role' } });
    expect(calls).toHaveLength(0);
  });
});

describe('body protocol checks (docs/behaviour.md §3.3 4–7)', () => {
  it('415 for a non-empty body without or with a non-JSON Content-Type', async () => {
    const headerSets: Record<string, string>[] = [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/jsonx' }];
    for (const headers of headerSets) {
      const reply = await request('POST', '/api/tasks', { body: '{"projectId":"p","title":"t"}', headers });
      expect(reply.status).toBe(415);
      expect(reply.body).toEqual({ error: true, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' });
    }
    expect(calls).toHaveLength(0);
  });

  it('JSON media types: case-insensitive, parameters ignored, +json suffix', async () => {
    for (const type of ['Application/JSON; charset=UTF-8', 'application/merge-patch+json']) {
      const reply = await request('POST', '/api/tasks', { body: '{"projectId":"p","title":"t"}', headers: { 'content-type': type } });
      expect(reply.status).toBe(201);
    }
  });

  it('415 wins over 413 when the type is wrong', async () => {
    const big = 'x'.repeat(4096);
    expect((await request('POST', '/api/tasks', { body: big, headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await request('POST', '/api/tasks', { body: big, headers: { 'content-type': 'text/plain' }, chunked: true })).status).toBe(415);
  });

  it('413 by Content-Length and while streaming (chunked)', async () => {
    const big = JSON.stringify({ projectId: 'p', title: 't', description: 'x'.repeat(2000) });
    for (const chunked of [false, true]) {
      const reply = await request('POST', '/api/tasks', { ...json(null), body: big, chunked });
      expect(reply.status).toBe(413);
      expect(reply.body).toEqual({ error: true, code: 'PAYLOAD_TOO_LARGE', message: 'Request body exceeds 1024 bytes' });
      expect(reply.headers.connection).toBe('close');
    }
    expect(calls).toHaveLength(0);
  });

  it('a body of exactly maxBytes is accepted', async () => {
    const prefix = JSON.stringify({ projectId: 'p', title: 't', description: '' });
    const body = prefix.replace('"description":""', `"description":"${'y'.repeat(1024 - prefix.length)}"`);
    expect(Buffer.byteLength(body)).toBe(1024);
    expect((await request('POST', '/api/tasks', { body, headers: { 'content-type': 'application/json' } })).status).toBe(201);
  });

  it('invalid JSON, invalid UTF-8 and non-objects → 400 without details', async () => {
    const h = { 'content-type': 'application/json' };
    expect((await request('POST', '/api/tasks', { body: '{"a":', headers: h })).body).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'Invalid JSON body' });
    expect((await request('POST', '/api/tasks', { body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), headers: h })).body).toEqual({
      error: true,
      code: 'VALIDATION_ERROR',
      message: 'Invalid JSON body',
    });
    for (const body of ['[]', 'null', '3', '"s"', 'true']) {
      expect((await request('POST', '/api/tasks', { body, headers: h })).body).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'Request body must be a JSON object' });
    }
  });

  it('an empty body is {} whatever the Content-Type', async () => {
    const reply = await request('POST', '/api/templates/tmpl_1/reset', { body: '', headers: { 'content-type': 'text/plain' } });
    expect(reply.status).toBe(200);
    expect((await request('POST', '/api/templates/tmpl_1/reset')).status).toBe(200);
    const create = await request('POST', '/api/tasks', { body: '', headers: { 'content-type': 'text/html' } });
    expect(create.body).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'projectId' } });
  });

  it('bodies of other methods are not read', async () => {
    const reply = await request('GET', '/api/tasks', { body: 'not json at all', headers: { 'content-type': 'text/plain' } });
    expect(reply.status).toBe(200);
  });

  it('a keep-alive connection keeps working after an early 413/415', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: string, type: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(`${base}/api/tasks`, { method: 'POST', agent, headers: { 'content-type': type, 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await send('x'.repeat(3000), 'application/json')).toBe(413);
    expect(await send('x'.repeat(10), 'text/plain')).toBe(415);
    expect(await send('{"projectId":"p","title":"t"}', 'application/json')).toBe(201);
    agent.destroy();
  });
});

describe('missing handler', () => {
  it('answers 501 NOT_IMPLEMENTED naming the operation', async () => {
    const reply = await request('DELETE', '/api/tasks/task_1');
    expect(reply.status).toBe(501);
    expect(reply.body).toEqual({ error: true, code: 'NOT_IMPLEMENTED', message: 'Not implemented: deleteTask' });
  });
});

describe('the generated table (generated/routes/router.ts)', () => {
  it('is data: its one function is createApiRouter, which hands the table to src/http/api-router.ts', () => {
    const source = fs.readFileSync(path.join(project.generatedDir, 'routes/router.ts'), 'utf8');
    expect(source.match(/\bfunction\b/g)).toHaveLength(1);
    expect(source).toContain('return createOperationRouter(apiRoutes, handlers, options);');
    expect(source).not.toMatch(/=>|\bif\s*\(|\bawait\b|\bthrow\b/);
  });

  it('one entry per operation, with what the runtime and the tests read', async () => {
    const { apiRoutes } = (await import(path.join(project.generatedDir, 'routes/router.ts'))) as { apiRoutes: readonly ApiRoute[] };
    expect(new Set(apiRoutes.map((r) => r.operationId)).size).toBe(apiRoutes.length);
    const updateTemplate = apiRoutes.find((r) => r.operationId === 'updateTemplate')!;
    expect(updateTemplate).toMatchObject({
      method: 'put',
      path: '/api/templates/{id}',
      segments: ['api', 'templates', null],
      pathParams: [{ name: 'id' }],
      query: [],
      readsBody: true,
      validateBody: 'after-lookup',
      successStatus: 200,
    });
    expect(updateTemplate.body?.schema).toBe('schemas/requests/template-update.json');
    expect(updateTemplate.body?.nullStrip).toEqual({ fields: ['name', 'content'], items: {} });
    const forRole = apiRoutes.find((r) => r.operationId === 'getTemplateForRole')!;
    expect(forRole.pathParams).toEqual([{ name: 'role', validate: expect.any(Function), message: 'Invalid role' }]);
    expect(apiRoutes.find((r) => r.operationId === 'listTasks')!.query).toEqual(['projectId', 'status', 'parentId']);
  });

  it('operations that take the same request schema share one body rule (the real spec: queue start/complete/skip)', async () => {
    const { apiRoutes } = await import('../../generated/routes/router.js');
    const source = fs.readFileSync(path.join(REPO, 'generated/routes/router.ts'), 'utf8');
    const emptyObject = apiRoutes.filter((r) => r.body?.schema === 'schemas/requests/empty-object.json');
    expect(emptyObject.map((r) => r.operationId).sort()).toEqual(['completeQueueItem', 'skipQueueItem', 'startQueueItem']);
    expect(new Set(emptyObject.map((r) => r.body)).size).toBe(1);
    const schemas = new Set(apiRoutes.flatMap((r) => (r.body ? [r.body.schema] : [])));
    expect(source.match(/: BodyRule</g)).toHaveLength(schemas.size);
  });
});
