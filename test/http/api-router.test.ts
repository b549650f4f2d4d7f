/**
 * The router runtime (src/http/api-router.ts) on a small hand-written table, not the generator's: body reading,
 * null stripping, path-parameter validation, first query values, the two body-validation modes, the handler
 * call, the success status, 501 for a missing handler and errors passed to `next(err)`. Through a real HTTP
 * port; the validators are hand-written type guards that leave Ajv-shaped errors, as the generated ones do.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ContractError } from '../../src/contract-error.js';
import { createOperationRouter, firstQueryValues, stripNulls, type ApiRouteOf, type BodyRule, type Validator } from '../../src/http/api-router.js';
import type { ValidatorError } from '../../src/http/validation-errors.js';
import { rawRequest, type RawResponse } from '../support/http.js';

type Colour = 'red' | 'blue';
interface ThingCreate {
  name: string;
  tags?: string[];
  parts?: { kind: string; note?: string | null }[];
  note?: string | null;
}
interface ThingPatch {
  name?: string;
}
type NoParams = Record<string, never>;

interface TestHandlers {
  listThings(input: { params: NoParams; query: { kind?: string; owner?: string } }): Promise<unknown>;
  getThing(input: { params: { id: string }; query: NoParams }): Promise<unknown>;
  getColour(input: { params: { colour: Colour }; query: NoParams }): Promise<unknown>;
  createThing(input: { params: NoParams; query: NoParams; body: ThingCreate }): Promise<unknown>;
  patchThing(input: { params: { id: string }; query: NoParams; readBody(): ThingPatch }): Promise<unknown>;
  touchThing(input: { params: { id: string }; query: NoParams }): Promise<unknown>;
  deleteThing(input: { params: { id: string }; query: NoParams }): Promise<unknown>;
  resetThing(input: { params: { id: string }; query: NoParams; body: ThingPatch }): Promise<unknown>;
}

/** A validator from a check returning Ajv-shaped errors (empty = valid). */
function validator<T>(check: (data: Record<string, unknown>) => ValidatorError[]): Validator<T> {
  const validate = ((data: unknown): data is T => {
    const errors = check(data as Record<string, unknown>);
    validate.errors = errors.length === 0 ? null : errors;
    return errors.length === 0;
  }) as Validator<T>;
  return validate;
}

const required = (field: string): ValidatorError => ({ instancePath: '', keyword: 'required', params: { missingProperty: field } });
const wrongType = (pointer: string, type: string): ValidatorError => ({ instancePath: pointer, keyword: 'type', params: { type } });

const validateColour = ((value: unknown): value is Colour => value === 'red' || value === 'blue') as Validator<Colour>;

const thingCreateBody: BodyRule<ThingCreate> = {
  schema: 'requests/thing-create.json',
  validate: validator<ThingCreate>((body) => {
    const errors: ValidatorError[] = [];
    if (!('name' in body)) errors.push(required('name'));
    else if (typeof body.name !== 'string') errors.push(wrongType('/name', 'string'));
    if ('tags' in body && !Array.isArray(body.tags)) errors.push(wrongType('/tags', 'array'));
    if ('note' in body && body.note !== null && typeof body.note !== 'string') errors.push(wrongType('/note', 'string'));
    const parts: unknown[] = Array.isArray(body.parts) ? body.parts : [];
    parts.forEach((part, i) => {
      if (typeof part === 'object' && part !== null && !('kind' in part)) errors.push({ instancePath: `/parts/${i}`, keyword: 'required', params: { missingProperty: 'kind' } });
    });
    return errors;
  }),
  rules: {
    properties: ['name', 'tags', 'parts', 'note'],
    order: ['tags', 'name', 'parts', 'note'],
    codes: { tags: 'invalid_tags' },
    messages: { tags: 'tags must be a list' },
    required: ['name'],
    typeDescriptions: { name: 'a string' },
  },
  // `note` allows null (kept); `name` and `tags` do not (dropped); in `parts[]` entries `note` does not.
  nullStrip: { fields: ['name', 'tags', 'parts'], items: { parts: ['kind', 'note'] } },
};

