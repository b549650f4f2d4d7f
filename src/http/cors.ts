/**
 * CORS (docs/behaviour.md §6.3). The allow-list is also used by the WebSocket upgrade origin check (§4.1),
 * whatever CORS_ENABLED says, so it lives in a policy object separate from the middleware.
 */
import type { Request, Response } from 'express';
import type { CorsConfig } from '../config.js';

export interface CorsPolicy {
  /** True when the `Origin` value is on the allow-list. */
  isAllowed(origin: string): boolean;
  /** `*` is configured: every origin is allowed. */
  readonly any: boolean;
  readonly credentials: boolean;
}

const DEFAULT_ORIGIN =
  /^https?:\/\/(?:localhost|127(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[::1\])(?::\d{1,5})?$/i;

/** Scheme and host compare case-insensitively; an origin has no path, so lower-casing it all is enough. */
const normalise = (origin: string) => origin.toLowerCase();

export function createCorsPolicy(cors: Pick<CorsConfig, 'origins' | 'credentials'>): CorsPolicy {
  if (cors.origins === null) {
    return {
      any: false,
      credentials: cors.credentials,
      isAllowed: (origin) => DEFAULT_ORIGIN.test(origin) || normalise(origin) === 'tauri://localhost',
    };
  }
  const any = cors.origins.includes('*');
  const set = new Set(cors.origins.map(normalise));
  return { any, credentials: cors.credentials, isAllowed: (origin) => any || set.has(normalise(origin)) };
}

const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
const DEFAULT_ALLOW_HEADERS = 'Content-Type, Authorization';
/**
 * Response headers a browser script may read besides the CORS-safelisted ones: the request id (src/http/request-id.ts),
 * so a web client can report it. docs/behaviour.md §6.3 names the headers an allowed origin gets without closing
 * the list; this one is only added where §6.3 allows CORS headers at all (see docs/decisions.md).
 */
const EXPOSE_HEADERS = 'X-Request-Id';

/**
 * Adds the CORS headers for an allowed `Origin` and answers every OPTIONS with 204 and no body.
 * With `enabled: false` no CORS header is ever sent; OPTIONS still answers 204.
 * Returns true when it answered the request (OPTIONS); false when the request goes on.
 */
export function applyCors(enabled: boolean, policy: CorsPolicy, req: Request, res: Response): boolean {
  const origin = req.headers.origin;
  if (enabled && origin !== undefined && origin !== '' && policy.isAllowed(origin)) {
    res.setHeader('Access-Control-Allow-Origin', policy.any && !policy.credentials ? '*' : origin);
    res.vary('Origin');
    if (policy.credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (req.method !== 'OPTIONS') res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    else {
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      const requested = req.headers['access-control-request-headers'];
      res.setHeader(
        'Access-Control-Allow-Headers',
        typeof requested === 'string' && requested.trim() !== '' ? requested : DEFAULT_ALLOW_HEADERS,
      );
    }
  }
  if (req.method === 'OPTIONS') {
    res.status(204).end();
    return true;
  }
  return false;
}
