import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, prettyLine } from '../../src/log.js';
import { tempDir } from '../support/temp.js';

function capture() {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => lines.push(s) } };
}

describe('logger (docs/behaviour.md §6.5)', () => {
  it('pretty: one human line per record with time, level, message and fields', () => {
    const { lines, stream } = capture();
    const log = createLogger({ format: 'pretty', stream });
    log.info({ method: 'GET', url: '/api/projects', status: 200, ms: 1.5 }, 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  request method=GET url=\/api\/projects status=200 ms=1.5\n$/);
  });

  it('pretty: errors carry their stack on indented lines', () => {
    const line = prettyLine(JSON.stringify({ level: 50, time: 0, msg: 'failed', err: { message: 'x', stack: 'Error: x\n    at f (a.ts:1:1)' } }));
    expect(line).toBe('00:00:00.000 ERROR failed\n    Error: x\n        at f (a.ts:1:1)\n');
  });

  it('json: pino JSON lines', () => {
    const { lines, stream } = capture();
    const log = createLogger({ format: 'json', stream });
    log.warn({ a: 1 }, 'hello');
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 40, msg: 'hello', a: 1 });
    expect(typeof rec.time).toBe('number');
  });

  it('levels filter; DEBUG=true lowers the level to debug', () => {
    const a = capture();
    const warnOnly = createLogger({ level: 'warn', stream: a.stream });
    warnOnly.info('no');
    warnOnly.debug('no');
    warnOnly.warn('yes');
    warnOnly.error('yes');
    expect(a.lines).toHaveLength(2);
    const b = capture();
    const dbg = createLogger({ level: 'error', debug: true, stream: b.stream });
    dbg.debug('shown');
    expect(b.lines).toHaveLength(1);
  });

  it('never writes the token, in either format, whoever logs it', () => {
    const secret = 'tok"en\\with-quotes';
    for (const format of ['pretty', 'json'] as const) {
      const { lines, stream } = capture();
      const log = createLogger({ format, stream, secret });
      log.info({ headers: { authorization: `Bearer ${secret}` }, apiToken: secret, other: `x${secret}y` }, `message with ${secret}`);
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toContain('tok"en');
      expect(lines[0]).not.toContain('tok\\"en');
      expect(lines[0]).toContain('[REDACTED]');
    }
  });

  it('LOG_FILE is an extra destination (folder created); the console still gets the line', () => {
    const file = path.join(tempDir(), 'nested', 'server.log');
    const { lines, stream } = capture();
    const log = createLogger({ format: 'json', stream, file });
    log.info('to both');
    expect(lines).toHaveLength(1);
    const written = fs.readFileSync(file, 'utf8');
    expect(JSON.parse(written.trim())).toMatchObject({ msg: 'to both' });
  });

  it('silent mode writes nothing', () => {
    const { lines, stream } = capture();
    const log = createLogger({ silent: true, stream });
    log.error('nothing');
    expect(lines).toHaveLength(0);
  });
});
