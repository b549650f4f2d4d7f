/**
 * One fixture case per rule (test/spec-diff/fixture-cases.ts): the shared base tree, the case's edits for its old
 * and new trees, and the exact list of changes (rule id, severity, location) the engine must report for them —
 * nothing more, nothing less.
 */
import { describe, expect, it } from 'vitest';
import { compareTrees } from '../../codegen/spec-diff/compare.js';
import { RULES } from '../../codegen/spec-diff/rules.js';
import { applyEdits, caseIds, caseTrees, readCase } from './fixture-cases.js';

const ids = caseIds();

describe('rule catalogue', () => {
  it('has at least 30 rules', () => {
    expect(RULES.size).toBeGreaterThanOrEqual(30);
  });

  it('every rule has a fixture case named after it, and every fixture case is a rule', () => {
    expect(ids).toEqual([...RULES.keys()].sort());
  });
});

describe('fixture cases', () => {
  it('every case changes something between its old and new trees', () => {
    for (const id of ids) expect(readCase(id).new?.length ?? 0, id).toBeGreaterThan(0);
  });

  it('an edit under a key path that does not exist is a fixture error, not a silent no-op', () => {
    const tree = { label: 't', files: new Map<string, unknown>([['spec/openapi.yaml', { paths: {} }]]) };
    expect(() => applyEdits(tree, [{ file: 'spec/openapi.yaml', at: ['nope', 'x'], set: 1 }], 'bad')).toThrow(/no such object/);
    expect(() => applyEdits(tree, [{ file: 'spec/openapi.yaml', at: ['nope'], remove: true }], 'bad')).toThrow(/nothing to remove/);
    const edited = applyEdits(tree, [{ file: 'spec/openapi.yaml', at: ['paths', '/x'], set: { get: {} } }], 'ok');
    expect(edited.files.get('spec/openapi.yaml')).toEqual({ paths: { '/x': { get: {} } } });
    expect(tree.files.get('spec/openapi.yaml')).toEqual({ paths: {} }); // the input tree is not changed
  });
});

describe.each(ids)('fixture %s', (id) => {
  const expected = readCase(id);
  const { oldTree, newTree } = caseTrees(expected);

  it(`reports exactly ${id} (${expected.about})`, () => {
    const { changes } = compareTrees(oldTree, newTree);
    const got = changes.map(({ severity, rule, location }) => ({ severity, rule, location }));
    expect(got).toEqual(expected.changes);
    expect(expected.changes.some((c) => c.rule === id)).toBe(true);
    expect(expected.changes.find((c) => c.rule === id)!.severity).toBe(RULES.get(id)!.severity);
  });

  it('reports nothing when a side is compared with itself', () => {
    for (const tree of [oldTree, newTree]) {
      const copy = new Map([...tree.files].map(([path, doc]) => [path, structuredClone(doc)]));
      expect(compareTrees(tree, { label: 'copy', files: copy }).changes).toEqual([]);
    }
  });
});
