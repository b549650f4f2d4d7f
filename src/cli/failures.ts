/**
 * Exit codes of `maestro-api` and how a failure maps to one:
 *   0 success · 1 an API error (`CODE: message` on stderr) · 2 a usage error (the message names the flag) ·
 *   3 the server could not be reached.
 */
export const EXIT = { ok: 0, apiError: 1, usage: 2, unreachable: 3 } as const;

/** A mistake in the command line that the parser cannot see (a required body field, a bad --data). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The server did not answer at all (refused, unknown host, reset, timeout). */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) {
      const c = causeCode(inner);
      if (c !== undefined) return c;
    }
  }
  return undefined;
}

/**
 * Whether a thrown error means the server could not be reached: fetch rejects with a TypeError ("fetch failed")
 * whose cause carries the socket error code.
 */
export function unreachableReason(err: unknown): string | undefined {
  const code = causeCode(err);
  if (code !== undefined) return code;
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) return err.message;
  return undefined;
}
