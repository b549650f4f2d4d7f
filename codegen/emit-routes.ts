/**
 * generated/routes/: `handlers.ts` (the Handlers interface, one method per operationId, with typed inputs)
 * and `router.ts` (the Express 5 router), rendered from templates/routes/*.hbs.
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

  const validatorFiles = new Map<string, SchemaFile>();
  const bodyFiles = new Map<string, OperationModel>();
  for (const op of operations) {
    for (const p of op.pathParams) if (p.schema) validatorFiles.set(p.schema.relPath, p.schema);
    if (op.body) {
      validatorFiles.set(op.body.schema.relPath, op.body.schema);
      if (!bodyFiles.has(op.body.schema.relPath)) bodyFiles.set(op.body.schema.relPath, op);
    }
  }
  const validatorImports = [...validatorFiles.values()]
    .sort((a, b) => (a.relPath < b.relPath ? -1 : 1))
    .map((file) => ({ name: importName(file) }));
  const bodyRules = [...bodyFiles.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([relPath, op]) => {
      const rules = op.body!.rules;
      const title = op.body!.schema.title;
      return {
        relPath,
        rulesName: `rules${title}`,
        stripName: `stripNull${title}`,
        rules: JSON.stringify(
          {
            properties: rules.properties,
            order: rules.order,
            codes: rules.codes,
            messages: rules.messages,
            required: rules.required,
            typeDescriptions: rules.typeDescriptions,
          },
          null,
          2,
        ),
        stripNull: JSON.stringify({ fields: rules.stripNull, items: rules.stripNullItems }),
      };
    });

  const routes = [...operations].sort(routeOrder).map((op) => ({
    ...op,
    upperMethod: op.method.toUpperCase(),
    // the dispatch table's path shape (src/http/route-table.ts): literal segments, null for a parameter
    segments: op.path
      .split('/')
      .slice(1)
      .map((segment) => {
        if (/^\{[^}]+\}$/.test(segment)) return null;
        if (/[{}]/.test(segment)) throw new SpecError(`${op.path}: a path parameter must be a whole segment`);
        return segment;
      }),
    paramNames: op.pathParams.map((p) => p.name),
    afterLookup: op.validateBody === 'after-lookup',
    pathParams: op.pathParams.map((p) => ({
      name: p.name,
      validator: p.schema ? importName(p.schema) : undefined,
      message: p.errorMessage ?? `${p.name} is invalid`,
    })),
    paramsExpr:
      op.pathParams.length === 0
        ? '{}'
        : `{ ${op.pathParams.map((p) => `${p.name}: ${p.schema ? `param_${p.name}` : `String(req.params['${p.name}'])`}`).join(', ')} }`,
    bodyValidator: op.body ? importName(op.body.schema) : undefined,
    bodyRules: op.body ? `rules${op.body.schema.title}` : undefined,
    bodyStrip: op.body ? `stripNull${op.body.schema.title}` : undefined,
  }));

  const sources = [spec.openapiSource, ...spec.schemas];
  out.add('routes/handlers.ts', [...sources, handlersTpl.source], handlersTpl.render(handlersView));
  out.add(
    'routes/router.ts',
    [...sources, routerTpl.source],
    routerTpl.render({ srcHttp: '../../src/http', srcRoot: '../../src', validatorImports, bodyRules, routes }),
  );
}
