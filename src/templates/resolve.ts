import { RoleValues } from '../../generated/model/index.js';
import type { Role, Template } from '../../generated/types/index.js';

/** The roles in the order docs/behaviour.md walks them (docs/behaviour.md §10.2: worker, then orchestrator; the Role schema's order). */
export const TEMPLATE_ROLES: readonly Role[] = RoleValues;

/** Names given to the templates seeded at startup (docs/behaviour.md §10.2). */
export const DEFAULT_TEMPLATE_NAMES: Readonly<Record<Role, string>> = {
  worker: 'Default Worker Template',
  orchestrator: 'Default Orchestrator Template',
};

/** One template the startup seeding has to create (docs/behaviour.md §10.2); the caller adds id, content and stamps. */
export interface DefaultTemplateSeed {
  role: Role;
  name: string;
  isDefault: true;
}

/** Oldest first: `createdAt` ascending, then `id` in plain string order (docs/behaviour.md §0.4, §10.3). */
export function compareTemplatesByAge(a: Template, b: Template): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The template in use for a role (docs/behaviour.md §10.3): the oldest default of the role, else the oldest template of
 * the role, else `undefined` (E37 answers 404, spawn leaves `templateId` out).
 */
export function resolveTemplateForRole(templates: Iterable<Template>, role: Role): Template | undefined {
  let oldestDefault: Template | undefined;
  let oldest: Template | undefined;
  for (const template of templates) {
    if (template.role !== role) continue;
    if (oldest === undefined || compareTemplatesByAge(template, oldest) < 0) oldest = template;
    if (template.isDefault && (oldestDefault === undefined || compareTemplatesByAge(template, oldestDefault) < 0)) {
      oldestDefault = template;
    }
  }
  return oldestDefault ?? oldest;
}

/**
 * Which default templates the startup seeding creates (docs/behaviour.md §10.2): one per role that has no template at
 * all, in the order worker, orchestrator. A role that has only non-default templates gets nothing.
 */
export function planDefaultTemplateSeeding(templates: Iterable<Template>): DefaultTemplateSeed[] {
  const rolesWithTemplates = new Set<string>();
  for (const template of templates) rolesWithTemplates.add(template.role);
  return TEMPLATE_ROLES.filter((role) => !rolesWithTemplates.has(role)).map((role) => ({
    role,
    name: DEFAULT_TEMPLATE_NAMES[role],
    isDefault: true as const,
  }));
}
