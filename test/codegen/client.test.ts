/**
 * The generated client (fixture spec): typed HTTP methods against the generated router on a real port,
 * ApiError on error answers, and the typed WebSocket subscriber (with the `ws` package's class).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { WebSocket, WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractError } from '../../src/contract-error.js';
import { fixtureProject, type FixtureProject } from './helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

let project: FixtureProject;
let server: http.Server;
let wss: WebSocketServer;
let port: number;
let client: Any;
let clientModule: Any;
const seen: { headers: http.IncomingHttpHeaders; url: string }[] = [];

beforeAll(async () => {
  project = await fixtureProject();
  const { createApiRouter } = (await import(path.join(project.generatedDir, 'routes/router.ts'))) as Any;
  clientModule = await import(path.join(project.generatedDir, 'client/index.ts'));
  const app = express();
  app.use((req, _res, next) => {
    seen.push({ headers: req.headers, url: req.url });
    next();
  });
  app.use(
    createApiRouter(
      {
        createTask: async ({ body }: Any) => ({ id: 'task_1', ...body }),
        listTasks: async ({ query }: Any) => [{ id: 'task_1', query }],
        getTask: async ({ params }: Any) => {
          if (params.id !== 'task_1') throw new ContractError(404, 'TASK_NOT_FOUND', 'Task not found');
          return { id: params.id };
        },
      },
      { maxBodyBytes: 4096 },
    ),
  );
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ContractError) res.status(err.status).json(err.toBody());
    else res.status(500).json({ error: true, code: 'INTERNAL_ERROR', message: String(err) });
  });
  server = http.createServer(app);
  wss = new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  client = clientModule.createClient({ baseUrl: `http://127.0.0.1:${port}/`, token: 'secret' });
});

afterAll(async () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  await new Promise((resolve) => server.close(resolve));
  project.cleanup();
});

describe('HTTP client', () => {
  it('sends the JSON body with the token and resolves to the success body', async () => {
    const task = await client.createTask({ body: { projectId: 'p', title: 'T' } });
    expect(task).toEqual({ id: 'task_1', projectId: 'p', title: 'T' });
    const last = seen[seen.length - 1];
    expect(last.headers.authorization).toBe('Bearer secret');
    expect(last.headers['content-type']).toBe('application/json');
  });

  it('encodes path params and query values', async () => {
    await expect(client.getTask({ params: { id: 'a/b c' } })).rejects.toMatchObject({ status: 404 });
    expect(seen[seen.length - 1].url).toBe('/api/tasks/a%2Fb%20c');
    const list = await client.listTasks({ query: { projectId: 'p 1', status: undefined } });
    expect(list).toEqual([{ id: 'task_1', query: { projectId: 'p 1' } }]);
    expect(await client.listTasks()).toEqual([{ id: 'task_1', query: {} }]);
  });

  it('rejects with ApiError carrying status, code, message and details', async () => {
    const error = await client.createTask({ body: { projectId: 'p', title: ' ', priority: 'x' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(clientModule.ApiError);
    expect(error).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', message: 'title is required', details: { field: 'title' } });
    const notFound = await client.getTask({ params: { id: 'nope' } }).catch((e: unknown) => e);
    expect(notFound).toMatchObject({ status: 404, code: 'TASK_NOT_FOUND', message: 'Task not found', details: undefined });
    const stub = await client.deleteTask({ params: { id: 'task_1' } }).catch((e: unknown) => e);
    expect(stub).toMatchObject({ status: 501, code: 'NOT_IMPLEMENTED' });
  });

  it('uses the injected fetch (openapi-fetch calls it with a Request) and the extra headers', async () => {
    const calls: string[] = [];
    const fake = (async (input: globalThis.Request) => {
      calls.push(`${input.method} ${input.url} ${input.headers.get('x-extra')} ${input.headers.get('authorization')}`);
      return new Response('{"status":"ok"}', { status: 200, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    const c = clientModule.createClient({ baseUrl: 'http://example.invalid//', fetch: fake, headers: { 'x-extra': 'yes' }, token: 't' });
    expect(await c.getHealth()).toEqual({ status: 'ok' });
    expect(calls).toEqual(['GET http://example.invalid/health yes Bearer t']);
  });

  it('an error answer without a JSON body still rejects with ApiError (HTTP_<status>)', async () => {
    const fake = (async () => new Response('upstream down', { status: 502 })) as unknown as typeof fetch;
    const c = clientModule.createClient({ baseUrl: 'http://example.invalid', fetch: fake });
    const error = await c.getTask({ params: { id: 'x' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(clientModule.ApiError);
    expect(error).toMatchObject({ status: 502, code: 'HTTP_502', message: 'GET /api/tasks/{id} failed with 502', details: undefined });
  });

  it('a missing path parameter rejects before any request is sent', async () => {
    const before = seen.length;
    await expect(client.getTask({ params: {} })).rejects.toThrow(new TypeError('missing path parameter id'));
    await expect(client.getTask({ params: { id: null } })).rejects.toThrow(TypeError);
    expect(seen.length).toBe(before);
  });

  it('createFetchClient exposes the openapi-fetch client with the same options', async () => {
    const raw = clientModule.createFetchClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'raw' });
    const { data, error, response } = await raw.GET('/api/tasks/{id}', { params: { path: { id: 'task_1' } } });
    expect(response.status).toBe(200);
    expect(error).toBeUndefined();
    expect(data).toEqual({ id: 'task_1' });
    expect(seen[seen.length - 1].headers.authorization).toBe('Bearer raw');
  });
});

describe('event subscriber', () => {
  it('typed on(), onAny(), unsubscribe, token in the query, non-events ignored', async () => {
    const connected = new Promise<{ url: string; socket: WebSocket }>((resolve) =>
      wss.once('connection', (socket, req) => resolve({ url: req.url ?? '', socket })),
    );
    const sub = clientModule.createEventSubscriber({ url: `ws://127.0.0.1:${port}/`, token: 't k', WebSocket });
    await sub.ready;
    const { url, socket } = await connected;
    expect(url).toBe('/?token=t%20k');

    const created: unknown[] = [];
    const any: string[] = [];
    const off = sub.on('task:created', (payload: unknown, envelope: Any) => created.push([payload, envelope.event]));
    sub.onAny((envelope: Any) => any.push(envelope.type));
    const done = new Promise<void>((resolve) => sub.on('task:deleted', () => resolve()));

    const send = (type: string, data: unknown) => socket.send(JSON.stringify({ type, event: type, data, timestamp: 1 }));
    send('task:created', { id: 'task_1' });
    socket.send('not json');
    socket.send(JSON.stringify({ type: 'pong', timestamp: 2 }));
    await new Promise((r) => setTimeout(r, 50));
    off();
    send('task:created', { id: 'task_2' });
    send('task:deleted', { id: 'task_1' });
    await done;
    expect(created).toEqual([[{ id: 'task_1' }, 'task:created']]);
    expect(any).toEqual(['task:created', 'task:created', 'task:deleted']);

    const pinged = new Promise<string>((resolve) => socket.once('message', (m) => resolve(String(m))));
    sub.ping();
    expect(JSON.parse(await pinged)).toEqual({ type: 'ping' });
    sub.close();
  });

  it('ready rejects when the connection fails', async () => {
    const sub = clientModule.createEventSubscriber({ url: 'ws://127.0.0.1:1/', WebSocket });
    await expect(sub.ready).rejects.toBeInstanceOf(Error);
  });

  it('without a WebSocket implementation it says so', () => {
    const original = (globalThis as Any).WebSocket;
    (globalThis as Any).WebSocket = undefined;
    try {
      expect(() => clientModule.createEventSubscriber({ url: 'ws://127.0.0.1:1/' })).toThrow(/pass options.WebSocket/);
    } finally {
      (globalThis as Any).WebSocket = original;
    }
  });
});
