/**
 * The API router's runtime: runs a table of operations (generated/routes/router.ts `apiRoutes`, one entry per
 * operation of spec/openapi.yaml) against a handler object. The generator emits data only; every step a request
 * goes through is here, type-checked like the rest of src/.
 *
 * Per operation, in this order (docs/behaviour.md §3.3):
 *  1. POST/PUT/PATCH (`readsBody`): read the body (src/http/body.ts: 415 → 413 → invalid JSON → not an object),
 *     even when the operation takes none;
 *  2. no handler for the operation → 501 NOT_IMPLEMENTED naming it;
 *  3. validate the path parameters that have a schema (400 VALIDATION_ERROR with the parameter's message);
 *  4. the query: the first value of each declared parameter, as a string (docs/behaviour.md §0.4);
 *  5. the body: drop the `null`s the schema does not allow (null = absent, docs/behaviour.md §0.5), validate with the
 *     precompiled validator, map the errors to ONE ContractError (src/http/validation-errors.ts); `before-handler`
 *     does it before the call and passes `body`, `after-lookup` passes a `readBody()` that does it when the handler
 *     asks (after its own lookup: the order of docs/behaviour.md for E4, E9, E16, E31, E34, E39);
 *  6. call `handlers[operationId]` (as a method of `handlers`, looked up per request) and answer its result
 *     with the operation's success status.
 * Every error goes to `next(err)`. Dispatch (method + path shape, HEAD answered by GET, parameter decoding,
 * unknown routes falling through) is src/http/route-table.ts's.
 *
 * Invariant: an operation that reads no body stays synchronous up to the handler call (no extra promise or
 * await on GETs: a measured cost on the hottest path); a throw there reaches `next(err)` through the dispatcher.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ContractError, validationError } from '../contract-error.js';
import { readJsonBody } from './body.js';
import { createRouteDispatcher, type RouteStep } from './route-table.js';
import { toContractError, type ValidationRules, type ValidatorError } from './validation-errors.js';

/** A precompiled validator (generated/validators): a type guard that leaves its errors on `errors`. */
export interface Validator<T> {
  (data: unknown): data is T;
  errors?: readonly ValidatorError[] | null;
}

/** Which `null`s are "absent": top-level fields, and per array property the fields of its object entries. */
export interface NullStripRules {
  readonly fields: readonly string[];
  readonly items: Readonly<Record<string, readonly string[]>>;
}

/** How a request body is checked: one per request schema, shared by the operations that take it. */
export interface BodyRule<T> {
  /** the request schema file, e.g. `schemas/requests/task-create.json` */
  readonly schema: string;
  readonly validate: Validator<T>;
  /** error mapping of the schema (docs/spec-conventions.md §2 rule 7) */
  readonly rules: ValidationRules;
  /** properties whose schema does not allow null (docs/spec-conventions.md §2 rule 2) */
  readonly nullStrip: NullStripRules;
}

/** A path parameter: a plain string, or one with a schema whose failure is a 400 with `message`. */
export type PathParamRule<Name extends string = string, T = unknown> =
  | { readonly name: Name; readonly validate?: undefined }
  | { readonly name: Name; readonly validate: Validator<T>; readonly message: string };

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The body part of a route, decided by what the handler's input holds: `body`, `readBody()` or neither. */
type BodyPart<Input> = Input extends { body: infer B }
  ? { readonly validateBody: 'before-handler'; readonly body: BodyRule<B> }
  : Input extends { readBody(): infer B }
    ? { readonly validateBody: 'after-lookup'; readonly body: BodyRule<B> }
    : { readonly validateBody: 'none'; readonly body: null };

type ParamsOf<Input> = Input extends { params: infer P } ? P : Record<string, never>;
type QueryOf<Input> = Input extends { query: infer Q } ? Q : Record<string, never>;

