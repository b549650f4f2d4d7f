/**
 * `npm run codegen`        → regenerate generated/ from schemas/, spec/ and templates/.
 * `npm run codegen:check`  → generate into a scratch folder and fail listing every file that differs.
 * Options: --root <dir> (spec root), --out <dir> (default <root>/generated), --prompts-dir <dir>, --quiet.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from './generate.js';
import { SpecError } from './load-spec.js';
import type { GeneratedFiles } from './output.js';

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

/** Every file under `dir` (posix paths relative to it), sorted. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(dir)) return out;
  const walk = (d: string, prefix: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) walk(path.join(d, entry.name), rel);
      else out.push(rel);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Writes the files and removes every other file under `dir` (generated/ is wholly generated). */
export function writeTree(dir: string, files: GeneratedFiles): { written: number; removed: number } {
  let written = 0;
  let removed = 0;
  for (const rel of listTree(dir)) {
    if (!files.has(rel)) {
      fs.rmSync(path.join(dir, rel));
      removed++;
    }
  }
  for (const [rel, text] of files) {
    const full = path.join(dir, rel);
    if (fs.existsSync(full) && fs.readFileSync(full, 'utf8') === text) continue;
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, text);
    written++;
  }
  // drop folders left empty
  const prune = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const sub = path.join(d, entry.name);
      prune(sub);
      if (fs.readdirSync(sub).length === 0) fs.rmdirSync(sub);
    }
  };
  if (fs.existsSync(dir)) prune(dir);
  return { written, removed };
}

/** Differences between two trees: files only in one of them, or with different bytes. */
export function diffTrees(expectedDir: string, actualDir: string): string[] {
  const expected = listTree(expectedDir);
  const actual = new Set(listTree(actualDir));
  const problems: string[] = [];
  for (const rel of expected) {
    if (!actual.has(rel)) problems.push(`missing   ${rel}`);
    else if (!fs.readFileSync(path.join(expectedDir, rel)).equals(fs.readFileSync(path.join(actualDir, rel)))) problems.push(`differs   ${rel}`);
    actual.delete(rel);
  }
  for (const rel of actual) problems.push(`unexpected ${rel}`);
  return problems.sort((a, b) => (a.slice(10) < b.slice(10) ? -1 : 1));
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const log = args.quiet ? undefined : (line: string) => console.log(`codegen: ${line}`);
  const started = performance.now();
  const files = await generate({ root: args.root, promptsDir: args.promptsDir, log });
  const root = path.resolve(args.root ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..'));
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
