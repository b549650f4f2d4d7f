/**
 * Request body protocol checks (docs/behaviour.md §0.5, §3.3 checks 4–7), in this order:
 * 415 UNSUPPORTED_MEDIA_TYPE → 413 PAYLOAD_TOO_LARGE → 400 "Invalid JSON body" → 400 "Request body must be a
 * JSON object". An empty body (0 bytes) is `{}` whatever the Content-Type.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ContractError } from '../contract-error.js';

/** `application/json` or `application/*+json`, case-insensitive, parameters ignored (docs/behaviour.md §3.3). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const type = header.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[^/\s]+\+json$/.test(type);
}

function unsupportedMediaType(): ContractError {
  return new ContractError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
}

function payloadTooLarge(maxBytes: number): ContractError {
  return new ContractError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${maxBytes} bytes`);
}

/**
 * We answer before the client has sent its whole body: ask Node to close the connection after the
 * response (so the unread rest cannot be taken for the next request) and keep discarding what arrives
 * meanwhile (so a client still writing is not stalled before it reads the answer).
 */
function abandon(req: IncomingMessage): void {
  const res = (req as IncomingMessage & { res?: ServerResponse }).res;
  if (res && !res.headersSent) res.setHeader('Connection', 'close');
  req.resume();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads and parses a JSON object body; throws the ContractError of the first failing check. */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const json = isJsonContentType(req.headers['content-type']);
  const lengthHeader = req.headers['content-length'];
  const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
  const chunked = req.headers['transfer-encoding'] !== undefined;

  if (req.readableEnded || (!chunked && (declared === undefined || declared === 0))) {
    return Promise.resolve({});
  }
  if (declared !== undefined && declared > 0 && !chunked) {
    // Known non-empty body: decide 415 and 413 without reading it.
    if (!json) {
      abandon(req);
      return Promise.reject(unsupportedMediaType());
    }
    if (declared > maxBytes) {
      abandon(req);
      return Promise.reject(payloadTooLarge(maxBytes));
    }
  }

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      fn();
    };
    const onData = (chunk: Buffer): void => {
      if (chunk.length === 0) return;
      if (!json) {
        // Non-empty body with a non-JSON type: 415 wins over 413 (docs/behaviour.md §3.3 order).
        finish(() => {
          abandon(req);
          reject(unsupportedMediaType());
        });
        return;
      }
      received += chunk.length;
      if (received > maxBytes) {
        finish(() => {
          abandon(req);
          reject(payloadTooLarge(maxBytes));
        });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void =>
      finish(() => {
        if (received === 0) {
          resolve({});
          return;
        }
        try {
          resolve(parseJsonObject(Buffer.concat(chunks, received)));
        } catch (err) {
          reject(err);
        }
      });
    const onError = (err: Error): void => finish(() => reject(err));
    const onAborted = (): void => finish(() => reject(new Error('request aborted while reading the body')));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/**
 * Deepest nesting of objects and arrays a body may have. JSON.parse copes with any depth, but the recursive
 * JSON.stringify that writes the entity file, the response and the WebSocket envelope overflows the stack
 * somewhere between 2 000 and 5 000 levels, which turned such a body (e.g. a session event's free-form `data`)
 * into a 500. Real payloads are a few levels deep; this limit is a protocol check like the body size.
 */
export const MAX_JSON_DEPTH = 512;

/** True when `value` nests objects/arrays deeper than `max` levels (iterative: no recursion on client data). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Checks 6 and 7 of docs/behaviour.md §3.3 on a complete, non-empty body (plus the nesting limit, a 400 like 6). */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    throw new ContractError(400, 'VALIDATION_ERROR', 'Invalid JSON body');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ContractError(400, 'VALIDATION_ERROR', 'Request body must be a JSON object');
  }
  if (nestedDeeperThan(value, MAX_JSON_DEPTH)) {
    throw new ContractError(400, 'VALIDATION_ERROR', `JSON body nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return value as Record<string, unknown>;
}
