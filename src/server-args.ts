/**
 * The command line of the server executable (`maestro-server`, `node dist/main.js`): it is configured by
 * environment variables only (docs/behaviour.md §6.1), so the arguments are `--help` and `--version`. The help
 * lists every variable with its default from src/config.ts (the one source of the defaults).
 */
import { readFileSync } from 'node:fs';
import { environmentHelp } from './config.js';

export type CliCommand = { kind: 'serve' } | { kind: 'print'; text: string; exitCode: number };

export function cliCommand(args: readonly string[]): CliCommand {
  if (args.length === 0) return { kind: 'serve' };
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) return { kind: 'print', text: `${packageVersion()}\n`, exitCode: 0 };
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) return { kind: 'print', text: helpText(), exitCode: 0 };
  return { kind: 'print', text: `maestro-server: unknown argument ${JSON.stringify(args[0])}\n\n${helpText()}`, exitCode: 2 };
}

/** The `version` of the package.json next to the bundle (dist/../) or the sources (src/../). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

export function helpText(): string {
  return `maestro-server ${packageVersion()}: the Maestro server (HTTP API + WebSocket events, file store)

Usage: maestro-server            start the server (configured by the environment below)
       maestro-server --help     this text
       maestro-server --version  the version

Environment (name, default, meaning):
${environmentHelp()}

SIGINT or SIGTERM stops the server gracefully (exit 0), also during the startup load; a second signal exits 1.
A start error (CONFIG_ERROR, DATA_DIR locked by a live server, port in use) is one line on stderr, exit 1.
`;
}
