import type { SkillSummary } from '../../generated/types/index.js';

/** Fallbacks of the lenient manifest reading (docs/behaviour.md §1.9). */
export const SKILL_FALLBACK_VERSION = '1.0.0';
export const SKILL_FALLBACK_TYPE = 'system';

/** A manifest field that counts: a string that is not empty (docs/behaviour.md §1.9, "absent, not a string, or empty"). */
function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * The SkillSummary projection of a parsed `manifest.json` object (docs/behaviour.md §1.9, §7.2).
 *
 * `name`, `version` and `type` fall back when absent, not a string or empty; `description` falls back to `""`
 * only when absent or not a string (an empty description is kept as is, which gives the same value). A
 * non-empty `type` outside `system`/`role`/`custom` is returned as given. Every other key is ignored.
 */
export function projectSkillSummary(id: string, manifest: Record<string, unknown>): SkillSummary {
  return {
    id,
    name: nonEmptyString(manifest.name) ?? id,
    description: typeof manifest.description === 'string' ? manifest.description : '',
    type: nonEmptyString(manifest.type) ?? SKILL_FALLBACK_TYPE,
    version: nonEmptyString(manifest.version) ?? SKILL_FALLBACK_VERSION,
  } as SkillSummary;
}

/** Whether a parsed JSON value is an object in the sense of §7.2 step 4 (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
