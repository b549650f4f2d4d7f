/**
 * The generated router's dispatch (issue 7): one middleware with a table keyed by method and segment count,
 * instead of one Express route (one regex) per operation. It keeps what Express 5's router did for our routes
 * (CONTRACT §0.1, §2.0.1):
 *
 * - matching on the raw path (Express's `req.path`: the URL before `?`), case-sensitively, segment by segment;
 *   a literal segment matches itself only, a parameter matches any non-empty segment;
 * - one trailing `/` is ignored (`strict: false`), two are not;
 * - HEAD is answered by the GET operation of the path (the step answers with `res.json`, which sends no body
 *   for HEAD);
 * - routes are tried in the generator's registration order (codegen/operations.ts `routeOrder`: a literal beats
 *   a parameter), and among those of the request's method, the first that matches wins;
 * - parameters are percent-decoded once with `decodeURIComponent`; a segment with malformed percent-encoding is
 *   taken literally (an unknown id, never a 400); `%2F` decodes to `/`;
 * - `req.params` is set to the decoded parameters before the step runs;
 * - no route for method + path → `next()`: the app's 404 (no 405), `req.url` untouched.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * An operation's request → response step, called once the route matched and `req.params` is set. It answers,
 * or passes its error to `next(err)`; a synchronous throw is passed to `next(err)` by the dispatcher. A promise
 * it returns is not looked at: asynchronous errors are the step's own business.
 */
export type RouteStep = (req: Request, res: Response, next: NextFunction) => void | Promise<void>;

export interface RouteSpec {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The path template's segments after the leading `/`: a literal, or `null` for a parameter. */
  readonly segments: readonly (string | null)[];
  /** The parameter names, in the order of the `null` segments. */
  readonly params: readonly string[];
  readonly step: RouteStep;
}

interface CompiledRoute {
  readonly segments: readonly (string | null)[];
  /** [segment index, parameter name] */
  readonly params: readonly (readonly [number, string])[];
  readonly step: RouteStep;
}

/** Percent-decodes a path segment once; malformed percent-encoding leaves it as it is (CONTRACT §0.1). */
export function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The segments of a path after its leading `/`, with one trailing `/` dropped; undefined for a path that does
 * not start with `/` (no route can match it).
 */
export function pathSegments(path: string): string[] | undefined {
  if (path.charCodeAt(0) !== 0x2f /* / */) return undefined;
  const end = path.length > 1 && path.charCodeAt(path.length - 1) === 0x2f ? path.length - 1 : path.length;
  return path.slice(1, end).split('/');
}

function compile(route: RouteSpec): CompiledRoute {
  const params: [number, string][] = [];
  route.segments.forEach((segment, index) => {
    if (segment === null) params.push([index, route.params[params.length]!]);
  });
  if (params.length !== route.params.length) {
    throw new Error(`${route.method} /${route.segments.join('/')}: ${route.params.length} parameter names for ${params.length} parameters`);
  }
  return { segments: route.segments, params, step: route.step };
}

function matchRoute(route: CompiledRoute, segments: readonly string[]): Record<string, string> | undefined {
  const template = route.segments;
  for (let i = 0; i < template.length; i++) {
    const literal = template[i];
    if (literal === null ? segments[i] === '' : literal !== segments[i]) return undefined;
  }
  const params: Record<string, string> = {};
  for (const [index, name] of route.params) params[name] = decodeSegment(segments[index]!);
  return params;
}

/** Builds the dispatch middleware; `routes` in registration order. */
export function createRouteDispatcher(routes: readonly RouteSpec[]): RequestHandler {
  /** method → segment count → routes of that shape, in registration order */
  const table = new Map<string, CompiledRoute[][]>();
  const add = (method: string, route: CompiledRoute) => {
    let byCount = table.get(method);
    if (byCount === undefined) table.set(method, (byCount = []));
    (byCount[route.segments.length] ??= []).push(route);
  };
  for (const spec of routes) {
    const method = spec.method.toUpperCase();
    const route = compile(spec);
    add(method, route);
    // HEAD on a GET route answers like GET (CONTRACT §2.0.1): the HEAD lists hold the GET and HEAD routes, in
    // registration order, as Express's router tried them.
    if (method === 'GET') add('HEAD', route);
  }

  return function apiRouter(req: Request, res: Response, next: NextFunction): void {
    const byCount = table.get(req.method);
    if (byCount === undefined) return next();
    // Express's own parse of req.url (parseurl, cached on the request by the app router): the same path the
    // Express routes matched.
    const path = req.path;
    const segments = typeof path === 'string' ? pathSegments(path) : undefined;
    if (segments === undefined) return next();
    const candidates = byCount[segments.length];
    if (candidates !== undefined) {
      for (const route of candidates) {
        const params = matchRoute(route, segments);
        if (params === undefined) continue;
        req.params = params;
        try {
          void route.step(req, res, next);
        } catch (err) {
          next(err);
        }
        return;
      }
    }
    next();
  };
}
