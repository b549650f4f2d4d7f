/**
 * The router's own dispatch (src/http/route-table.ts) against what it replaced: an Express 5 Router with one
 * route per operation (case-sensitive, strict: false) behind the old "malformed escape → literal" pre-pass.
 * Both get the real operation list (generated/routes/router.ts `apiRoutes`, in registration order) and answer
 * `{ op, params }`; an unmatched request falls through to the same app 404. Through real HTTP ports: fixed cases
 * for each routing rule of docs/behaviour.md §0.1 / §2.0.1, then random paths built from the API's own words, percent
 * escapes (valid, malformed, `%2F`), empty segments, trailing slashes, query strings and fragments.
 * OPTIONS is left out: in the app every OPTIONS is answered by the guards before any router (§3.3 #1).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../generated/routes/router.js';
import { createRouteDispatcher, decodeSegment, pathSegments, type RouteSpec } from '../../src/http/route-table.js';

const answer = (op: string) => (req: Request, res: Response) => {
  res.status(200).json({ op, params: { ...req.params } });
};

/** The old generated router, minus validation: one Express route per operation. */
function expressReference(): RequestHandler {
  const router = express.Router({ caseSensitive: true, strict: false });
  const saved = Symbol('url');
  router.use((req: Request, _res: Response, next: NextFunction) => {
    const url = req.url;
    const at = url.indexOf('?');
    const pathname = at === -1 ? url : url.slice(0, at);
    if (pathname.includes('%')) {
      const fixed = pathname
        .split('/')
        .map((segment) => {
          try {
            decodeURIComponent(segment);
            return segment;
          } catch {
            return segment.replace(/%/g, '%25');
          }
        })
        .join('/');
      if (fixed !== pathname) {
        (req as unknown as Record<symbol, string>)[saved] = url;
        req.url = fixed + (at === -1 ? '' : url.slice(at));
      }
    }
    next();
  });
  // the OpenAPI template in Express 5 route syntax: `{id}` → `:id`
  for (const op of apiRoutes) router[op.method](op.path.replace(/\{([^}]+)\}/g, ':$1'), answer(op.operationId));
  router.use((req: Request, _res: Response, next: NextFunction) => {
    const url = (req as unknown as Record<symbol, string | undefined>)[saved];
    if (url !== undefined) req.url = url;
    next();
  });
  return router;
}

function dispatcher(): RequestHandler {
  // the table's own path shapes, as src/http/api-router.ts hands them to the dispatcher
  const specs: RouteSpec[] = apiRoutes.map((op) => ({
    method: op.method.toUpperCase(),
    segments: op.segments,
    params: op.pathParams.map((p) => p.name),
    step: answer(op.operationId),
  }));
  return createRouteDispatcher(specs);
}

async function serve(router: RequestHandler): Promise<{ server: http.Server; port: number }> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('case sensitive routing', true);
  app.use(router);
  app.use((req: Request, res: Response) => {
    res.status(404).json({ code: 'NOT_FOUND', message: `Route not found: ${req.method} ${req.originalUrl.split('?')[0]}`, url: req.url });
  });
  app.use((err: { status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).json({ code: 'ERROR', message: err.message });
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

interface Reply {
  status: number;
  contentType: string | undefined;
  text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
function send(port: number, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text }));
    });
    req.on('error', reject);
    req.end();
  });
}

let ours: { server: http.Server; port: number };
let reference: { server: http.Server; port: number };
beforeAll(async () => {
  ours = await serve(dispatcher());
  reference = await serve(expressReference());
});
afterAll(async () => {
  agent.destroy();
  await Promise.all([ours, reference].map(({ server }) => new Promise((resolve) => server.close(resolve))));
});

async function both(method: string, path: string): Promise<Reply> {
  const [a, b] = await Promise.all([send(ours.port, method, path), send(reference.port, method, path)]);
  expect(a, `${method} ${path}`).toEqual(b);
  return a;
}

const body = (r: Reply) => JSON.parse(r.text) as { op?: string; params?: Record<string, string>; code?: string; message?: string; url?: string };

