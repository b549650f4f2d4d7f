/**
 * The built-in default prompt texts, one per role (docs/behaviour.md §10.4).
 *
 * The Markdown sources live in `templates/prompts/{worker,orchestrator}.md`; the code generator embeds them
 * into `generated/prompts/default-templates.ts` so that the server never reads them from disk at run time.
 * Seeding (§10.2), reset (E40) and E42 must all use this one constant, so that after a reset a template's
 * `content` equals what E42 returns.
 */
export { defaultTemplateTexts } from '../../generated/prompts/default-templates.js';
