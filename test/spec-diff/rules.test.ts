/**
 * One fixture pair per rule: test/spec-diff/fixtures/<rule-id>/{old,new}/ hold small spec/ + schemas/ trees and
 * expected.yaml the exact list of changes (rule id, severity, location) the engine must report for them —
 * nothing more, nothing less.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compareTrees } from '../../codegen/spec-diff/compare.js';
import { loadFromDir } from '../../codegen/spec-diff/load.js';
import { RULES } from '../../codegen/spec-diff/rules.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const dirs = readdirSync(FIXTURES).filter((name) => existsSync(join(FIXTURES, name, 'expected.yaml'))).sort();

interface Expected {
  about: string;
  changes: Array<{ severity: string; rule: string; location: string }>;
}

describe('rule catalogue', () => {
  it('has at least 30 rules', () => {
    expect(RULES.size).toBeGreaterThanOrEqual(30);
  });

  it('every rule has a fixture directory named after it, and every fixture directory is a rule', () => {
    expect(dirs).toEqual([...RULES.keys()].sort());
  });
});

describe.each(dirs)('fixture %s', (id) => {
  const expected = parse(readFileSync(join(FIXTURES, id, 'expected.yaml'), 'utf8')) as Expected;

  it(`reports exactly ${id} (${expected.about})`, () => {
    const { changes } = compareTrees(loadFromDir(join(FIXTURES, id, 'old'), 'old'), loadFromDir(join(FIXTURES, id, 'new'), 'new'));
    const got = changes.map(({ severity, rule, location }) => ({ severity, rule, location }));
    expect(got).toEqual(expected.changes);
    expect(expected.changes.some((c) => c.rule === id)).toBe(true);
    expect(expected.changes.find((c) => c.rule === id)!.severity).toBe(RULES.get(id)!.severity);
  });

  it('reports nothing when a side is compared with itself', () => {
    for (const side of ['old', 'new']) {
      const tree = loadFromDir(join(FIXTURES, id, side), side);
      expect(compareTrees(tree, loadFromDir(join(FIXTURES, id, side), side)).changes).toEqual([]);
    }
  });
});
