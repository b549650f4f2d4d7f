import { templateFromCreate, templateWithUpdate } from '../../generated/model/index.js';
import type { Handlers } from '../../generated/routes/handlers.js';
import type { Template } from '../../generated/types/index.js';
import { notFound } from '../contract-error.js';
import { newEntity, save, stamped, updateById } from './save.js';
import { found, getById } from './found.js';
import type { DataStore } from '../store/index.js';
import { defaultTemplateTexts } from '../templates/default-texts.js';
import { resolveTemplateForRole } from '../templates/resolve.js';

type TemplateHandlers = Pick<
  Handlers,
  | 'listTemplates'
  | 'getTemplate'
  | 'getTemplateForRole'
  | 'createTemplate'
  | 'updateTemplate'
  | 'resetTemplate'
  | 'deleteTemplate'
  | 'getDefaultTemplate'
>;

const templateNotFound = () => notFound('NOT_FOUND', 'Template not found');

/** Prompt templates, docs/behaviour.md §2.7 and §10 (E35–E42). Roles in paths are validated by the router ("Invalid role"). */
export function createTemplateHandlers({ store }: { store: DataStore }): TemplateHandlers {
  return {
    /** docs/behaviour.md §2.7 E35: every template, defaults included, oldest first (§0.4). */
    async listTemplates() {
      return store.listTemplates();
    },

    /** docs/behaviour.md §2.7 E36 */
    getTemplate: getById((id) => store.getTemplate(id), templateNotFound),

    /** docs/behaviour.md §2.7 E37, §10.3: the oldest default of the role, else its oldest template, else 404. */
    async getTemplateForRole({ params }) {
      return resolveTemplateForRole(store.listTemplates({ role: params.role }), params.role) ?? Promise.reject(templateNotFound());
    },

    /** docs/behaviour.md §2.7 E38: a client-created template is never a default. Event: `template:created`. */
    async createTemplate({ body }) {
      return store.mutate((tx) => save(tx, 'template:created', newEntity(tx, 'tmpl', templateFromCreate(body))));
    },

    /**
     * docs/behaviour.md §2.7 E39: lookup → body (at least one of name/content, then each non-blank) → merge. `role`,
     * `isDefault` and `id` of the body are ignored. Event: `template:updated`.
     */
    updateTemplate: updateById(store, 'template:updated', (tx, id) => tx.getTemplate(id), templateNotFound, templateWithUpdate),

    /**
     * docs/behaviour.md §2.7 E40, §10.4: `content` becomes the built-in text of the template's role (the one E42 returns);
     * `name` and `isDefault` stay. Event: `template:updated`.
     */
    async resetTemplate({ params }) {
      return store.mutate((tx) => {
        const current = found(tx.getTemplate(params.id), templateNotFound);
        return save(tx, 'template:updated', stamped(tx, 'template', { ...current, content: defaultTemplateTexts[current.role] }));
      });
    },

    /** docs/behaviour.md §2.7 E41: defaults may be deleted too (re-seeded at the next start only if the role has none). */
    async deleteTemplate({ params }) {
      return store.mutate((tx) => {
        if (!tx.deleteTemplate(params.id)) throw templateNotFound();
        tx.emit('template:deleted', { id: params.id });
        return { success: true as const, id: params.id };
      });
    },

    /** docs/behaviour.md §2.7 E42: the built-in default text of the role; creates nothing. */
    async getDefaultTemplate({ params }) {
      return { role: params.role, content: defaultTemplateTexts[params.role] };
    },
  };
}
