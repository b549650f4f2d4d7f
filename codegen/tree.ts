/** Writing generated/ and comparing two generated trees (codegen and codegen:check). */
import fs from 'node:fs';
import path from 'node:path';
import type { GeneratedFiles } from './output.js';

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