describe('route table: the routing rules, same answers as the Express router', () => {
  it('matches by method and path; params are set', async () => {
    expect(body(await both('GET', '/api/tasks/task_1'))).toEqual({ op: 'getTask', params: { id: 'task_1' } });
    expect(body(await both('PATCH', '/api/tasks/task_1'))).toEqual({ op: 'updateTask', params: { id: 'task_1' } });
    expect(body(await both('DELETE', '/api/sessions/s1/tasks/t1'))).toEqual({ op: 'removeTaskFromSession', params: { id: 's1', taskId: 't1' } });
    expect(body(await both('GET', '/health'))).toEqual({ op: 'getHealth', params: {} });
    expect(body(await both('GET', '/ws-status'))).toEqual({ op: 'getWsStatus', params: {} });
  });

  it('a literal segment beats a parameter; the method decides between same-shape routes', async () => {
    expect(body(await both('GET', '/api/skills/role/worker')).op).toBe('listSkillsForRole');
    expect(body(await both('POST', '/api/skills/role/reload'))).toEqual({ op: 'reloadSkill', params: { id: 'role' } });
    expect(body(await both('POST', '/api/sessions/spawn')).op).toBe('spawnSession');
    expect(body(await both('GET', '/api/sessions/spawn'))).toEqual({ op: 'getSession', params: { id: 'spawn' } });
    expect(body(await both('PUT', '/api/sessions/spawn')).code).toBe('NOT_FOUND');
  });

  it('one trailing slash is ignored, two are not; empty segments never match a parameter', async () => {
    expect(body(await both('GET', '/api/tasks/x/')).params).toEqual({ id: 'x' });
    expect(body(await both('GET', '/health/')).op).toBe('getHealth');
    expect(body(await both('POST', '/api/projects/')).op).toBe('createProject');
    for (const path of ['/api/tasks/x//', '/api/projects//', '//api/projects', '/api//tasks', '/api/tasks//children', '/', '', '/api/']) {
      expect(body(await both('GET', path)).code, path).toBe('NOT_FOUND');
    }
  });

  it('paths are case-sensitive', async () => {
    for (const path of ['/API/tasks', '/api/Tasks/x', '/Health', '/api/tasks/x/Children']) {
      expect(body(await both('GET', path)).code, path).toBe('NOT_FOUND');
    }
    expect(body(await both('GET', '/api/tasks/X')).params).toEqual({ id: 'X' });
  });

  it('HEAD is answered by the GET route, without a body; HEAD on a path without GET is a 404', async () => {
    const head = await both('HEAD', '/api/tasks/x');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.contentType).toBe('application/json; charset=utf-8');
    expect((await both('HEAD', '/api/sessions/spawn')).status).toBe(200); // GET /api/sessions/:id
    expect((await both('HEAD', '/api/skills/x/reload')).status).toBe(404); // POST only
    expect((await both('HEAD', '/api/sessions/x/queue/start')).status).toBe(404);
  });

  it('an unknown method on a known path falls through to the 404 (never 405), with the original URL', async () => {
    for (const [method, path] of [
      ['PUT', '/api/tasks/x'],
      ['POST', '/health'],
      ['PATCH', '/api/templates/role/worker'],
      ['DELETE', '/api/tasks'],
    ]) {
      const r = body(await both(method!, path!));
      expect(r).toMatchObject({ code: 'NOT_FOUND', message: `Route not found: ${method} ${path}`, url: path });
    }
    const malformed = body(await both('GET', '/api/nothing/%E0%A4%A?x=%zz'));
    expect(malformed).toMatchObject({ message: 'Route not found: GET /api/nothing/%E0%A4%A', url: '/api/nothing/%E0%A4%A?x=%zz' });
  });

  it('parameters are percent-decoded exactly once; malformed escapes are literal; %2F is /', async () => {
    const id = async (path: string) => body(await both('GET', path)).params?.id;
    expect(await id('/api/tasks/%74ask_1')).toBe('task_1');
    expect(await id('/api/tasks/a%2Fb')).toBe('a/b');
    expect(await id('/api/tasks/a%252Fb')).toBe('a%2Fb');
    expect(await id('/api/tasks/%2E%2E')).toBe('..');
    expect(await id('/api/tasks/%E0%A4%A')).toBe('%E0%A4%A');
    expect(await id('/api/tasks/%zz%41')).toBe('%zz%41');
    expect(await id('/api/tasks/%')).toBe('%');
    expect(await id('/api/tasks/%C3%A9t%C3%A9')).toBe('été');
    expect(await id('/api/tasks/a%00b')).toBe('a\u0000b');
    // a malformed segment elsewhere in the path does not stop the others from decoding
    expect(body(await both('DELETE', '/api/sessions/%zz/tasks/%41')).params).toEqual({ id: '%zz', taskId: 'A' });
    // an encoded literal is not that literal
    expect(body(await both('GET', '/api/%74asks/x')).code).toBe('NOT_FOUND');
  });

  it('the query string and a fragment never change routing', async () => {
    expect(body(await both('GET', '/api/tasks/x?y=%zz&z=/a/b'))).toEqual({ op: 'getTask', params: { id: 'x' } });
    expect(body(await both('GET', '/api/tasks?projectId=a')).op).toBe('listTasks');
    expect(body(await both('GET', '/api/tasks/x/?')).params).toEqual({ id: 'x' });
    expect((await both('GET', '/api/tasks/x#frag')).status).toBe(200);
    expect((await both('GET', '/api/tasks/x?a#b/c')).status).toBe(200);
  });

  it('absolute-form request targets route by their path, like Express', async () => {
    expect(body(await both('GET', 'http://127.0.0.1/api/tasks/x'))).toEqual({ op: 'getTask', params: { id: 'x' } });
    expect(body(await both('GET', 'http://127.0.0.1/nope')).code).toBe('NOT_FOUND');
  });
});

