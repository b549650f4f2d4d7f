/**
 * The command tree of `maestro-api`, built with commander from the generated command table: one subcommand per
 * group (tag), one command per operation, one option per flag, every help text taken from the spec. Actions
 * only hand the parsed options back (`onCommand`, `onWatch`); src/cli/run.ts performs them.
 */
import { Command, Option } from 'commander';
import type { CliCommand, CliFlag, CliGroup, CliInfo } from './command-table.js';
import { flagHelp, flagPlaceholder, flagValue } from './flag-values.js';

export interface ProgramHandlers {
  onCommand(command: CliCommand, options: Record<string, unknown>): Promise<void>;
  onWatch(options: Record<string, unknown>): Promise<void>;
}

export interface ProgramOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
  /** help width (the terminal's, or 80 when not a TTY) */
  helpWidth: number;
}

export const ROOT_HELP_AFTER = `
Server:
  --url or MAESTRO_URL selects the server (default http://127.0.0.1:3000);
  --token or MAESTRO_API_TOKEN sends Authorization: Bearer <token>.

Output:
  a table or a record on a terminal, plain text when piped; --json prints the API's JSON exactly.

Exit codes:
  0 success, 1 API error (CODE: message on stderr), 2 usage error, 3 server unreachable.
`;

const GROUP_HEADINGS: Record<CliFlag['in'], string> = {
  path: 'Path parameters:',
  query: 'Query parameters:',
  body: 'Body fields:',
};

function flagOption(flag: CliFlag): Option {
  const option = new Option(`--${flag.flag} ${flagPlaceholder(flag)}`, flagHelp(flag)).helpGroup(GROUP_HEADINGS[flag.in]);
  if (flag.choices && flag.kind === 'string') option.choices(flag.choices);
  else option.argParser((text: string, previous: unknown) => flagValue(flag, text, previous));
  if (flag.in === 'path') option.makeOptionMandatory();
  return option;
}

function commandHelpAfter(command: CliCommand): string {
  const lines = [`Request: ${command.method} ${command.path} → ${command.successStatus}`];
  if (command.body) lines.push(`Body: ${command.body.schemaTitle}${command.body.required ? ' (required)' : ''}`);
  if (command.emits.length > 0) lines.push(`Emits: ${command.emits.join(', ')}`);
  return `\n${lines.join('\n')}\n`;
}

export function buildProgram(
  table: { info: CliInfo; groups: readonly CliGroup[]; commands: readonly CliCommand[] },
  handlers: ProgramHandlers,
  output: ProgramOutput,
): Command {
  const program = new Command('maestro-api');
  program
    .description(`${table.info.title} ${table.info.version} from the command line: ${table.info.summary}`)
    .version(table.info.version, '--version', 'print the API version')
    .configureOutput({ writeOut: output.writeOut, writeErr: output.writeErr, getOutHelpWidth: () => output.helpWidth, getErrHelpWidth: () => output.helpWidth })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .exitOverride()
    .showHelpAfterError('(add --help to see the flags)')
    .option('--url <url>', 'server root URL (env MAESTRO_URL; default http://127.0.0.1:3000)')
    .option('--token <token>', 'API token (env MAESTRO_API_TOKEN)')
    .option('--json', "print the API's JSON exactly")
    .addHelpText('after', ROOT_HELP_AFTER);

  for (const group of table.groups) {
    const groupCommand = program.command(group.name).description(group.description).helpGroup('Groups:');
    for (const command of table.commands.filter((c) => c.group === group.name)) {
      const sub = groupCommand
        .command(command.name)
        .summary(command.summary)
        .description(command.description ? `${command.summary}\n\n${command.description}` : command.summary)
        .addHelpText('after', commandHelpAfter(command));
      for (const flag of command.flags) sub.addOption(flagOption(flag));
      if (command.body) {
        sub.addOption(new Option('--data <json|@file|->', 'the whole request body: JSON, @file.json, or - for stdin; body flags override its fields').helpGroup('Body fields:'));
      }
      sub.action(async (_options: Record<string, unknown>, self: Command) => handlers.onCommand(command, self.optsWithGlobals()));
    }
  }

  program
    .command('watch')
    .summary('stream WebSocket events, reconnecting')
    .description('Streams the server\'s WebSocket events (one JSON line each with --json) and reconnects with back-off when the connection drops.')
    .addOption(new Option('--event <pattern>', "only these events: a name (task:created) or a prefix pattern (task:*); repeatable").argParser((text: string, previous: unknown) => [...(Array.isArray(previous) ? previous : []), text]))
    .addOption(new Option('--project-id <id>', 'only events about this project, its tasks and its sessions'))
    .action(async (_options: Record<string, unknown>, self: Command) => handlers.onWatch(self.optsWithGlobals()));
  return program;
}
