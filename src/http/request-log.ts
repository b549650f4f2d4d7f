/** One log line per /api request: method, URL, status, duration in ms (CONTRACT §6.5). */
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

export function createRequestLog(options: { logger: Logger }): RequestHandler {
  const { logger } = options;
  return (req, res, next) => {
    const url = req.originalUrl;
    if (!(url === '/api' || url.startsWith('/api/') || url.startsWith('/api?'))) return next();
    const start = process.hrtime.bigint();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const ms = Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100;
      const status = res.headersSent ? res.statusCode : 0; // 0: the client went away before an answer
      const line = { method: req.method, url, status, ms };
      if (status >= 500) logger.warn(line, 'request');
      else logger.info(line, 'request');
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };
}
