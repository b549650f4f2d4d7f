import type { Handlers } from '../../generated/routes/handlers.js';
import type { SkillSummary } from '../../generated/types/index.js';
import { notFound } from '../contract-error.js';
import type { SkillRegistry } from '../skills/registry.js';

type SkillHandlers = Pick<Handlers, 'listSkills' | 'getSkill' | 'listSkillsForRole' | 'reloadSkill'>;

/** What the skill handlers need from the registry (src/skills/registry.ts). */
export type SkillSource = Pick<SkillRegistry, 'list' | 'get' | 'forRole' | 'reload'>;

const skillNotFound = (id: string) => notFound('NOT_FOUND', `Skill not found: ${id}`);

/** Skills read from SKILLS_DIR, docs/behaviour.md §2.5 and §7 (E23–E26). Nothing here writes anything. */
export function createSkillHandlers({ registry }: { registry: SkillSource }): SkillHandlers {
  return {
    /** docs/behaviour.md §2.5 E23: never an error; any failure (a missing SKILLS_DIR included) gives 200 `[]`. */
    async listSkills() {
      try {
        return await registry.list();
      } catch {
        return [] as SkillSummary[];
      }
    },

    /** docs/behaviour.md §2.5 E24: 404 "Skill not found: {id}" for an unsafe id, no directory, or a missing/invalid manifest. */
    async getSkill({ params }) {
      return (await registry.get(params.id)) ?? Promise.reject(skillNotFound(params.id));
    },

    /** docs/behaviour.md §2.5 E25, §7.4: `maestro-cli` then `maestro-{role}`, leaving out the ones that do not load. */
    async listSkillsForRole({ params }) {
      return registry.forRole(params.role);
    },

    /** docs/behaviour.md §2.5 E26, §7.3: drop the cache entry and load again; 404 when it no longer loads. */
    async reloadSkill({ params }) {
      return (await registry.reload(params.id)) ?? Promise.reject(skillNotFound(params.id));
    },
  };
}
