/** Allowances (major bump, spec/changes.yaml), output formats and CHANGELOG.md insertion. */
import { describe, expect, it } from 'vitest';
import { applyAllowances, readAllowances } from '../../codegen/spec-diff/allowances.js';
import { insertSection } from '../../codegen/spec-diff/changelog.js';
import { changeLine, formatMarkdown, summarize, summaryLine, type Report } from '../../codegen/spec-diff/report.js';
import { LoadError, type Change, type SpecTree } from '../../codegen/spec-diff/types.js';

const change = (over: Partial<Change> = {}): Change => ({
  severity: 'breaking', rule: 'response-property-removed', location: 'GET /api/tasks response.200.body[].title',
  message: 'property removed', doc: 'openapi', ...over,
});
const versions = (o: string, n: string, ao = '1.0.0', an = '1.0.0') => ({ old: { openapi: o, asyncapi: ao }, new: { openapi: n, asyncapi: an } });
const withChanges = (value: unknown): SpecTree => ({ label: 't', files: new Map([['spec/changes.yaml', value]]) });

describe('spec/changes.yaml', () => {
  it('an empty list, null (a file with only comments) or no file allow nothing', () => {
    expect(readAllowances(withChanges([]))).toEqual([]);
    expect(readAllowances(withChanges(null))).toEqual([]);
    expect(readAllowances({ label: 't', files: new Map() })).toEqual([]);
  });

  it('rejects entries without a non-blank reason, rule or location, and unknown keys', () => {
    expect(() => readAllowances(withChanges([{ rule: 'a', location: 'b' }]))).toThrow(/entry 1: "reason" is required/);
    expect(() => readAllowances(withChanges([{ rule: 'a', location: 'b', reason: '   ' }]))).toThrow(LoadError);
    expect(() => readAllowances(withChanges([{ location: 'b', reason: 'r' }]))).toThrow(/"rule" is required/);
    expect(() => readAllowances(withChanges([{ rule: 'a', location: 'b', reason: 'r', why: 'x' }]))).toThrow(/unknown key why/);
    expect(() => readAllowances(withChanges({ rule: 'a' }))).toThrow(/must be a list/);
  });

  it('allows a listed break by rule and exact location, and warns about entries that match nothing', () => {
    const changes = [change(), change({ location: 'GET /api/tasks/{id} response.200.body.title' })];
    const warnings = applyAllowances(changes, versions('1.1.0', '1.2.0'), [
      { rule: 'response-property-removed', location: 'GET /api/tasks response.200.body[].title', reason: 'nobody reads it' },
      { rule: 'response-property-removed', location: 'GET /api/nothing', reason: 'stale' },
    ]);
    expect(changes[0]).toMatchObject({ allowed: true, allowedBy: 'spec/changes.yaml: nobody reads it' });
    expect(changes[1]!.allowed).toBeUndefined();
    expect(warnings).toEqual(['spec/changes.yaml: entry { rule: response-property-removed, location: GET /api/nothing } matches no change (remove it)']);
    expect(summarize(changes)).toEqual({ breaking: 1, nonBreaking: 0, info: 0, allowed: 1 });
  });

  it('allows every break of a document whose major version grew, and only of that document', () => {
    const changes = [change(), change({ doc: 'asyncapi', rule: 'event-removed', location: 'event task:created' })];
    applyAllowances(changes, versions('1.1.0', '2.0.0'), []);
    expect(changes[0]).toMatchObject({ allowed: true, allowedBy: 'major version 1.1.0 → 2.0.0' });
    expect(changes[1]!.allowed).toBeUndefined();
    const minor = [change()];
    applyAllowances(minor, versions('1.1.0', '1.9.0'), []);
    expect(minor[0]!.allowed).toBeUndefined();
  });
});

describe('formats', () => {
  it('prints severity, rule, location and message separated by two or more spaces', () => {
    expect(changeLine(change())).toBe('BREAKING      response-property-removed  GET /api/tasks response.200.body[].title  property removed');
    expect(changeLine(change({ allowed: true, allowedBy: 'major version 1.0.0 → 2.0.0' }))).toMatch(/  \[allowed: major version 1\.0\.0 → 2\.0\.0\]$/);
    expect(summaryLine({ breaking: 2, nonBreaking: 3, info: 1, allowed: 0 })).toBe('2 breaking, 3 non-breaking, 1 info');
    expect(summaryLine({ breaking: 0, nonBreaking: 0, info: 0, allowed: 2 })).toBe('0 breaking, 0 non-breaking, 0 info, 2 allowed');
  });

  it('writes a markdown section with Breaking and Non-breaking lists and leaves info out', () => {
    const report: Report = {
      base: 'main', versions: versions('1.1.0', '1.2.0'), warnings: [],
      changes: [change(), change({ severity: 'non-breaking', rule: 'operation-added', location: 'GET /api/x', message: 'new operation getX' }), change({ severity: 'info', rule: 'summary-changed', location: 'GET /api/y' })],
      summary: { breaking: 1, nonBreaking: 1, info: 1, allowed: 0 },
    };
    const md = formatMarkdown(report);
    expect(md.split('\n')[0]).toBe('### API changes (1.1.0 → 1.2.0)');
    expect(md).toContain('#### Breaking\n\n- `GET /api/tasks response.200.body[].title`: property removed (`response-property-removed`)');
    expect(md).toContain('#### Non-breaking\n\n- `GET /api/x`: new operation getX (`operation-added`)');
    expect(md).not.toContain('summary-changed');
  });
});

describe('CHANGELOG.md', () => {
  const section = (from: string, to: string, line = '- none') => `### API changes (${from} → ${to})\n\n#### Breaking\n\n${line}\n`;

  it('creates the file with an API section when missing', () => {
    const text = insertSection(undefined, section('1.1.0', '1.2.0'));
    expect(text.startsWith('# Changelog\n\n## API\n')).toBe(true);
    expect(text).toContain('\n\n### API changes (1.1.0 → 1.2.0)\n\n#### Breaking\n\n- none\n');
  });

  it('puts the newest section first under "## API", keeps other sections, replaces a re-generated one', () => {
    let text = '# Changelog\n\n## API\n\nintro\n\n### API changes (1.0.0 → 1.1.0)\n\n- old\n\n## Server\n\n- fix\n';
    text = insertSection(text, section('1.1.0', '1.2.0', '- first run'));
    text = insertSection(text, section('1.1.0', '1.2.0', '- second run'));
    expect(text).not.toContain('first run');
    const order = ['## API', 'intro', '### API changes (1.1.0 → 1.2.0)', '- second run', '### API changes (1.0.0 → 1.1.0)', '## Server', '- fix'].map((s) => text.indexOf(s));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('adds an "## API" section to a changelog that has none', () => {
    const text = insertSection('# Changelog\n\n## Server\n\n- fix\n', section('1.0.0', '2.0.0'));
    expect(text).toMatch(/## Server\n\n- fix\n\n## API\n\n### API changes \(1\.0\.0 → 2\.0\.0\)/);
  });
});
