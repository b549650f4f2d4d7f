/**
 * Entry point of the server: docs/behaviour.md §6.4 startup and §5.7 shutdown. The package's executable
 * (`bin/maestro-server.js`) and `npm start` run its bundle, `dist/main.js` (`scripts/build-dist.mjs`, esbuild;
 * npm packages stay external): plain JavaScript under plain `node`, no TypeScript loader and no flag at run time.
 * `npm run dev` runs it under tsx.
 *
 * Invariants:
 * - SIGINT/SIGTERM are handled from the first moment: during the start (the store load included) a signal
 *   abandons the start, releases the DATA_DIR lock and exits 0; a second signal exits 1 at once.
 * - A failed start prints ONE line naming the problem (to stderr, and to LOG_FILE when set); the stack trace
 *   only with LOG_LEVEL=debug.
 * Exit codes: 0 after a clean shutdown (or a stop during the start); 1 on CONFIG_ERROR, storage or bind
 * failure, a shutdown over 5 s, or a second signal during shutdown. `--help` and `--version` exit 0.
 */
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { startServer, StartupStopped, type RunningServer } from './server.js';
import { cliCommand } from './server-args.js';
import { collectGarbage } from './gc.js';

const SHUTDOWN_LIMIT_MS = 5000;

/** Where the process is in its life; the signal handler acts on it. */
const life: { stage: 'starting' | 'running' | 'stopping'; running?: RunningServer; logger?: Logger } = { stage: 'starting' };
const startAbort = new AbortController();

function log(): Logger {
  life.logger ??= createLogger({ format: process.env.LOG_FORMAT === 'json' ? 'json' : 'pretty' });
  return life.logger;
}

/** docs/behaviour.md §5.7: the first SIGINT/SIGTERM stops (gracefully, within 5 s), a second one exits 1 now. */
function onSignal(signal: NodeJS.Signals): void {
  if (life.stage === 'stopping' || startAbort.signal.aborted) {
    log().warn({ signal }, 'second signal during shutdown: exiting now');
    process.exit(1);
  }
  const timer = setTimeout(() => {
    log().error(`shutdown took more than ${SHUTDOWN_LIMIT_MS / 1000} s: forcing exit`);
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS);
  timer.unref();
  if (life.stage === 'starting') {
    // main() sees the abort, closes what the start opened (the lock included) and exits 0.
    log().info({ signal }, 'stop requested during startup');
    startAbort.abort(new StartupStopped(signal));
    return;
  }
  life.stage = 'stopping';
  log().info({ signal }, 'shutting down');
  life.running!.close().then(
    () => {
      log().info('shutdown complete');
      process.exit(0);
    },
    (err: unknown) => {
      log().error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
}

async function main(): Promise<void> {
  const command = cliCommand(process.argv.slice(2));
  if (command.kind === 'print') {
    (command.exitCode === 0 ? process.stdout : process.stderr).write(command.text);
    process.exit(command.exitCode);
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // 1. Read and validate the environment.
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    const debug = process.env.LOG_LEVEL === 'debug';
    startFailed(createLogger({ format: process.env.LOG_FORMAT === 'json' ? 'json' : 'pretty', stream: process.stderr }), err, debug);
  }

  let logger: Logger;
  try {
    logger = createLogger({
      level: config.logLevel,
      format: config.logFormat,
      file: config.logFile,
      debug: config.debug,
      secret: config.apiToken,
    });
  } catch (err) {
    const fallback = createLogger({ format: config.logFormat, stream: process.stderr });
    startFailed(fallback, new ConfigError(`cannot open LOG_FILE: ${(err as Error).message}`, 'LOG_FILE'), config.logLevel === 'debug');
  }
  life.logger = logger;
  for (const w of config.warnings) logger.warn(w);

  // 2–5. Storage, app, WebSocket, listen.
  let running: RunningServer;
  try {
    running = await startServer(config, { logger, stopSignal: startAbort.signal });
  } catch (err) {
    if (err instanceof StartupStopped) {
      logger.info('stopped before the server was ready; DATA_DIR lock released');
      process.exit(0);
    }
    // The error line goes to stderr (and LOG_FILE), in the configured format, secrets scrubbed.
    const errorLogger = createLogger({
      level: config.logLevel,
      format: config.logFormat,
      file: config.logFile,
      secret: config.apiToken,
      stream: process.stderr,
    });
    startFailed(errorLogger, err, config.logLevel === 'debug' || config.debug);
  }
  if (startAbort.signal.aborted) {
    // The signal came after the load, while the server was starting to listen: stop it the normal way.
    await running.close();
    logger.info('stopped before the server was ready; DATA_DIR lock released');
    process.exit(0);
  }
  life.running = running;
  life.stage = 'running';
  // One full GC now that the startup load is done: its garbage (file texts, parse and index building) is
  // returned to the OS at once instead of whenever V8's memory reducer gets to it (issue 7: RSS right after
  // start 316–324 → 281–288 MB with 100 000 tasks, for ~0.1 s).
  collectGarbage();
  // 6.
  logger.info({ url: running.url }, `Server running at ${running.url}`);
  if (running.url !== config.serverUrl) logger.info({ serverUrl: config.serverUrl }, 'SERVER_URL for spawned sessions');

  // A stray rejection is a bug to log, not a reason to drop every client (docs/behaviour.md §12 robustness).
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception: exiting');
    process.exit(1);
  });
}

/**
 * One line naming the problem, then exit 1 (docs/behaviour.md §6.1, §6.4). CONFIG_ERROR (bad variable, locked
 * DATA_DIR, folders that cannot be created) is named as such; the stack trace follows only in debug.
 */
function startFailed(logger: Logger, err: unknown, debug: boolean): never {
  const e = err as { code?: unknown; message?: unknown; variable?: unknown };
  const isConfig = e.code === 'CONFIG_ERROR';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const fields: Record<string, unknown> = { code: isConfig ? 'CONFIG_ERROR' : 'START_ERROR' };
  if (typeof e.variable === 'string') fields.variable = e.variable;
  if (debug) fields.err = err;
  logger.error(fields, isConfig ? `CONFIG_ERROR: ${message}` : `server failed to start: ${message}`);
  process.exit(1);
}

void main();
