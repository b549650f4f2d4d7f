/**
 * Static files of `/docs` and `/ui` (docs/behaviour.md §14.3; the `x-static` operations of spec/openapi.yaml).
 * GET and HEAD only; any other method, and any name that is not a file of the site, goes on to the 404 of
 * docs/behaviour.md §2.0.1. A name is one raw path segment of plain characters (`[A-Za-z0-9._-]`, not starting
 * with a dot): `..`, `%2e%2e`, an encoded slash, a NUL or any other escape never match, and the name is then
 * looked up in the in-memory site (src/static/site.ts), so no request path ever reaches the file system.
 * Static files need no token (src/http/auth.ts `isStaticPath`).
 */
import type { RequestHandler, Response } from 'express';
import type { StaticFile, StaticSite } from '../static/site.js';

/** No inline script, nothing from another origin; swagger-ui sets inline styles and uses data: images. */
export const STATIC_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** `/docs`, `/ui` (one trailing slash ignored) or one plain segment below them: [mount, name], else undefined. */
export function staticTarget(rawPath: string): [string, string] | undefined {
  const p = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const m = /^(\/docs|\/ui)(?:\/([^/]+))?$/.exec(p);
  if (m === null) return undefined;
  const name = m[2] ?? '';
  if (name !== '' && !NAME.test(name)) return undefined;
  return [m[1], name];
}

function send(res: Response, file: StaticFile, head: boolean): void {
  res.status(200);
  res.setHeader('Content-Type', file.contentType);
  res.setHeader('Content-Length', file.body.length);
  res.setHeader('Cache-Control', file.cacheControl);
  res.setHeader('Content-Security-Policy', STATIC_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  if (head) res.end();
  else res.end(file.body);
}

export function createStaticHandler(site: StaticSite): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const target = staticTarget(req.path);
    const file = target === undefined ? undefined : site.get(target[0])?.get(target[1]);
    if (file === undefined) return next();
    send(res, file, req.method === 'HEAD');
  };
}
