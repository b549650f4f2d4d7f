/**
 * The API router's dispatch (issue 7; src/http/api-router.ts builds its steps): one middleware with a table keyed by method and segment count,
 * instead of one Express route (one regex) per operation. It keeps what Express 5's router did for our routes
 * (docs/behaviour.md §0.1, §2.0.1):
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
  /** the indexes of the parameter segments, and their names */
  readonly paramIndexes: readonly number[];
  readonly paramNames: readonly string[];
  readonly step: RouteStep;
}

/** Percent-decodes a path segment once; malformed percent-encoding leaves it as it is (docs/behaviour.md §0.1). */
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
 * not start with `/` (no route can match it). The dispatcher itself works on segment offsets (`scanPath`).
 */
export function pathSegments(path: string): string[] | undefined {
  const offsets: number[] = [];
  const count = scanPath(path, Number.MAX_SAFE_INTEGER, offsets);
  if (count < 0) return undefined;
  return Array.from({ length: count }, (_, k) => path.slice(offsets[k]!, offsets[k + 1]! - 1));
}

/**
 * Finds the segments of `path` without cutting it: segment k is `path.slice(offsets[k], offsets[k + 1] - 1)`.
 * Returns the segment count, or -1 when `path` does not start with `/` or has more than `max` segments.
 */
function scanPath(path: string, max: number, offsets: number[]): number {
  if (path.charCodeAt(0) !== 0x2f /* / */) return -1;
  let end = path.length;
  if (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--; // one trailing slash is ignored
  let count = 0;
  offsets[0] = 1;
  for (let i = 1; i < end; i++) {
    if (path.charCodeAt(i) !== 0x2f) continue;
    if (++count >= max) return -1;
    offsets[count] = i + 1;
  }
  offsets[++count] = end + 1;
  return count;
}

function compile(route: RouteSpec): CompiledRoute {
  const paramIndexes: number[] = [];
  route.segments.forEach((segment, index) => {
    if (segment === null) paramIndexes.push(index);
  });
  if (paramIndexes.length !== route.params.length) {
    throw new Error(`${route.method} /${route.segments.join('/')}: ${route.params.length} parameter names for ${paramIndexes.length} parameters`);
  }
  return { segments: route.segments, paramIndexes, paramNames: route.params, step: route.step };
}

/** The decoded parameters when `route` matches the scanned path, else undefined. */
function matchRoute(route: CompiledRoute, path: string, offsets: readonly number[]): Record<string, string> | undefined {
  const template = route.segments;
  for (let k = 0; k < template.length; k++) {
    const literal = template[k];
    const from = offsets[k]!;
    const length = offsets[k + 1]! - 1 - from;
    if (literal === null) {
      if (length === 0) return undefined; // a parameter is never empty
    } else if (length !== literal.length || !path.startsWith(literal, from)) {
      return undefined;
    }
  }
  const params: Record<string, string> = {};
  const { paramIndexes, paramNames } = route;
  for (let p = 0; p < paramIndexes.length; p++) {
    const k = paramIndexes[p]!;
    params[paramNames[p]!] = decodeSegment(path.slice(offsets[k]!, offsets[k + 1]! - 1));
  }
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
    // HEAD on a GET route answers like GET (docs/behaviour.md §2.0.1): the HEAD lists hold the GET and HEAD routes, in
    // registration order, as Express's router tried them.
    if (method === 'GET') add('HEAD', route);
  }

  let maxSegments = 0;
  for (const route of routes) maxSegments = Math.max(maxSegments, route.segments.length);
  /** segment offsets of the request being dispatched (reused: the scan and the match are synchronous) */
  const offsets: number[] = new Array<number>(maxSegments + 2).fill(0);

  return function apiRouter(req: Request, res: Response, next: NextFunction): void {
    const byCount = table.get(req.method);
    if (byCount === undefined) return next();
    // Express's own parse of req.url (parseurl, cached on the request by the app router): the same path the
    // Express routes matched.
    const path = req.path;
    const count = typeof path === 'string' ? scanPath(path, maxSegments + 1, offsets) : -1;
    const candidates = count < 0 ? undefined : byCount[count];
    if (candidates !== undefined) {
      for (let i = 0; i < candidates.length; i++) {
        const route = candidates[i]!;
        const params = matchRoute(route, path, offsets);
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
