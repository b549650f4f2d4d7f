/**
 * The runtime of `maestro-api`: parses the command line with the generated command table (src/cli/program.ts),
 * calls the generated client's method for the command, prints the answer (src/cli/output.ts) and returns the exit
 * code (src/cli/failures.ts). `runCli` takes its input and output as arguments (testable, no globals);
 * `runMain` binds it to the process. Nothing here names an operation: the table and the client come in `deps`.
 */
import fs from 'node:fs/promises';
import { CommanderError } from 'commander';
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../../generated/client/events.js';
import type { CliCommand, CliGroup, CliInfo } from './command-table.js';
import { EXIT, UsageError, unreachableReason } from './failures.js';
import { formatJson, formatResult, type OutputStyle } from './output.js';
import { buildProgram } from './program.js';
import { callArgs } from './request.js';
import { runWatch } from './watch.js';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** The generated client's error answer (generated/client/http.ts `ApiError`). */
export interface ApiErrorLike extends Error {
  status: number;
  code: string;
  details?: Record<string, unknown>;
}

export interface CliDeps<Client> {
  info: CliInfo;
  groups: readonly CliGroup[];
  /** each command's operationId is a method of the client (checked by the type checker in generated/cli/main.ts) */
  commands: readonly (CliCommand & { operationId: keyof Client & string })[];
  createClient(options: { baseUrl: string; token?: string }): Client;
  ApiError: abstract new (...args: never[]) => ApiErrorLike;
}

export interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  argv: string[];
  env: Record<string, string | undefined>;
  stdout: Stream;
  stderr: Stream;
  readFile(path: string): Promise<string>;
  readStdin(): Promise<string>;
  /** resolves when the process is asked to stop (Ctrl-C): ends `watch` */
  stop: Promise<void>;
  WebSocket: WebSocketConstructor;
}

interface Target {
  url: string;
  token: string | undefined;
}

function target(options: Record<string, unknown>, env: CliIo['env']): Target {
  const fromFlag = typeof options.url === 'string';
  const url = fromFlag ? (options.url as string) : env.MAESTRO_URL || DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${fromFlag ? "option '--url'" : 'MAESTRO_URL'} is not a URL: '${url}'`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`${fromFlag ? "option '--url'" : 'MAESTRO_URL'} must be an http(s) URL: '${url}'`);
  const token = typeof options.token === 'string' ? options.token : env.MAESTRO_API_TOKEN || undefined;
  return { url: url.replace(/\/+$/, ''), token };
}

/** Calls the generated client's method for a command. */
function invoke<Client>(client: Client, command: CliCommand & { operationId: keyof Client & string }, args: unknown): Promise<unknown> {
  const method = client[command.operationId] as unknown as (args: unknown) => Promise<unknown>;
  return method.call(client, args);
}

/**
 * The ids of a project's members for `watch --project-id`: every list command (GET, no path parameter) that
 * filters by a `projectId` query parameter is called, and its group names the kind (`tasks` → `task`).
 */
async function projectMembers<Client>(deps: CliDeps<Client>, client: Client, projectId: string): Promise<{ kind: string; ids: string[] }[]> {
  const lists = deps.commands.filter(
    (c) => c.method === 'GET' && !c.flags.some((f) => f.in === 'path') && c.flags.some((f) => f.in === 'query' && f.name === 'projectId'),
  );
  return Promise.all(
    lists.map(async (c) => {
      const items = await invoke(client, c, { params: {}, query: { projectId } });
      const ids = Array.isArray(items) ? items.map((item) => (item as { id?: unknown }).id).filter((id): id is string => typeof id === 'string') : [];
      return { kind: c.group.replace(/s$/, ''), ids };
    }),
  );
}

export async function runCli<Client>(deps: CliDeps<Client>, io: CliIo): Promise<number> {
  const style: OutputStyle = { tty: io.stdout.isTTY === true, columns: io.stdout.columns };
  let exitCode: number = EXIT.ok;
  let url = DEFAULT_URL;
  const program = buildProgram(
    deps,
    {
      async onCommand(command, options) {
        const server = target(options, io.env);
        url = server.url;
        const args = await callArgs(command, options, { readFile: (p) => io.readFile(p), readStdin: () => io.readStdin() });
        const client = deps.createClient({ baseUrl: server.url, token: server.token });
        const result = await invoke(client, command as CliCommand & { operationId: keyof Client & string }, args);
        io.stdout.write(options.json === true ? formatJson(result, style) : formatResult(result, style));
      },
      async onWatch(options) {
        const server = target(options, io.env);
        url = server.url;
        exitCode = await runWatch({
          url: server.url,
          token: server.token,
          patterns: Array.isArray(options.event) ? (options.event as string[]) : [],
          projectId: typeof options.projectId === 'string' ? options.projectId : undefined,
          json: options.json === true,
          WebSocket: io.WebSocket,
          style,
          out: (text) => io.stdout.write(text),
          err: (text) => io.stderr.write(text),
          stop: io.stop,
          projectMembers: (projectId) => projectMembers(deps, deps.createClient({ baseUrl: server.url, token: server.token }), projectId),
        });
      },
    },
    { writeOut: (t) => io.stdout.write(t), writeErr: (t) => io.stderr.write(t), helpWidth: io.stdout.isTTY ? (io.stdout.columns ?? 80) : 100 },
  );

  try {
    await program.parseAsync(io.argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end the parse "with an error" too; a group without its command prints its help.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof deps.ApiError) {
      io.stderr.write(`${err.code}: ${err.message}\n`);
      if (program.opts().json === true) {
        const body = { error: true, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
        io.stdout.write(formatJson(body, style));
      }
      return EXIT.apiError;
    }
    const reason = unreachableReason(err);
    if (reason !== undefined) {
      io.stderr.write(`error: cannot reach the server at ${url} (${reason})\n`);
      return EXIT.unreachable;
    }
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.apiError;
  }
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** Runs `maestro-api` on this process's arguments and exits with its code. */
export function runMain<Client>(deps: CliDeps<Client>): void {
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  runCli(deps, {
    argv: process.argv.slice(2),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    readFile: (p) => fs.readFile(p, 'utf8'),
    readStdin,
    stop,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  }).then(
    (code) => {
      // Let stdout drain (a pipe is asynchronous) before exiting.
      process.stdout.write('', () => process.exit(code));
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(EXIT.apiError);
    },
  );
}
