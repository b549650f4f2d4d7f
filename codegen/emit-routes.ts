/**
 * generated/routes/: `handlers.ts` (the Handlers interface, one method per operationId, with typed inputs)
 * and `router.ts` (the route table `apiRoutes` + `createApiRouter`, run by src/http/api-router.ts), rendered
 * from templates/routes/*.hbs. The router template holds data only; the view is computed here.
 */
import { type LoadedSpec, type SchemaFile, SpecError } from './load-spec.js';
import type { Output } from './output.js';
import { type OperationModel, readOperations, routeOrder } from './operations.js';
import { loadTemplate } from './render.js';
import { TypeImports } from './schema-tools.js';
import { importName } from './emit-validators.js';

function paramsType(op: OperationModel): string {
  if (op.pathParams.length === 0) return 'Record<string, never>';
  return `{ ${op.pathParams.map((p) => `${p.name}: ${p.tsType};`).join(' ')} }`;
}

function queryType(op: OperationModel): string {
  if (op.queryParams.length === 0) return 'Record<string, never>';
  return `{ ${op.queryParams.map((q) => `${JSON.stringify(q).replace(/^"([A-Za-z_$][\w$]*)"$/, '$1')}?: string;`).join(' ')} }`;
}

/** The dispatch table's path shape (src/http/route-table.ts): literal segments, null for a parameter. */
function pathSegments(op: OperationModel): (string | null)[] {
  return op.path
    .split('/')
    .slice(1)
    .map((segment) => {
      if (/^\{[^}]+\}$/.test(segment)) return null;
      if (/[{}]/.test(segment)) throw new SpecError(`${op.path}: a path parameter must be a whole segment`);
      return segment;
    });
}

/** The generated constant holding a request schema's BodyRule, e.g. `bodyTaskCreateRequest`. */
function bodyConstName(file: SchemaFile): string {
  return `body${file.title}`;
}

export function emitRoutes(spec: LoadedSpec, out: Output, templatesRoot: string): void {
  const imports = new TypeImports();
  const operations = readOperations(spec, imports);
  const handlersTpl = loadTemplate(templatesRoot, 'routes/handlers.ts.hbs');
  const routerTpl = loadTemplate(templatesRoot, 'routes/router.ts.hbs');

  const handlersView = {
    typeImports: imports.sorted().join(', '),
    operations: operations.map((op) => ({
      ...op,
      upperMethod: op.method.toUpperCase(),
      paramsType: paramsType(op),
      queryType: queryType(op),
      afterLookup: op.validateBody === 'after-lookup',
    })),
  };

  // One BodyRule per request schema, shared by the operations that take it.
  const bodyFiles = new Map<string, NonNullable<OperationModel['body']>>();
  const paramValidators = new Set<string>();
  for (const op of operations) {
    for (const p of op.pathParams) if (p.schema) paramValidators.add(importName(p.schema));
    if (op.body && !bodyFiles.has(op.body.schema.relPath)) bodyFiles.set(op.body.schema.relPath, op.body);
  }
  const bodies = [...bodyFiles.values()].sort((a, b) => (a.schema.relPath < b.schema.relPath ? -1 : 1));
  const bodyRules = bodies.map((body) => ({
    schema: body.schema.relPath,
    title: body.schema.title,
    constName: bodyConstName(body.schema),
    validator: importName(body.schema),
    rules: {
      properties: body.rules.properties,
      order: body.rules.order,
      codes: body.rules.codes,
      messages: body.rules.messages,
      required: body.rules.required,
      typeDescriptions: body.rules.typeDescriptions,
    },
    nullStrip: { fields: body.rules.stripNull, items: body.rules.stripNullItems },
  }));
  const validatorImports = [...new Set([...paramValidators, ...bodies.map((body) => importName(body.schema))])].sort();
  const bodyTypes = [...new Set(bodies.map((body) => body.schema.title))].sort();

  const routes = [...operations].sort(routeOrder).map((op) => ({
    operationId: op.operationId,
    summary: op.summary,
    method: op.method,
    path: op.path,
    segments: pathSegments(op),
    pathParams: op.pathParams.map((p) => ({
      name: p.name,
      validator: p.schema ? importName(p.schema) : '',
      message: p.errorMessage ?? `${p.name} is invalid`,
    })),
    queryParams: op.queryParams,
    readsBody: op.readsBody,
    validateBody: op.validateBody,
    bodyConst: op.body ? bodyConstName(op.body.schema) : 'null',
    successStatus: op.successStatus,
    emits: op.emits,
  }));

  const sources = [spec.openapiSource, ...spec.schemas];
  out.add('routes/handlers.ts', [...sources, handlersTpl.source], handlersTpl.render(handlersView));
  out.add(
    'routes/router.ts',
    [...sources, routerTpl.source],
    routerTpl.render({ srcHttp: '../../src/http', validatorImports, bodyTypes, bodyRules, routes }),
  );
}