const thingPatchBody: BodyRule<ThingPatch> = {
  schema: 'requests/thing-patch.json',
  validate: validator<ThingPatch>((body) => ('name' in body && typeof body.name !== 'string' ? [wrongType('/name', 'string')] : [])),
  rules: { properties: ['name'], order: ['name'], codes: {}, messages: {}, required: [], typeDescriptions: { name: 'a string' } },
  nullStrip: { fields: ['name'], items: {} },
};

const facts = { emits: [] as string[] };
/** Registration order: the literal `colours` route is not in the way of `/things/{id}` (another shape). */
const routes: readonly ApiRouteOf<TestHandlers>[] = [
  { ...facts, operationId: 'listThings', method: 'get', path: '/things', segments: ['things'], pathParams: [], query: ['kind', 'owner'], readsBody: false, validateBody: 'none', body: null, successStatus: 200 },
  { ...facts, operationId: 'createThing', method: 'post', path: '/things', segments: ['things'], pathParams: [], query: [], readsBody: true, validateBody: 'before-handler', body: thingCreateBody, successStatus: 201 },
  { ...facts, operationId: 'getColour', method: 'get', path: '/colours/{colour}', segments: ['colours', null], pathParams: [{ name: 'colour', validate: validateColour, message: 'Colour must be red or blue' }], query: [], readsBody: false, validateBody: 'none', body: null, successStatus: 200 },
  { ...facts, operationId: 'getThing', method: 'get', path: '/things/{id}', segments: ['things', null], pathParams: [{ name: 'id' }], query: [], readsBody: false, validateBody: 'none', body: null, successStatus: 200 },
  { ...facts, operationId: 'patchThing', method: 'patch', path: '/things/{id}', segments: ['things', null], pathParams: [{ name: 'id' }], query: [], readsBody: true, validateBody: 'after-lookup', body: thingPatchBody, successStatus: 200 },
  { ...facts, operationId: 'deleteThing', method: 'delete', path: '/things/{id}', segments: ['things', null], pathParams: [{ name: 'id' }], query: [], readsBody: false, validateBody: 'none', body: null, successStatus: 200 },
  { ...facts, operationId: 'touchThing', method: 'post', path: '/things/{id}/touch', segments: ['things', null, 'touch'], pathParams: [{ name: 'id' }], query: [], readsBody: true, validateBody: 'none', body: null, successStatus: 202 },
  { ...facts, operationId: 'resetThing', method: 'post', path: '/things/{id}/reset', segments: ['things', null, 'reset'], pathParams: [{ name: 'id' }], query: [], readsBody: true, validateBody: 'before-handler', body: thingPatchBody, successStatus: 200 },
];

interface Call {
  op: string;
  input: Record<string, unknown>;
  /** whether a microtask queued when the request entered the app had run when the handler was called */
  afterMicrotask: boolean;
  boundToHandlers: boolean;
}

let calls: Call[] = [];
let entered = { microtaskRan: false };
const handlers: Partial<TestHandlers> = {};

function recording<I extends object>(op: string, answer: (input: I) => unknown) {
  return function (this: unknown, input: I): Promise<unknown> {
    calls.push({ op, input: input as Record<string, unknown>, afterMicrotask: entered.microtaskRan, boundToHandlers: this === handlers });
    return answer(input) as Promise<unknown>;
  };
}

function installHandlers(): void {
  for (const key of Object.keys(handlers)) delete (handlers as Record<string, unknown>)[key];
  Object.assign(handlers, {
    listThings: recording('listThings', async () => []),
    getThing: recording('getThing', async ({ params }: { params: { id: string } }) => {
      if (params.id === 'missing') throw new ContractError(404, 'THING_NOT_FOUND', 'Thing not found');
      return { id: params.id };
    }),
    getColour: recording('getColour', async ({ params }: { params: { colour: Colour } }) => ({ colour: params.colour })),
    createThing: recording('createThing', async ({ body }: { body: ThingCreate }) => ({ created: body })),
    patchThing: recording('patchThing', async ({ params, readBody }: { params: { id: string }; readBody(): ThingPatch }) => {
      if (params.id === 'missing') throw new ContractError(404, 'THING_NOT_FOUND', 'Thing not found');
      return { patched: readBody() };
    }),
    touchThing: recording('touchThing', async () => ({ touched: true })),
    resetThing: recording('resetThing', async () => ({ reset: true })),
  } satisfies Partial<TestHandlers>);
}

let server: http.Server;
let port: number;
let errorsSeen: unknown[] = [];

