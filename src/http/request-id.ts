/**
 * Request ids (issue 20): every HTTP request gets one, to follow it through the logs. A client's (or a proxy's)
 * `X-Request-Id` is kept when it is sane; anything else is replaced, so that a header cannot smuggle spaces, quotes
 * or control characters into a log line, nor grow one without bound.
 */
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** 1–128 characters of `[A-Za-z0-9._:-]`: UUIDs, ULIDs, trace ids and `host:counter` forms all fit. */
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id of a request: its `X-Request-Id` header when sane, else a new UUID. A header sent twice arrives joined
 * with ", " (Node) and is therefore replaced.
 */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_ID.test(header) ? header : randomUUID();
}

/** The id the guards gave this response (set on every response before anything can answer), or undefined. */
export function requestIdOfResponse(res: { getHeader(name: string): unknown }): string | undefined {
  const id = res.getHeader(REQUEST_ID_HEADER);
  return typeof id === 'string' ? id : undefined;
}
