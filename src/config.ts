/**
 * Server configuration: the environment read once at startup, validated into a typed object.
 * docs/behaviour.md §6.1 (variables), §6.2 (binding rule, loopback), §6.3 (CORS list), §6.4 step 1.
 */
import variables from './config-variables.json' with { type: 'json' };
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import path from 'node:path';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'pretty' | 'json';
export type NodeEnv = 'development' | 'production' | 'test';

export interface CorsConfig {
  /** CORS_ENABLED: false only for the exact string `false`. */
  enabled: boolean;
  /** CORS_ORIGINS entries, or null when unset (the default allow-list of §6.3 applies). */
  origins: string[] | null;
  /** CORS_CREDENTIALS: true only for the exact string `true`. */
  credentials: boolean;
}

export interface Config {
  port: number;
  /** Bind address as given (brackets around an IPv6 literal removed). */
  host: string;
  /** True when `host` is a loopback name or address (§6.2); turns the DNS-rebinding guard on. */
  hostIsLoopback: boolean;
  /** Absolute http(s) URL without trailing `/`. */
  serverUrl: string;
  dataDir: string;
  sessionDir: string;
  skillsDir: string;
  databaseType: 'filesystem';
  databaseUrl: string | undefined;
  manifestGenerator: 'server' | 'cli';
  maestroCliPath: string;
  /** MAESTRO_API_TOKEN; undefined when unset or empty. Never log this object as a whole. */
  apiToken: string | undefined;
  allowUnauthenticated: boolean;
  maxBodyBytes: number;
  cors: CorsConfig;
  logLevel: LogLevel;
  logFormat: LogFormat;
  logFile: string | undefined;
  debug: boolean;
  nodeEnv: NodeEnv;
  /** MAESTRO_METRICS: true only for the exact string `true`; serves `GET /metrics` (docs/operations.md). */
  metrics: boolean;
  /** Things worth a warning at startup (logged by the entry point once a logger exists). */
  warnings: string[];
}

/** CONFIG_ERROR (docs/behaviour.md §3.2): a bad variable; logged, then the process exits 1. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_ERROR';
  constructor(
    message: string,
    readonly variable?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** One environment variable: its default (absent: unset) and what it means, for `--help` and the docs. */
export interface EnvVariable {
  readonly default?: string;
  /** How the default is shown when it is derived rather than a fixed value. */
  readonly shownDefault?: string;
  readonly help: string;
  /** Why the variable is there when it is not one of docs/behaviour.md §6.1. */
  readonly note?: string;
}

/**
 * Every variable of docs/behaviour.md §6.1 (and this server's own MAESTRO_METRICS), in the order `maestro-server
 * --help` lists them: a data file (src/config-variables.json). loadConfig takes its defaults from here, so the help
 * text cannot drift from what the server does.
 */
export const ENV_VARIABLES = variables as Readonly<Record<keyof typeof variables, EnvVariable>>;

export type EnvVariableName = keyof typeof ENV_VARIABLES;

/** The `--help` table: one line per variable, `NAME  default  meaning`. */
export function environmentHelp(): string {
  const rows = Object.entries(ENV_VARIABLES).map(([name, v]) => [
    name,
    v.default ?? v.shownDefault ?? '(unset)',
    v.help,
  ]);
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  return rows.map(([n, d, h]) => `  ${n!.padEnd(w0)}  ${d!.padEnd(w1)}  ${h}`).join('\n');
}

const dflt = (name: EnvVariableName): string => {
  const value = ENV_VARIABLES[name].default;
  if (value === undefined) throw new Error(`${name} has no default`);
  return value;
};

const MIN_BODY_BYTES = 1024;
const MAX_BODY_BYTES = 104_857_600;

