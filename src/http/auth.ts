/**
 * Bearer-token authentication (docs/behaviour.md §6.2, §3.3 #2): when MAESTRO_API_TOKEN is set, every request except
 * GET/HEAD /health and OPTIONS needs `Authorization: Bearer <token>` (scheme case-insensitive); the token is
 * compared in constant time. Missing or wrong → 401 UNAUTHORIZED with `WWW-Authenticate: Bearer`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ContractError } from '../contract-error.js';
import { staticTarget } from './static.js';

/** The token of an `Authorization: Bearer <token>` header value, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^bearer[ \t]+(\S.*?)[ \t]*$/i.exec(header);
  return m ? m[1] : undefined;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Constant-time token check: both sides are hashed first, so the comparison runs on equal-length buffers
 * and its duration reveals neither the token's content nor its length.
 */
export function createTokenCheck(expected: string): (candidate: string | undefined) => boolean {
  const want = digest(expected);
  return (candidate) => {
    const got = digest(candidate ?? '');
    return timingSafeEqual(want, got) && candidate !== undefined;
  };
}

export function unauthorized(): ContractError {
  return new ContractError(401, 'UNAUTHORIZED', 'Missing or invalid API token');
}

/**
 * A request path that does not need the token (docs/behaviour.md §2.8 E43, §6.2): OPTIONS, GET/HEAD /health, and
 * GET/HEAD of the static routes `/docs`, `/ui` and one plain file name below them (§14.3; src/http/static.ts).
 */
export function isTokenExempt(method: string, path: string): boolean {
  if (method === 'OPTIONS') return true;
  if (method !== 'GET' && method !== 'HEAD') return false;
  return path === '/health' || path === '/health/' || staticTarget(path) !== undefined;
}
