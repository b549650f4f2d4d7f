/**
 * The one place that renders errors (docs/behaviour.md §3.1, §3.2): ContractError → its status and body;
 * body-parser-style errors → the protocol codes of §3.3; anything else → 500 INTERNAL_ERROR.
 * Never a stack trace in a body; every 5xx is logged.
 */
import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { ContractError } from '../contract-error.js';
import { requestIdOfResponse } from './request-id.js';

/** Sends a ContractError as docs/behaviour.md's JSON error body. */
export function sendContractError(res: Response, err: ContractError): void {
  res.status(err.status).json(err.toBody());
}

/** The codes for errors that carry an HTTP status (http-errors / body-parser style). */
const STATUS_CODES: Record<number, string> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Maps anything thrown to a ContractError; `production` hides exception text in 500 messages. */
export function toContractError(err: unknown, production: boolean): ContractError {
  if (err instanceof ContractError) {
    if (production && err.status >= 500) {
      if (err.code === 'INTERNAL_ERROR') return new ContractError(500, 'INTERNAL_ERROR', 'Internal server error');
      if (err.code === 'spawn_error') return new ContractError(err.status, 'spawn_error', 'Spawn failed');
    }
    return err;
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    type?: unknown;
    status?: unknown;
    statusCode?: unknown;
    limit?: unknown;
    expose?: unknown;
    message?: unknown;
  };
  // body-parser / raw-body error types.
  switch (e.type) {
    case 'entity.too.large':
      return new ContractError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${String(e.limit ?? 'the limit of')} bytes`);
    case 'entity.parse.failed':
      return new ContractError(400, 'VALIDATION_ERROR', 'Invalid JSON body');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ContractError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
  }
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
  const code = STATUS_CODES[status];
  if (code !== undefined && status < 500) {
    const message = typeof e.message === 'string' && e.message !== '' ? e.message : code;
    return new ContractError(status, code, message);
  }
  const raw = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  const message = production || raw === '' ? 'Internal server error' : raw;
  return new ContractError(500, 'INTERNAL_ERROR', message);
}

/** Express error middleware: last in the chain. */
export function createErrorHandler(options: { logger: Logger; production: boolean }): ErrorRequestHandler {
  const { logger, production } = options;
  return (err, req, res, _next) => {
    const ce = toContractError(err, production);
    if (ce.status >= 500) {
      // The request id ties this line (with the stack) to the request line and to what the client saw.
      logger.error({ err, method: req.method, url: req.originalUrl, requestId: requestIdOfResponse(res) }, `request failed: ${ce.code}`);
    } else if (!(err instanceof ContractError)) {
      logger.debug(
        { method: req.method, url: req.originalUrl, status: ce.status, requestId: requestIdOfResponse(res) },
        `request rejected: ${ce.message}`,
      );
    }
    if (res.headersSent) {
      // Too late for a JSON body; end the response so the client is not left waiting.
      res.end();
      return;
    }
    sendContractError(res, ce);
  };
}