/** Reads and validates every variable of docs/behaviour.md §6.1. Throws ConfigError naming the first bad one. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const warnings: string[] = [];
  // An empty value is treated as unset: `VAR=` in a shell or compose file usually means "no value".
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const exactBool = (name: string, enabling: 'true' | 'false'): boolean => {
    const v = get(name);
    if (v !== undefined && v !== 'true' && v !== 'false') {
      warnings.push(`${name}=${JSON.stringify(v)} is neither "true" nor "false"; values are compared as exact strings`);
    }
    return v === enabling;
  };

  const port = parseIntInRange('PORT', get('PORT'), Number(dflt('PORT')), 1, 65535);

  let host = get('HOST') ?? dflt('HOST');
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '' || /[\s/]/.test(host)) throw bad('HOST', get('HOST'), 'a host name or IP address');
  const hostIsLoopback = isLoopbackHost(host);

  const serverUrl = deriveServerUrl(get('SERVER_URL'), host, port);

  const dataDir = resolveDir(get('DATA_DIR') ?? dflt('DATA_DIR'), cwd);
  const sessionDir = resolveDir(get('SESSION_DIR') ?? dflt('SESSION_DIR'), cwd);
  const skillsDir = resolveDir(get('SKILLS_DIR') ?? dflt('SKILLS_DIR'), cwd);

  const databaseType = get('DATABASE_TYPE') ?? dflt('DATABASE_TYPE');
  if (databaseType === 'postgres') {
    throw new ConfigError('DATABASE_TYPE=postgres is not supported yet', 'DATABASE_TYPE');
  }
  if (databaseType !== 'filesystem') throw bad('DATABASE_TYPE', databaseType, 'one of: filesystem, postgres');

  const manifestGenerator = oneOf('MANIFEST_GENERATOR', get('MANIFEST_GENERATOR'), ['server', 'cli'] as const, dflt('MANIFEST_GENERATOR') as 'server');
  const maestroCliPath = get('MAESTRO_CLI_PATH') ?? dflt('MAESTRO_CLI_PATH');

  const apiToken = get('MAESTRO_API_TOKEN');
  // HTTP trims header values and forbids control characters, so such a token could never match.
  if (apiToken !== undefined && (apiToken.trim() !== apiToken || /[\x00-\x1f\x7f]/.test(apiToken))) {
    throw new ConfigError(
      'Invalid MAESTRO_API_TOKEN: it must not start or end with whitespace or contain control characters (value not shown)',
      'MAESTRO_API_TOKEN',
    );
  }
  const allowUnauthenticated = exactBool('MAESTRO_ALLOW_UNAUTHENTICATED', 'true');

  const maxBodyBytes = parseIntInRange(
    'MAESTRO_MAX_BODY_BYTES',
    get('MAESTRO_MAX_BODY_BYTES'),
    Number(dflt('MAESTRO_MAX_BODY_BYTES')),
    MIN_BODY_BYTES,
    MAX_BODY_BYTES,
  );

  const corsEnabled = !exactBool('CORS_ENABLED', 'false');
  const corsCredentials = exactBool('CORS_CREDENTIALS', 'true');
  const rawOrigins = get('CORS_ORIGINS');
  let origins: string[] | null = null;
  if (rawOrigins !== undefined) {
    const list = rawOrigins
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    // A value with no entries at all is treated like unset (the default list), not as "allow nothing".
    origins = list.length > 0 ? list : null;
  }

  const logLevel = oneOf('LOG_LEVEL', get('LOG_LEVEL'), ['error', 'warn', 'info', 'debug'] as const, dflt('LOG_LEVEL') as 'info');
  const logFormat = oneOf('LOG_FORMAT', get('LOG_FORMAT'), ['pretty', 'json'] as const, dflt('LOG_FORMAT') as 'pretty');
  const rawLogFile = get('LOG_FILE');
  const logFile = rawLogFile === undefined ? undefined : resolveDir(rawLogFile, cwd);
  const debug = exactBool('DEBUG', 'true');
  const nodeEnv = oneOf('NODE_ENV', get('NODE_ENV'), ['development', 'production', 'test'] as const, dflt('NODE_ENV') as 'development');
  // An operational endpoint outside the API (docs/decisions.md): off unless asked for, like the other opt-ins.
  const metrics = exactBool('MAESTRO_METRICS', 'true');

  // docs/behaviour.md §6.2: a non-loopback bind needs a token or the explicit opt-out.
  if (!hostIsLoopback && apiToken === undefined) {
    if (!allowUnauthenticated) {
      throw new ConfigError(
        `HOST=${host}: binding to a non-loopback address requires MAESTRO_API_TOKEN or MAESTRO_ALLOW_UNAUTHENTICATED=true`,
        'HOST',
      );
    }
    warnings.push(`HOST=${host} is not a loopback address and no MAESTRO_API_TOKEN is set: the API is open to the network`);
  }

  return {
    port,
    host,
    hostIsLoopback,
    serverUrl,
    dataDir,
    sessionDir,
    skillsDir,
    databaseType: 'filesystem',
    databaseUrl: get('DATABASE_URL'),
    manifestGenerator,
    maestroCliPath,
    apiToken,
    allowUnauthenticated,
    maxBodyBytes,
    cors: { enabled: corsEnabled, origins, credentials: corsCredentials },
    logLevel,
    logFormat,
    logFile,
    debug,
    nodeEnv,
    metrics,
    warnings,
  };
}

function bad(name: string, value: string | undefined, expected: string): ConfigError {
  return new ConfigError(`Invalid ${name}=${JSON.stringify(value ?? '')}: expected ${expected}`, name);
}

function parseIntInRange(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined) return dflt;
  if (!/^[0-9]+$/.test(raw)) throw bad(name, raw, `an integer from ${min} to ${max}`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw bad(name, raw, `an integer from ${min} to ${max}`);
  return n;
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], dflt: T): T {
  if (raw === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(raw)) throw bad(name, raw, `one of: ${allowed.join(', ')}`);
  return raw as T;
}

/** `~` → home directory; relative → against the startup working directory; always absolute. */
export function resolveDir(raw: string, cwd: string = process.cwd()): string {
  let p = raw;
  if (p === '~') p = homedir();
  else if (p.startsWith('~/') || p.startsWith('~\\')) p = path.join(homedir(), p.slice(2));
  return path.resolve(cwd, p);
}

