/** 404 NOT_FOUND for any method + path without a route (docs/behaviour.md §2.0.1, §3.3 #3). JSON, never HTML; no 405. */
import type { RequestHandler } from 'express';
import { ContractError } from '../contract-error.js';
import { sendContractError } from './error-handler.js';

export function createNotFoundHandler(): RequestHandler {
  return (req, res) => {
    const path = req.originalUrl.split('?')[0] ?? '/';
    sendContractError(res, new ContractError(404, 'NOT_FOUND', `Route not found: ${req.method} ${path}`));
  };
}