/** What every table entry says, whatever its operation. */
interface RouteFacts<Id extends string> {
  readonly operationId: Id;
  /** lower-case, as in spec/openapi.yaml */
  readonly method: HttpMethod;
  /** the OpenAPI path template, e.g. `/api/tasks/{id}` */
  readonly path: string;
  /** the template's segments after the leading `/`: a literal, or null for a parameter */
  readonly segments: readonly (string | null)[];
  /** POST/PUT/PATCH: the body is read (protocol checks) even when the operation takes none */
  readonly readsBody: boolean;
  readonly successStatus: number;
  /** x-emits: events emitted on success, in order */
  readonly emits: readonly string[];
}

/** One operation of the table, as the runtime reads it (any operation). */
export interface ApiRoute extends RouteFacts<string> {
  /** the path parameters, in the order of the null segments */
  readonly pathParams: readonly PathParamRule[];
  /** the declared query parameters */
  readonly query: readonly string[];
  readonly validateBody: 'none' | 'before-handler' | 'after-lookup';
  readonly body: BodyRule<unknown> | null;
}

/** One operation of the table, typed against its handler's input: parameter names, validators and body type. */
export type TypedApiRoute<Id extends string, Input> = RouteFacts<Id> & {
  readonly pathParams: readonly { [N in keyof ParamsOf<Input> & string]: PathParamRule<N, ParamsOf<Input>[N]> }[keyof ParamsOf<Input> & string][];
  readonly query: readonly (keyof QueryOf<Input> & string)[];
} & BodyPart<Input>;

type InputOf<F> = F extends (input: infer I) => unknown ? I : never;

/** A table entry for any operation of the handler interface `H`, checked against that operation's input. */
export type ApiRouteOf<H> = { [Id in keyof H & string]-?: TypedApiRoute<Id, InputOf<H[Id]>> }[keyof H & string];

export interface ApiRouterOptions {
  /** request body limit (MAESTRO_MAX_BODY_BYTES) */
  maxBodyBytes: number;
  /**
   * Told which operation a request matched, before anything else happens to it (the metrics label requests with
   * it: src/metrics/http-metrics.ts). Absent → nothing is called.
   */
  onOperation?: OperationObserver;
}

/** See `ApiRouterOptions.onOperation`. Synchronous and cheap: it runs on every request. */
export type OperationObserver = (operationId: string, req: Request) => void;

/** What the runtime sees of a handler: it takes the input built here (checked by the table's types). */
type OperationHandler = (this: unknown, input: Record<string, unknown>) => unknown;
type HandlerTable = Readonly<Record<string, OperationHandler | undefined>>;

/**
 * Removes the `null`s the schema does not allow: null = absent (docs/behaviour.md §0.5), at the top level and in the
 * object entries of array properties (e.g. E16 `events[]` / `timeline[]`). Copies; never changes `body`.
 */
export function stripNulls(body: Record<string, unknown>, rules: NullStripRules): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  for (const field of rules.fields) if (out[field] === null) delete out[field];
  for (const [field, itemFields] of Object.entries(rules.items)) {
    const value = out[field];
    if (!Array.isArray(value)) continue;
    out[field] = value.map((entry: unknown) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return entry;
      const copy: Record<string, unknown> = { ...(entry as Record<string, unknown>) };
      for (const f of itemFields) if (copy[f] === null) delete copy[f];
      return copy;
    });
  }
  return out;
}

/** The body without its absent `null`s, validated; throws the one ContractError of the first failure. */
export function validateBody<T>(raw: Record<string, unknown>, rule: BodyRule<T>): T {
  const body = stripNulls(raw, rule.nullStrip);
  if (!rule.validate(body)) throw toContractError(rule.validate.errors, rule.rules);
  return body;
}

/** First occurrence of each named query parameter, as a string (docs/behaviour.md §0.4). */
export function firstQueryValues(url: string, names: readonly string[]): Record<string, string> {
  const at = url.indexOf('?');
  const out: Record<string, string> = {};
  if (at === -1) return out;
  const search = new URLSearchParams(url.slice(at + 1));
  for (const name of names) {
    const value = search.get(name);
    if (value !== null) out[name] = value;
  }
  return out;
}

