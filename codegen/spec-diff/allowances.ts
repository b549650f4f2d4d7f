/**
 * Deliberate breaks. A breaking change is `allowed` (still printed, not counted toward the exit code) when
 *  - the `info.version` major of its document (openapi.yaml for HTTP changes, asyncapi.yaml for events) grew, or
 *  - spec/changes.yaml (read from the new side) lists it: `- { rule, location, reason }`, reason non-blank.
 * Entries that match no change are returned as warnings (they are stale: delete them).
 */
import type { Versions } from './compare.js';
import { isObject } from './resolve.js';
import { LoadError, type Change, type SpecTree } from './types.js';

export const CHANGES_FILE = 'spec/changes.yaml';

export interface Allowance {
  rule: string;
  location: string;
  reason: string;
}

export function readAllowances(tree: SpecTree): Allowance[] {
  if (!tree.files.has(CHANGES_FILE)) return [];
  const doc = tree.files.get(CHANGES_FILE);
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) throw new LoadError(`${CHANGES_FILE}: must be a list of { rule, location, reason }`);
  return doc.map((entry, i) => {
    const where = `${CHANGES_FILE} entry ${i + 1}`;
    if (!isObject(entry)) throw new LoadError(`${where}: must be an object { rule, location, reason }`);
    for (const key of ['rule', 'location', 'reason'] as const) {
      if (typeof entry[key] !== 'string' || entry[key].trim() === '') {
        throw new LoadError(`${where}: "${key}" is required and must be a non-blank string`);
      }
    }
    const unknown = Object.keys(entry).filter((k) => !['rule', 'location', 'reason'].includes(k));
    if (unknown.length) throw new LoadError(`${where}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
    return { rule: entry.rule.trim(), location: entry.location.trim(), reason: entry.reason.trim() };
  });
}

function major(version: string | undefined): number | undefined {
  const match = version === undefined ? null : /^v?(\d+)/.exec(version);
  return match ? Number(match[1]) : undefined;
}

/** Marks allowed breaks in place; returns the warnings about entries that matched nothing. */
export function applyAllowances(changes: Change[], versions: { old: Versions; new: Versions }, allowances: Allowance[]): string[] {
  const used = new Set<number>();
  for (const change of changes) {
    const index = allowances.findIndex((a) => a.rule === change.rule && a.location === change.location);
    if (index >= 0) used.add(index);
    if (change.severity !== 'breaking') continue;
    const before = versions.old[change.doc];
    const after = versions.new[change.doc];
    const oldMajor = major(before);
    const newMajor = major(after);
    if (oldMajor !== undefined && newMajor !== undefined && newMajor > oldMajor) {
      change.allowed = true;
      change.allowedBy = `major version ${before} → ${after}`;
    } else if (index >= 0) {
      change.allowed = true;
      change.allowedBy = `${CHANGES_FILE}: ${allowances[index]!.reason}`;
    }
  }
  return allowances
    .map((a, i) => ({ a, i }))
    .filter(({ i }) => !used.has(i))
    .map(({ a }) => `${CHANGES_FILE}: entry { rule: ${a.rule}, location: ${a.location} } matches no change (remove it)`);
}