/** SERVER_URL as given (validated, trailing `/` removed) or derived from HOST and PORT (§6.1). */
export function deriveServerUrl(raw: string | undefined, host: string, port: number): string {
  if (raw !== undefined) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw bad('SERVER_URL', raw, 'an absolute http(s) URL');
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
      throw bad('SERVER_URL', raw, 'an absolute http(s) URL');
    }
    return raw.replace(/\/+$/, '');
  }
  if (isUnspecifiedAddress(host)) return `http://localhost:${port}`;
  const h = isIP(host) === 6 ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

function isUnspecifiedAddress(host: string): boolean {
  if (host === '0.0.0.0') return true;
  const bytes = isIP(host) === 6 ? ipv6Bytes(host) : null;
  return bytes !== null && bytes.every((b) => b === 0);
}

/** docs/behaviour.md §6.2: `localhost`, 127.0.0.0/8, `::1` or `::ffff:127.x.x.x`. `0.0.0.0` and `::` are not. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  const kind = isIP(h);
  if (kind === 4) return h.startsWith('127.');
  if (kind === 6) {
    const b = ipv6Bytes(h);
    if (b === null) return false;
    const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
    if (zeros(0, 15) && b[15] === 1) return true; // ::1
    return zeros(0, 10) && b[10] === 0xff && b[11] === 0xff && b[12] === 127; // ::ffff:127.x.x.x
  }
  return false;
}

/** The 16 bytes of an IPv6 literal (already checked by net.isIP), or null. Zone ids are dropped. */
function ipv6Bytes(addr: string): number[] | null {
  let a = addr.split('%')[0]!;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const parts = v4[1]!.split('.').map(Number);
    tail.push((parts[0]! << 8) | parts[1]!, (parts[2]! << 8) | parts[3]!);
    a = a.slice(0, -v4[1]!.length);
    if (a.endsWith(':') && !a.endsWith('::')) a = a.slice(0, -1);
  }
  const [headStr, tailStr] = a.includes('::') ? a.split('::') : [a, undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : []);
  const head = parse(headStr);
  const rest = [...parse(tailStr), ...tail];
  const groups =
    tailStr === undefined && !a.includes('::')
      ? [...head, ...tail]
      : [...head, ...new Array(Math.max(0, 8 - head.length - rest.length)).fill(0), ...rest];
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return null;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}
