/**
 * generated/events/index.ts: the event catalogue from spec/asyncapi.yaml (names, payload types, validators,
 * the typed Emit signature), rendered from templates/events/events.ts.hbs.
 */
import type { LoadedSpec, SchemaFile } from './load-spec.js';
import type { Output } from './output.js';
import { readEvents } from './events-model.js';
import { loadTemplate } from './render.js';
import { importName } from './emit-validators.js';

export function emitEvents(spec: LoadedSpec, out: Output, templatesRoot: string): void {
  const { events, control } = readEvents(spec);
  const tpl = loadTemplate(templatesRoot, 'events/events.ts.hbs');
  const files = new Map<string, SchemaFile>();
  for (const e of events) files.set(e.payload.relPath, e.payload);
  const sorted = [...files.values()].sort((a, b) => (a.relPath < b.relPath ? -1 : 1));
  const view = {
    typeImports: sorted.map((f) => f.title).join(', '),
    validatorImports: sorted.map((f) => ({ name: importName(f) })),
    events: events.map((e) => ({ ...e, validator: importName(e.payload) })),
    control: control.map((c) => ({ name: c.name, message: c.messageKey, payloadSchema: c.payload?.relPath ?? null })),
  };
  out.add('events/index.ts', [spec.asyncapiSource, ...spec.schemas, tpl.source], tpl.render(view));
}
