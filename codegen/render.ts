/** Handlebars rendering of the templates in templates/ (no HTML escaping: the output is TypeScript). */
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import type { Source } from './output.js';

const hbs = Handlebars.create();
hbs.registerHelper('json', (value: unknown) => JSON.stringify(value));

export interface Template {
  source: Source;
  render(view: unknown): string;
}

/** Loads `templates/<rel>` relative to the codegen's own project (templates are part of the generator). */
export function loadTemplate(templatesRoot: string, rel: string): Template {
  const full = path.join(templatesRoot, rel);
  const text = fs.readFileSync(full, 'utf8');
  const compiled = hbs.compile(text, { noEscape: true, strict: true });
  return { source: { relPath: `templates/${rel}`, text }, render: (view) => compiled(view) };
}
