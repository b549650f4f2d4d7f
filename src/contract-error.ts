/**
 * The one error type of the server (docs/behaviour.md §3). Thrown by the router, the handlers and the store;
 * rendered only by the error middleware as `{ error: true, code, message, details? }`.
 */
export class ContractError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ContractError';
  }

  /** docs/behaviour.md's JSON error body (docs/behaviour.md §3.1): no other keys, never a stack. */
  toBody(): { error: true; code: string; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { error: true, code: this.code, message: this.message }
      : { error: true, code: this.code, message: this.message, details: this.details };
  }
}

/** 400 VALIDATION_ERROR about one field (docs/behaviour.md §2.1: `details.field` names it). */
export function validationError(field: string, message: string): ContractError {
  return new ContractError(400, 'VALIDATION_ERROR', message, { field });
}

/** 404 with the endpoint's not-found code. */
export function notFound(code: string, message: string): ContractError {
  return new ContractError(404, code, message);
}