beforeAll(async () => {
  installHandlers();
  const app = express();
  app.use((_req: Request, _res: Response, next: NextFunction) => {
    const mark = { microtaskRan: false };
    entered = mark;
    queueMicrotask(() => (mark.microtaskRan = true));
    next();
  });
  app.use(createOperationRouter(routes, handlers, { maxBodyBytes: 256 }));
  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: true, code: 'NOT_FOUND', message: `Route not found: ${req.method} ${req.originalUrl}` });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    errorsSeen.push(err);
    if (err instanceof ContractError) res.status(err.status).json(err.toBody());
    else res.status(500).json({ error: true, code: 'INTERNAL_ERROR', message: err instanceof Error ? err.message : String(err) });
  });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  calls = [];
  errorsSeen = [];
  installHandlers();
});

function send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<RawResponse> {
  if (body === undefined) return rawRequest(port, method, path);
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return rawRequest(port, method, path, { body: text, headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(text) } });
}

describe('operations without a body', () => {
  it('GET: decoded path params, the first value of each declared query parameter, the success status', async () => {
    const list = await send('GET', '/things?kind=a&kind=b&owner=&other=1');
    expect(list.status).toBe(200);
    expect(list.json).toEqual([]);
    const one = await send('GET', '/things/a%20b');
    expect(one.status).toBe(200);
    expect(one.json).toEqual({ id: 'a b' });
    expect(calls.map((c) => c.input)).toEqual([
      { params: {}, query: { kind: 'a', owner: '' } },
      { params: { id: 'a b' }, query: {} },
    ]);
  });

  it('the handler is called as a method of the handler object, synchronously within the request', async () => {
    await send('GET', '/things/t1');
    expect(calls[0]).toMatchObject({ boundToHandlers: true, afterMicrotask: false });
  });

  it('HEAD is answered by GET, without a body', async () => {
    const head = await send('HEAD', '/things/t1');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(calls.map((c) => c.op)).toEqual(['getThing']);
  });

  it('a path parameter with a schema: valid → passed on; invalid → 400 with its message, no handler call', async () => {
    expect((await send('GET', '/colours/red')).json).toEqual({ colour: 'red' });
    const bad = await send('GET', '/colours/green');
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'Colour must be red or blue', details: { field: 'colour' } });
    expect(calls.map((c) => c.op)).toEqual(['getColour']);
  });

  it('a rejection, a synchronous throw and a plain (non-promise) result', async () => {
    const missing = await send('GET', '/things/missing');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: true, code: 'THING_NOT_FOUND', message: 'Thing not found' });

    handlers.getThing = (() => {
      throw new Error('thrown before any promise');
    }) as unknown as TestHandlers['getThing'];
    const thrown = await send('GET', '/things/t1');
    expect(thrown.status).toBe(500);
    expect(thrown.json).toMatchObject({ message: 'thrown before any promise' });

    handlers.getThing = (() => ({ plain: true })) as unknown as TestHandlers['getThing'];
    const plain = await send('GET', '/things/t1');
    expect(plain.status).toBe(200);
    expect(plain.json).toEqual({ plain: true });
    expect(errorsSeen).toHaveLength(2);
  });

  it('a missing handler → 501 NOT_IMPLEMENTED naming the operation (handlers are read per request)', async () => {
    const reply = await send('DELETE', '/things/t1');
    expect(reply.status).toBe(501);
    expect(reply.json).toEqual({ error: true, code: 'NOT_IMPLEMENTED', message: 'Not implemented: deleteThing' });
    handlers.deleteThing = recording('deleteThing', async () => ({ deleted: true }));
    expect((await send('DELETE', '/things/t1')).json).toEqual({ deleted: true });
  });

  it('unknown paths and methods fall through to the app', async () => {
    expect((await send('PUT', '/things/t1')).status).toBe(404);
    expect((await send('GET', '/things/t1/touch')).status).toBe(404);
    expect(calls).toEqual([]);
  });
});