function notImplemented(operationId: string): ContractError {
  return new ContractError(501, 'NOT_IMPLEMENTED', `Not implemented: ${operationId}`);
}

/** The decoded path parameters; throws the 400 of the first one its schema rejects. */
function pathParamValues(route: ApiRoute, req: Request): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const rule of route.pathParams) {
    const value: unknown = req.params[rule.name];
    if (rule.validate === undefined) {
      params[rule.name] = String(value);
    } else {
      if (!rule.validate(value)) throw validationError(rule.name, rule.message);
      params[rule.name] = value;
    }
  }
  return params;
}

/** The handler input every operation gets: `{ params, query }` (the body part is added by the body step). */
function requestInput(route: ApiRoute, req: Request): Record<string, unknown> {
  const params = route.pathParams.length === 0 ? {} : pathParamValues(route, req);
  const query = route.query.length === 0 ? {} : firstQueryValues(req.url, route.query);
  return { params, query };
}

/**
 * Sends a handler's result with the operation's success status (200 is already the response's status); a
 * rejection, or a failure to send, goes to `next(err)`.
 */
function answer(pending: unknown, status: number, res: Response, next: NextFunction): void {
  // a handler is typed to return a promise; a plain value is answered as an `await` would
  const promise = pending instanceof Promise ? pending : Promise.resolve(pending);
  promise.then((result: unknown) => {
    try {
      if (status !== 200) res.status(status);
      res.json(result);
    } catch (err) {
      next(err);
    }
  }, next);
}

/** An operation that reads no body: synchronous up to the handler call (see the invariant above). */
function plainStep(route: ApiRoute, handlers: HandlerTable, onOperation: OperationObserver | undefined): RouteStep {
  const { operationId, successStatus } = route;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (onOperation !== undefined) onOperation(operationId, req);
    const handler = handlers[operationId];
    if (handler === undefined) throw notImplemented(operationId);
    const input = requestInput(route, req);
    answer(handler.call(handlers, input), successStatus, res, next);
  };
}

/** A POST/PUT/PATCH operation: the body is read (and its protocol checks run) before anything else. */
function bodyStep(route: ApiRoute, handlers: HandlerTable, maxBodyBytes: number, onOperation: OperationObserver | undefined): RouteStep {
  const { operationId, successStatus, body: rule, validateBody: mode } = route;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      if (onOperation !== undefined) onOperation(operationId, req);
      const raw = await readJsonBody(req, maxBodyBytes);
      const handler = handlers[operationId];
      if (handler === undefined) throw notImplemented(operationId);
      const input = requestInput(route, req);
      if (rule !== null) {
        if (mode === 'after-lookup') input.readBody = () => validateBody(raw, rule);
        else input.body = validateBody(raw, rule);
      }
      const result: unknown = await handler.call(handlers, input);
      res.status(successStatus).json(result);
    } catch (err) {
      next(err);
    }
  };
}

/**
 * The API router for `routes` (registration order: the first matching route of a method wins) and `handlers`:
 * one middleware; unknown routes and unknown methods on a known path fall through to the app's 404.
 * `handlers` may lack operations (501) and is read per request, so a test may swap a handler afterwards.
 */
export function createOperationRouter<H extends object>(
  routes: readonly (ApiRouteOf<H> & ApiRoute)[],
  handlers: Partial<H>,
  options: ApiRouterOptions,
): RequestHandler {
  // Each route's type ties its input to its handler's (ApiRouteOf<H>): the steps may call them all alike.
  const calls = handlers as unknown as HandlerTable;
  return createRouteDispatcher(
    routes.map((route) => ({
      method: route.method.toUpperCase(),
      segments: route.segments,
      params: route.pathParams.map((p) => p.name),
      step: route.readsBody
        ? bodyStep(route, calls, options.maxBodyBytes, options.onOperation)
        : plainStep(route, calls, options.onOperation),
    })),
  );
}
