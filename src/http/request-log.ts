/**
 * One log line per /api request: method, URL, status, duration in ms (docs/behaviour.md §6.5), and the request id
 * (src/http/request-id.ts) to find the request's other lines (a 500's error line carries it too).
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';

/** True for the URLs that get a request line: `/api`, `/api/…` and `/api?…`. */
export function isApiUrl(url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url.startsWith('/api?');
}

/**
 * True when a request line could be written: `info` for answers below 500, `warn` for 5xx. When neither is
 * enabled (LOG_LEVEL=error), watching a request would cost two listeners and a clock reading for nothing.
 */
function linesEnabled(logger: Logger): boolean {
  return typeof logger.isLevelEnabled !== 'function' || logger.isLevelEnabled('warn');
}

/**
 * Watches one request (it never answers): when the response finishes, or the connection closes first, writes
 * its line. Only /api URLs are logged.
 */
export function watchRequest(logger: Logger, req: Request, res: Response, requestId: string): void {
  const url = req.originalUrl;
  if (!isApiUrl(url) || !linesEnabled(logger)) return;
  const start = process.hrtime.bigint();
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    const ms = Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100;
    const status = res.headersSent ? res.statusCode : 0; // 0: the client went away before an answer
    const line = { method: req.method, url, status, ms, requestId };
    if (status >= 500) logger.warn(line, 'request');
    else logger.info(line, 'request');
  };
  res.once('finish', finish);
  res.once('close', finish);
}
