/** Output formats: text lines, JSON, and a Markdown changelog section. */
import type { Versions } from './compare.js';
import type { Change } from './types.js';

export interface Summary {
  breaking: number;
  nonBreaking: number;
  info: number;
  allowed: number;
}

export interface Report {
  base: string;
  versions: { old: Versions; new: Versions };
  changes: Change[];
  warnings: string[];
  summary: Summary;
}

export function summarize(changes: Change[]): Summary {
  return {
    breaking: changes.filter((c) => c.severity === 'breaking' && !c.allowed).length,
    nonBreaking: changes.filter((c) => c.severity === 'non-breaking').length,
    info: changes.filter((c) => c.severity === 'info').length,
    allowed: changes.filter((c) => c.severity === 'breaking' && c.allowed).length,
  };
}

const LABEL = { breaking: 'BREAKING', 'non-breaking': 'non-breaking', info: 'info' } as const;

export function changeLine(change: Change): string {
  const allowed = change.allowed ? `  [allowed: ${change.allowedBy}]` : '';
  return `${LABEL[change.severity].padEnd(12)}  ${change.rule}  ${change.location}  ${change.message}${allowed}`;
}

/** `N breaking, M non-breaking, K info` (N counts breaks that are not allowed) plus `, A allowed` when A > 0. */
export function summaryLine(summary: Summary): string {
  const allowed = summary.allowed > 0 ? `, ${summary.allowed} allowed` : '';
  return `${summary.breaking} breaking, ${summary.nonBreaking} non-breaking, ${summary.info} info${allowed}`;
}

export function formatText(report: Report): string {
  return [...report.changes.map(changeLine), summaryLine(report.summary)].join('\n') + '\n';
}

export function formatJson(report: Report): string {
  return JSON.stringify(report, null, 2) + '\n';
}

/** The spec version pair shown in the changelog heading: openapi's, else asyncapi's. */
export function versionPair(versions: { old: Versions; new: Versions }): { old: string; new: string } {
  const pick = (v: Versions) => v.openapi ?? v.asyncapi ?? 'none';
  return { old: pick(versions.old), new: pick(versions.new) };
}

export function markdownHeading(versions: { old: Versions; new: Versions }): string {
  const pair = versionPair(versions);
  return `### API changes (${pair.old} → ${pair.new})`;
}

export function formatMarkdown(report: Report): string {
  const item = (c: Change) => `- \`${c.location}\`: ${c.message} (\`${c.rule}\`${c.allowed ? `; allowed: ${c.allowedBy}` : ''})`;
  const list = (changes: Change[]) => (changes.length ? changes.map(item) : ['- none']);
  const lines = [markdownHeading(report.versions), ''];
  const { old: o, new: n } = report.versions;
  if (o.asyncapi !== n.asyncapi && n.openapi !== undefined && n.asyncapi !== undefined) {
    lines.push(`Event catalogue: ${o.asyncapi ?? 'none'} → ${n.asyncapi}.`, '');
  }
  lines.push('#### Breaking', '', ...list(report.changes.filter((c) => c.severity === 'breaking')), '');
  lines.push('#### Non-breaking', '', ...list(report.changes.filter((c) => c.severity === 'non-breaking')), '');
  return lines.join('\n');
}
