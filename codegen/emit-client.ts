/**
 * generated/client/: a typed HTTP client (one method per operationId) on openapi-fetch, typed by
 * openapi-typescript's `paths`/`operations`; a compile-time check that those types equal the
 * json-schema-to-typescript ones the server uses; and a typed WebSocket event subscriber. Rendered from
 * templates/client/*.hbs. Runtime dependencies: openapi-fetch, a fetch and a WebSocket class.
 */
import type { LoadedSpec } from './load-spec.js';
import type { Output } from './output.js';
import { readOperations, readStaticOperationIds, type OperationModel } from './operations.js';
import { readEvents } from './events-model.js';
import { loadTemplate } from './render.js';
import { TypeImports } from './schema-tools.js';

/** The openapi-fetch init object of a named method's call (`params: { path, query }`, `body`), or '' for none. */
function fetchInit(op: OperationModel, argsOptional: boolean): string {
  const args = argsOptional ? 'args?.' : 'args.';
  const params: string[] = [];
  if (op.pathParams.length > 0) params.push(`path: pathParams('${op.path}', ${args}params)`);
  if (op.queryParams.length > 0) params.push(`query: ${args}query`);
  const init: string[] = [];
  if (params.length > 0) init.push(`params: { ${params.join(', ')} }`);
  if (op.body) init.push(`body: ${args}body`);
  return init.join(', ');
}

export function emitClient(spec: LoadedSpec, out: Output, templatesRoot: string): void {
  const imports = new TypeImports();
  const operations = readOperations(spec, imports);
  const { events } = readEvents(spec);
  const httpTpl = loadTemplate(templatesRoot, 'client/http.ts.hbs');
  const eventsTpl = loadTemplate(templatesRoot, 'client/events.ts.hbs');
  const indexTpl = loadTemplate(templatesRoot, 'client/index.ts.hbs');
  const checkTpl = loadTemplate(templatesRoot, 'client/contract-check.ts.hbs');
  const ops = operations.map((op) => {
    const argsOptional = op.pathParams.length === 0 && !(op.body && op.body.required);
    const init = fetchInit(op, argsOptional);
    return { ...op, upperMethod: op.method.toUpperCase(), argsOptional, init, usesArgs: init !== '' };
  });
  const openapiSources = [spec.openapiSource, ...spec.schemas];
  out.add('client/http.ts', [...openapiSources, httpTpl.source], httpTpl.render({ operations: ops, staticOperationIds: readStaticOperationIds(spec) }));
  out.add('client/contract-check.ts', [...openapiSources, checkTpl.source], checkTpl.render({ typeImports: imports.sorted().join(', '), operations: ops }));
  out.add('client/events.ts', [spec.asyncapiSource, eventsTpl.source], eventsTpl.render({ events }));
  out.add('client/index.ts', [spec.openapiSource, indexTpl.source], indexTpl.render({ operations: ops }));
}
