/**
 * npm run spec:diff -- <git-ref> [--json | --markdown [--write-changelog]]
 * npm run spec:diff -- --base auto
 *
 * Compares spec/ + schemas/ at <git-ref> with the working tree and classifies every change as BREAKING,
 * non-breaking or info (rules: codegen/spec-diff/rules.ts). Exit 1 when a breaking change is not allowed
 * (major version bump, or listed in spec/changes.yaml), 2 on usage or load errors, 0 otherwise.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { applyAllowances, readAllowances } from './allowances.js';
import { pickAutoBase } from './base.js';
import { writeChangelog } from './changelog.js';
import { compareTrees } from './compare.js';
import { loadFromDir, loadFromGit } from './load.js';
import { formatJson, formatMarkdown, formatText, summarize, versionPair, type Report } from './report.js';
import { LoadError, UsageError } from './types.js';

const USAGE = `usage: npm run spec:diff -- <git-ref> [--json | --markdown [--write-changelog]]
       npm run spec:diff -- --base <git-ref|auto> [...]
Compares spec/ and schemas/ at <git-ref> with the working tree.
  --json             the report as JSON
  --markdown         a changelog section (### API changes (old → new))
  --write-changelog  with --markdown: prepend the section to CHANGELOG.md's "## API" section
                     when the spec version changed
  --base auto        compare with git merge-base HEAD origin/main, else HEAD~1, else report
                     "no base to compare" and exit 0
Exit: 1 when a breaking change is not allowed, 2 on usage or load errors, 0 otherwise.`;

export interface Io {
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
}

interface Options {
  ref?: string;
  base?: string;
  json: boolean;
  markdown: boolean;
  writeChangelog: boolean;
  help: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { json: false, markdown: false, writeChangelog: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') options.json = true;
    else if (arg === '--markdown') options.markdown = true;
    else if (arg === '--write-changelog') options.writeChangelog = true;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else if (arg === '--base' || arg.startsWith('--base=')) {
      const value = arg === '--base' ? argv[++i] : arg.slice('--base='.length);
      if (!value) throw new UsageError('--base needs a value (a git ref or "auto")');
      options.base = value;
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else if (options.ref !== undefined) throw new UsageError(`only one git ref may be given (got ${options.ref} and ${arg})`);
    else options.ref = arg;
  }
  if (options.help) return options;
  if (options.ref !== undefined && options.base !== undefined) throw new UsageError('give either <git-ref> or --base, not both');
  if (options.ref === undefined && options.base === undefined) throw new UsageError('missing <git-ref> to compare with');
  if (options.json && options.markdown) throw new UsageError('--json and --markdown exclude each other');
  if (options.writeChangelog && !options.markdown) throw new UsageError('--write-changelog needs --markdown');
  return options;
}

export function run(argv: string[], io: Io): number {
  try {
    const options = parseArgs(argv);
    if (options.help) {
      io.out(USAGE + '\n');
      return 0;
    }
    let ref = options.ref ?? options.base!;
    if (options.base === 'auto') {
      const picked = pickAutoBase(io.cwd);
      if (!picked) {
        io.out('spec:diff: no base to compare (no origin/main merge base and no HEAD~1)\n');
        return 0;
      }
      io.err(`spec:diff: comparing with ${picked.ref.slice(0, 12)} (${picked.why})\n`);
      ref = picked.ref;
    }
    const oldTree = loadFromGit(ref, io.cwd);
    const newTree = loadFromDir(io.cwd);
    const allowances = readAllowances(newTree);
    const { changes, versions } = compareTrees(oldTree, newTree);
    const warnings = applyAllowances(changes, versions, allowances);
    const report: Report = { base: ref, versions, changes, warnings, summary: summarize(changes) };
    if (!options.json) for (const warning of warnings) io.err(`warning: ${warning}\n`);
    if (options.json) io.out(formatJson(report));
    else if (options.markdown) {
      const section = formatMarkdown(report);
      io.out(section);
      if (options.writeChangelog) {
        const pair = versionPair(versions);
        if (pair.old === pair.new) io.err(`spec:diff: spec version unchanged (${pair.new}); CHANGELOG.md not written\n`);
        else {
          writeChangelog(join(io.cwd, 'CHANGELOG.md'), section);
          io.err(`spec:diff: CHANGELOG.md updated (${pair.old} → ${pair.new})\n`);
        }
      }
    } else io.out(formatText(report));
    return report.summary.breaking > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`spec:diff: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof LoadError) {
      io.err(`spec:diff: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = run(process.argv.slice(2), {
      cwd: process.cwd(),
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
    });
  } catch (error) {
    process.stderr.write(`spec:diff: internal error: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 2;
  }
}
