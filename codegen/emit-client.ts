/**
 * generated/client/: a typed fetch client (one method per operationId) and a typed WebSocket event
 * subscriber, rendered from templates/client/*.hbs. No runtime dependency beyond fetch and a WebSocket class.
 */
import type { LoadedSpec } from './load-spec.js';
import type { Output } from './output.js';
import { readOperations, type OperationModel } from './operations.js';
import { readEvents } from './events-model.js';
import { loadTemplate } from './render.js';
import { TypeImports } from './schema-tools.js';

function paramsType(op: OperationModel): string {
  return `{ ${op.pathParams.map((p) => `${p.name}: ${p.tsType};`).join(' ')} }`;
}

function queryType(op: OperationModel): string {
  return `{ ${op.queryParams.map((q) => `${/^[A-Za-z_$][\w$]*$/.test(q) ? q : JSON.stringify(q)}?: string;`).join(' ')} }`;
}

export function emitClient(spec: LoadedSpec, out: Output, templatesRoot: string): void {
  const imports = new TypeImports();
  const operations = readOperations(spec, imports);
  const { events } = readEvents(spec);
  const httpTpl = loadTemplate(templatesRoot, 'client/http.ts.hbs');
  const eventsTpl = loadTemplate(templatesRoot, 'client/events.ts.hbs');
  const indexTpl = loadTemplate(templatesRoot, 'client/index.ts.hbs');
  const ops = operations.map((op) => ({
    ...op,
    upperMethod: op.method.toUpperCase(),
    paramsType: paramsType(op),
    queryType: queryType(op),
    argsOptional: op.pathParams.length === 0 && !(op.body && op.body.required),
  }));
  const openapiSources = [spec.openapiSource, ...spec.schemas];
  out.add('client/http.ts', [...openapiSources, httpTpl.source], httpTpl.render({ typeImports: imports.sorted().join(', '), operations: ops }));
  out.add('client/events.ts', [spec.asyncapiSource, eventsTpl.source], eventsTpl.render({ events }));
  out.add('client/index.ts', [spec.openapiSource, indexTpl.source], indexTpl.render({ operations: ops }));
}
