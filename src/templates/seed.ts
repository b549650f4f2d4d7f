import { templateDefaults } from '../../generated/model/index.js';
import type { Template } from '../../generated/types/index.js';
import type { Store } from '../store/index.js';
import { defaultTemplateTexts } from './default-texts.js';
import { planDefaultTemplateSeeding } from './resolve.js';

/**
 * Startup seeding of docs/behaviour.md §10.2 (§5.2 step 4): for each role, in the order worker, orchestrator, that has no
 * template at all, creates its default template (`isDefault: true`, the built-in text of §10.4, a new id,
 * `createdAt = updatedAt = now`) and persists it. Runs as one store mutation that records no event, so nothing
 * is broadcast. Returns the templates it created (none when every role already has one).
 */
export async function seedDefaultTemplates(store: Store): Promise<Template[]> {
  return store.mutate((tx) => {
    const created: Template[] = [];
    for (const seed of planDefaultTemplateSeeding(tx.listTemplates())) {
      const template: Template = {
        id: tx.newId('tmpl'),
        ...templateDefaults(),
        name: seed.name,
        role: seed.role,
        content: defaultTemplateTexts[seed.role],
        isDefault: true,
        createdAt: tx.now,
        updatedAt: tx.now,
      };
      tx.putTemplate(template);
      created.push(template);
    }
    return created;
  });
}
