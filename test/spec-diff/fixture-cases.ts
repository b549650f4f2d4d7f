/**
 * The spec:diff rule fixtures: one shared base tree (fixtures/base/: a small spec/ + schemas/) and one case file
 * per rule (fixtures/cases/<rule-id>.yaml) that keeps only what the case is about:
 *
 * - `old`: edits that turn the base into the case's old tree (often none),
 * - `new`: edits that turn the old tree into the new one — the change under test,
 * - `changes`: the exact list of changes (severity, rule, location) the engine must report, nothing more.
 *
 * An edit names a file and a key path inside its parsed document: `set` puts a value there (a new key goes after
 * the existing ones, an existing key keeps its place, so the order of `properties` stays meaningful), `remove:
 * true` deletes the key. An empty `at` means the whole file: `set` creates or replaces it, `remove` deletes it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadFromDir } from '../../codegen/spec-diff/load.js';
import type { SpecTree } from '../../codegen/spec-diff/types.js';

export const FIXTURES = join(import.meta.dirname, 'fixtures');
const CASES = join(FIXTURES, 'cases');

export interface Edit {
  file: string;
  at: string[];
  set?: unknown;
  remove?: true;
}

export interface ExpectedChange {
  severity: string;
  rule: string;
  location: string;
}

export interface FixtureCase {
  about: string;
  old?: Edit[];
  new?: Edit[];
  changes: ExpectedChange[];
}

/** The rule ids that have a case file, sorted. */
export function caseIds(): string[] {
  return readdirSync(CASES)
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => name.slice(0, -'.yaml'.length))
    .sort();
}

export function readCase(id: string): FixtureCase {
  return parse(readFileSync(join(CASES, `${id}.yaml`), 'utf8')) as FixtureCase;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of `tree` with `edits` applied, in order; an edit whose parent path does not exist is a fixture bug. */
export function applyEdits(tree: SpecTree, edits: readonly Edit[], label: string): SpecTree {
  const files = new Map([...tree.files].map(([path, doc]) => [path, structuredClone(doc)]));
  for (const edit of edits) {
    const where = `${edit.file} at [${edit.at.join(', ')}]`;
    if (edit.at.length === 0) {
      if (edit.remove) files.delete(edit.file);
      else files.set(edit.file, structuredClone(edit.set));
      continue;
    }
    let parent = files.get(edit.file);
    for (const key of edit.at.slice(0, -1)) parent = isObject(parent) ? parent[key] : undefined;
    if (!isObject(parent)) throw new Error(`fixture edit ${where}: no such object to edit`);
    const last = edit.at[edit.at.length - 1]!;
    if (edit.remove) {
      if (!(last in parent)) throw new Error(`fixture edit ${where}: nothing to remove`);
      delete parent[last];
    } else {
      parent[last] = structuredClone(edit.set);
    }
  }
  return { label, files };
}

/** The old and new trees of a case: base → `old` edits → `new` edits. */
export function caseTrees(fixture: FixtureCase): { oldTree: SpecTree; newTree: SpecTree } {
  const base = loadFromDir(join(FIXTURES, 'base'), 'base');
  const oldTree = applyEdits(base, fixture.old ?? [], 'old');
  return { oldTree, newTree: applyEdits(oldTree, fixture.new ?? [], 'new') };
}
