/**
 * Logging (docs/behaviour.md §6.5): pino, LOG_LEVEL / LOG_FORMAT / LOG_FILE / DEBUG of §6.1.
 * `pretty` is a small human line format written here (pino-pretty is not a dependency); `json` is pino's own.
 * The API token is scrubbed from every line, whatever logged it (§6.2: secrets are never logged).
 *
 * The console is written asynchronously (issue 20): a synchronous write to a terminal or a pipe whose reader is
 * slow (a container's log driver, `| less`) blocks the event loop, and with it every request, for as long as
 * the reader lags. Lines are queued in order and written by a background write; what is still queued when the
 * process exits (process.exit after a fatal line included) is written synchronously by an `exit` hook, so no
 * line is lost short of SIGKILL. LOG_FILE stays synchronous: a local file write only reaches the page cache,
 * and a line is on disk when the call returns (which the tests of LOG_FILE rely on).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';

type SonicBoom = ReturnType<typeof pino.destination>;

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: 'error' | 'warn' | 'info' | 'debug' | 'silent';
  format?: 'pretty' | 'json';
  /** Extra destination besides the console (appended, created with its folder if missing). */
  file?: string;
  /** DEBUG=true: at least `debug` level. */
  debug?: boolean;
  /** A secret that must never appear in any line (MAESTRO_API_TOKEN). */
  secret?: string;
  /** Console replacement (tests); defaults to stdout. */
  stream?: { write(line: string): unknown };
  /** `true` → no output at all (tests). */
  silent?: boolean;
}

const REDACTED = '[REDACTED]';

let consoleSink: SonicBoom | undefined;

/**
 * The one asynchronous stdout writer of the process (shared: two writers on one fd could interleave), flushed
 * synchronously at exit.
 */
function asyncConsole(): SonicBoom {
  if (consoleSink === undefined) {
    const sink = pino.destination({ dest: 1, sync: false });
    consoleSink = sink;
    process.once('exit', () => flushQuietly(sink));
  }
  return consoleSink;
}

function flushQuietly(sink: SonicBoom): void {
  try {
    sink.flushSync();
  } catch {
    // at exit there is nowhere left to report a console that cannot be written
  }
}

/** Creates the server's logger: console asynchronous (flushed at exit), LOG_FILE synchronous (see above). */
export function createLogger(options: LoggerOptions = {}): Logger {
  if (options.silent) return pino({ level: 'silent' });
  let level: LevelWithSilent = options.level ?? 'info';
  if (options.debug && level !== 'silent') level = 'debug';

  const sinks: Array<{ write(s: string): unknown }> = [options.stream ?? asyncConsole()];
  if (options.file) {
    fs.mkdirSync(path.dirname(options.file), { recursive: true });
    sinks.push(pino.destination({ dest: options.file, sync: true, append: true }));
  }
  const format = options.format ?? 'pretty';
  const scrub = secretScrubber(options.secret);
  const destination: DestinationStream = {
    write(line: string) {
      const text = scrub(format === 'pretty' ? prettyLine(line) : line);
      for (const s of sinks) s.write(text);
    },
  };
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['apiToken', 'token', 'config.apiToken', 'headers.authorization', 'req.headers.authorization'],
        censor: REDACTED,
      },
    },
    destination,
  );
}

/** A logger that writes nothing (tests, and code paths that need a logger before config is known). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

function secretScrubber(secret: string | undefined): (line: string) => string {
  if (!secret) return (line) => line;
  // The token may show up raw (pretty lines) or JSON-escaped (json lines).
  const forms = [...new Set([secret, JSON.stringify(secret).slice(1, -1)])];
  return (line) => {
    let out = line;
    for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  };
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** `HH:MM:SS.mmm LEVEL message key=value …` (+ an indented stack for errors) from one pino JSON line. */
export function prettyLine(jsonLine: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const { level, time, msg, err, ...rest } = rec;
  const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const lvl = (LEVEL_NAMES[level as number] ?? String(level)).padEnd(5);
  let out = `${t} ${lvl} ${typeof msg === 'string' ? msg : ''}`;
  for (const [k, v] of Object.entries(rest)) {
    out += ` ${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`;
  }
  if (err && typeof err === 'object') {
    const e = err as { message?: string; stack?: string };
    out += e.stack ? `\n    ${e.stack.split('\n').join('\n    ')}` : ` err=${JSON.stringify(e.message ?? err)}`;
  }
  return out + '\n';
}
