/**
 * `npm run codegen`        → regenerate generated/ from schemas/, spec/ and templates/.
 * `npm run codegen:check`  → generate into a scratch folder and fail listing every file that differs.
 * Options: --root <dir> (spec root), --out <dir> (default <root>/generated), --prompts-dir <dir>, --quiet.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT, generate } from './generate.js';
import { SpecError } from './load-spec.js';
import { diffTrees, writeTree } from './tree.js';

interface Args {
  check: boolean;
  root?: string;
  out?: string;
  promptsDir?: string;
  quiet: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { check: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--check') args.check = true;
    else if (arg === '--quiet') args.quiet = true;
    else if (arg === '--root') args.root = value();
    else if (arg === '--out') args.out = value();
    else if (arg === '--prompts-dir') args.promptsDir = value();
    else throw new Error(`unknown argument ${arg}`);
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const log = args.quiet ? undefined : (line: string) => console.log(`codegen: ${line}`);
  const started = performance.now();
  const files = await generate({ root: args.root, promptsDir: args.promptsDir, log });
  const root = path.resolve(args.root ?? PROJECT_ROOT);
  const outDir = path.resolve(args.out ?? path.join(root, 'generated'));
  if (args.check) {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-codegen-check-'));
    try {
      writeTree(scratch, files);
      const problems = diffTrees(scratch, outDir);
      if (problems.length > 0) {
        console.error(`codegen:check: generated/ is out of date (${problems.length} file(s)); run npm run codegen`);
        for (const p of problems) console.error(`  ${p}`);
        return 1;
      }
      log?.(`check ok: ${files.size} files match (${Math.round(performance.now() - started)} ms)`);
      return 0;
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
  const { written, removed } = writeTree(outDir, files);
  log?.(`${files.size} files, ${written} written, ${removed} removed (${Math.round(performance.now() - started)} ms)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof SpecError) console.error(`codegen: ${err.message}`);
    else console.error(err);
    process.exit(2);
  },
);
