/**
 * Loading a spec tree: every .json/.yaml/.yml file under spec/ and schemas/, either from a directory
 * (the working tree, or a test fixture) or from a git revision (`git ls-tree` + `git show`, no checkout).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LoadError, type SpecTree } from './types.js';

export const SPEC_FOLDERS = ['spec', 'schemas'] as const;

function isSpecFile(path: string): boolean {
  return /\.(json|ya?ml)$/i.test(path);
}

export function parseDocument(path: string, text: string): unknown {
  try {
    if (/\.json$/i.test(path)) return JSON.parse(text);
    return parseYaml(text, { uniqueKeys: false });
  } catch (error) {
    throw new LoadError(`cannot parse ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
}

function walk(root: string, rel: string, out: string[]): void {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const child = `${rel}/${name}`;
    const stat = statSync(join(root, child));
    if (stat.isDirectory()) walk(root, child, out);
    else if (stat.isFile() && isSpecFile(child)) out.push(child);
  }
}

/** Loads spec/ and schemas/ below `root` (missing folders are simply empty). */
export function loadFromDir(root: string, label = 'working tree'): SpecTree {
  const paths: string[] = [];
  for (const folder of SPEC_FOLDERS) {
    if (existsSync(join(root, folder)) && statSync(join(root, folder)).isDirectory()) walk(root, folder, paths);
  }
  const files = new Map<string, unknown>();
  for (const path of paths) files.set(path, parseDocument(path, readFileSync(join(root, path), 'utf8')));
  return { label, files };
}

export interface GitResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function git(args: string[], cwd: string): GitResult {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new LoadError(`cannot run git: ${result.error.message}`);
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** The commit id `ref` names, or null when it names none. */
export function resolveCommit(ref: string, cwd: string): string | null {
  const result = git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], cwd);
  return result.status === 0 ? result.stdout.trim() : null;
}

/** Loads spec/ and schemas/ (relative to `cwd`) as they are at git revision `ref`. */
export function loadFromGit(ref: string, cwd: string): SpecTree {
  const commit = resolveCommit(ref, cwd);
  if (!commit) throw new LoadError(`unknown git revision: ${ref}`);
  const list = git(['ls-tree', '-r', '--name-only', commit, '--', ...SPEC_FOLDERS], cwd);
  if (list.status !== 0) throw new LoadError(`git ls-tree ${ref} failed: ${list.stderr.trim()}`);
  const files = new Map<string, unknown>();
  for (const path of list.stdout.split('\n').filter((line) => line !== '' && isSpecFile(line))) {
    // ls-tree prints paths relative to cwd; `<commit>:./<path>` reads them relative to cwd too.
    const show = git(['show', `${commit}:./${path}`], cwd);
    if (show.status !== 0) throw new LoadError(`git show ${ref}:${path} failed: ${show.stderr.trim()}`);
    files.set(path, parseDocument(`${ref}:${path}`, show.stdout));
  }
  return { label: ref, files };
}
