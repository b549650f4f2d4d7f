/**
 * generated/prompts/default-templates.ts: the built-in default template texts (docs/behaviour.md §10.4), embedded
 * at codegen time from templates/prompts/*.md so the server never reads them from disk at run time.
 */
import type { LoadedSpec } from './load-spec.js';
import type { Output } from './output.js';

export function emitPrompts(spec: LoadedSpec, out: Output): void {
  const { worker, orchestrator } = spec.prompts;
  out.add(
    'prompts/default-templates.ts',
    [worker, orchestrator],
    [
      '/** Built-in default template text per role (docs/behaviour.md §10.4), verbatim from templates/prompts/. */',
      "export const defaultTemplateTexts: Record<'worker' | 'orchestrator', string> = {",
      `  worker: ${JSON.stringify(worker.text)},`,
      `  orchestrator: ${JSON.stringify(orchestrator.text)},`,
      '};',
    ].join('\n'),
  );
}
