/**
 * Parsed flags → the generated client's call arguments `{ params, query, body }`. The body is `--data` (inline
 * JSON, `@file.json`, or `-` for stdin) with the body flags laid over it. Without `--data`, a body field the
 * request schema requires must have its flag, else it is a usage error naming the flag; with `--data` the body
 * is the caller's and the server judges it, exactly as it would the same body sent over plain HTTP.
 */
import type { CliCommand, CliFlag } from './command-table.js';
import { UsageError } from './failures.js';

export interface CallArgs {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body?: unknown;
}

export interface DataSources {
  readFile(path: string): Promise<string>;
  readStdin(): Promise<string>;
}

/** commander's attribute name of a flag (`--project-id` → `projectId`, `--body-data` → `bodyData`). */
export function optionKey(flag: CliFlag): string {
  return flag.flag.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The JSON of `--data`: `@path` reads a file, `-` reads stdin, anything else is the JSON itself. */
export async function readData(spec: string, sources: DataSources): Promise<unknown> {
  let text: string;
  let from: string;
  if (spec === '-') {
    text = await sources.readStdin();
    from = 'stdin';
  } else if (spec.startsWith('@')) {
    from = spec.slice(1);
    try {
      text = await sources.readFile(from);
    } catch (err) {
      throw new UsageError(`option '--data' cannot read ${from}: ${(err as Error).message}`);
    }
  } else {
    text = spec;
    from = 'the argument';
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`option '--data': ${from} is not valid JSON (${(err as Error).message})`);
  }
}

export async function callArgs(command: CliCommand, options: Record<string, unknown>, sources: DataSources): Promise<CallArgs> {
  const args: CallArgs = { params: {}, query: {} };
  const fields: Record<string, unknown> = {};
  for (const flag of command.flags) {
    const value = options[optionKey(flag)];
    if (value === undefined) continue;
    if (flag.in === 'path') args.params[flag.name] = value;
    else if (flag.in === 'query') args.query[flag.name] = value;
    else fields[flag.name] = value;
  }
  if (command.body === undefined) return args;

  const dataSpec = options.data;
  const data = typeof dataSpec === 'string' ? await readData(dataSpec, sources) : undefined;
  const hasFields = Object.keys(fields).length > 0;
  if (data !== undefined && hasFields && (data === null || typeof data !== 'object' || Array.isArray(data))) {
    throw new UsageError(`option '--data' must be a JSON object when body flags are given too`);
  }
  const body = data !== undefined && !hasFields ? data : { ...(data as Record<string, unknown> | undefined), ...fields };
  if (data === undefined) {
    for (const flag of command.flags) {
      if (flag.in === 'body' && flag.required && !(flag.name in fields)) {
        throw new UsageError(`required option '--${flag.flag}' not specified (or give "${flag.name}" in --data)`);
      }
    }
  }
  // Nothing given for an optional body: send none, as a plain HTTP client would; a required one is at least `{}`.
  if (data === undefined && !hasFields && !command.body.required) return args;
  args.body = body;
  return args;
}