describe('route table: random requests, same answers as the Express router', () => {
  const words = [
    'api', 'tasks', 'projects', 'sessions', 'skills', 'templates', 'role', 'default', 'spawn', 'queue', 'top', 'items',
    'start', 'complete', 'children', 'timeline', 'reload', 'reset', 'events', 'health', 'ws-status', 'worker', 'x',
    'Tasks', 'API', '', '.', '..', '%2E%2E', '%41', '%2F', '%2f', '%25', '%zz', '%', '%E0%A4%A', '%C3%A9', 'a%20b', 'a.b', '~', ':id',
  ];
  const pathArb = fc
    .record({
      prefix: fc.constantFrom('/api/', '/api/tasks/', '/api/sessions/', '/api/templates/', '/api/skills/', '/', '//'),
      segments: fc.array(fc.constantFrom(...words), { minLength: 0, maxLength: 4 }),
      slash: fc.constantFrom('', '', '/', '//'),
      query: fc.constantFrom('', '', '?a=1', '?x=%zz&x=2', '?', '#f'),
    })
    .map(({ prefix, segments, slash, query }) => prefix + segments.join('/') + slash + query);

  it('GET, HEAD, POST, PUT, PATCH, DELETE on 400 random paths', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'), pathArb, async (method, path) => {
        await both(method, path);
      }),
      { numRuns: 400 },
    );
  });
});

describe('route table helpers', () => {
  it('pathSegments drops one trailing slash and needs a leading one', () => {
    expect(pathSegments('/api/tasks/x/')).toEqual(['api', 'tasks', 'x']);
    expect(pathSegments('/api/tasks/x//')).toEqual(['api', 'tasks', 'x', '']);
    expect(pathSegments('/')).toEqual(['']);
    expect(pathSegments('*')).toBeUndefined();
  });
  it('decodeSegment decodes once and keeps malformed escapes', () => {
    expect(decodeSegment('a%252F')).toBe('a%2F');
    expect(decodeSegment('%E0%A4%A')).toBe('%E0%A4%A');
    expect(decodeSegment('plain')).toBe('plain');
  });
  it('refuses a route whose parameter names do not fit its segments', () => {
    expect(() => createRouteDispatcher([{ method: 'GET', segments: ['a', null], params: [], step: () => undefined }])).toThrow(/parameter/);
  });
});