describe('validated before the handler (`body`)', () => {
  it('nulls the schema does not allow are dropped (top level and array entries), then the handler gets `body`', async () => {
    const sent = { name: 'n', tags: null, note: null, parts: [{ kind: 'k', note: null }, 'x'], extra: null };
    const reply = await send('POST', '/things', sent);
    expect(reply.status).toBe(201);
    const body = { name: 'n', note: null, parts: [{ kind: 'k' }, 'x'], extra: null };
    expect(reply.json).toEqual({ created: body });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.input).toEqual({ params: {}, query: {}, body });
    expect('readBody' in calls[0]!.input).toBe(false);
    expect(calls[0]!.afterMicrotask).toBe(true); // the body is read first: asynchronous
  });

  it('a null on a required field is missing; errors map to one ContractError in the validation order', async () => {
    expect((await send('POST', '/things', { name: null })).json).toEqual({
      error: true,
      code: 'VALIDATION_ERROR',
      message: 'name is required',
      details: { field: 'name' },
    });
    expect((await send('POST', '/things', { name: 3 })).json).toEqual({
      error: true,
      code: 'VALIDATION_ERROR',
      message: 'name must be a string',
      details: { field: 'name' },
    });
    // `tags` comes first in the order; its own code and message, no details
    expect((await send('POST', '/things', { name: 3, tags: 'a' })).json).toEqual({ error: true, code: 'invalid_tags', message: 'tags must be a list' });
    expect((await send('POST', '/things', { name: 'n', parts: [{}] })).json).toMatchObject({ message: 'parts[0].kind is required', details: { field: 'parts' } });
    expect(calls).toEqual([]);
  });

  it('the body protocol checks come first: 415, 413, invalid JSON, not an object', async () => {
    expect((await send('POST', '/things', '{"name":"n"}', 'text/plain')).json).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect((await send('POST', '/things', { name: 'x'.repeat(300) })).json).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: 'Request body exceeds 256 bytes' });
    expect((await send('POST', '/things', '{"name":')).json).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'Invalid JSON body' });
    expect((await send('POST', '/things', '[]')).json).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'Request body must be a JSON object' });
    expect(calls).toEqual([]);
  });

  it('a missing handler: the body is still read (and checked) first, then 501', async () => {
    delete handlers.resetThing;
    expect((await send('POST', '/things/t1/reset', '{')).json).toMatchObject({ message: 'Invalid JSON body' });
    expect((await send('POST', '/things/t1/reset', { name: 3 })).json).toEqual({ error: true, code: 'NOT_IMPLEMENTED', message: 'Not implemented: resetThing' });
  });
});

describe('validated after the lookup (`readBody()`)', () => {
  it('the handler looks up first: an unknown entity is its 404 even with an invalid body', async () => {
    const reply = await send('PATCH', '/things/missing', { name: 3 });
    expect(reply.status).toBe(404);
    expect(reply.json).toMatchObject({ code: 'THING_NOT_FOUND' });
    expect(calls[0]!.input).not.toHaveProperty('body');
  });

  it('readBody() validates when called: the 400, or the body without its absent nulls', async () => {
    expect((await send('PATCH', '/things/t1', { name: 3 })).json).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'name must be a string', details: { field: 'name' } });
    const ok = await send('PATCH', '/things/t1', { name: null, other: 1 });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ patched: { other: 1 } });
  });
});

describe('POST without a request body', () => {
  it('reads the body for its protocol checks, passes no body, answers the success status', async () => {
    expect((await send('POST', '/things/t1/touch', 'x', 'text/plain')).status).toBe(415);
    const reply = await send('POST', '/things/t1/touch', { ignored: true });
    expect(reply.status).toBe(202);
    expect(reply.json).toEqual({ touched: true });
    expect(calls.map((c) => c.input)).toEqual([{ params: { id: 't1' }, query: {} }]);
  });
});

describe('helpers', () => {
  it('stripNulls copies: the body it is given is left as it was', () => {
    const body = { name: null, parts: [{ kind: null }] };
    const out = stripNulls(body, thingCreateBody.nullStrip);
    expect(out).toEqual({ parts: [{}] });
    expect(body).toEqual({ name: null, parts: [{ kind: null }] });
  });

  it('firstQueryValues: no query, empty values, encoded names and values, undeclared names ignored', () => {
    expect(firstQueryValues('/things', ['kind'])).toEqual({});
    expect(firstQueryValues('/things?kind=&kind=b', ['kind'])).toEqual({ kind: '' });
    expect(firstQueryValues('/things?k%69nd=a+b%21&x=1', ['kind', 'owner'])).toEqual({ kind: 'a b!' });
  });
});
