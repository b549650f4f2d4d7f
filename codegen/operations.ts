/**
 * The operation model the route, handler and client emitters share, read from spec/openapi.yaml
 * (docs/spec-conventions.md §3): one entry per operationId with its path, success status, parameters,
 * request body schema file and `x-emits` / `x-validate-body` extensions.
 */
import { type LoadedSpec, type SchemaFile, SpecError, derefLocal } from './load-spec.js';
import { TypeImports, allowsNull, declaredProperties, describeType, isObject, itemPropertiesNotAllowingNull, namedTsType, schemaFileForRef } from './schema-tools.js';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface PathParamModel {
  name: string;
  /** schema file to validate against (e.g. common/role.json); undefined = plain string, never validated */
  schema?: SchemaFile;
  errorMessage?: string;
  tsType: string;
}

export interface BodyRulesModel {
  properties: string[];
  order: string[];
  codes: Record<string, string>;
  messages: Record<string, string>;
  required: string[];
  typeDescriptions: Record<string, string>;
  /** top-level properties whose schema does not allow null: a null there is removed before validation */
  stripNull: string[];
  /** array-of-object properties → the item properties whose schema does not allow null (removed the same way) */
  stripNullItems: Record<string, string[]>;
}

export interface OperationModel {
  operationId: string;
  /** PascalCase operationId, used for type names */
  typeName: string;
  method: HttpMethod;
  path: string;
  expressPath: string;
  tag: string;
  summary: string;
  successStatus: number;
  resultType: string;
  pathParams: PathParamModel[];
  queryParams: string[];
  body?: { schema: SchemaFile; required: boolean; rules: BodyRulesModel };
  validateBody: 'none' | 'before-handler' | 'after-lookup';
  /** POST/PUT/PATCH: the body is read (protocol checks of docs/behaviour.md §3.3) even when the operation takes none */
  readsBody: boolean;
  emits: string[];
}

export function pascal(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}

function bodyRules(spec: LoadedSpec, file: SchemaFile): BodyRulesModel {
  const schema = file.schema;
  const declared = declaredProperties(schema);
  const properties = declared.map(([name]) => name);
  const props = Object.fromEntries(declared) as Record<string, unknown>;
  const stringArray = (v: unknown, what: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((e) => typeof e === 'string')) throw new SpecError(`${file.relPath}: ${what} must be an array of strings`);
    return v as string[];
  };
  const stringMap = (v: unknown, what: string): Record<string, string> => {
    if (v === undefined) return {};
    if (!isObject(v) || !Object.values(v).every((e) => typeof e === 'string')) throw new SpecError(`${file.relPath}: ${what} must map strings to strings`);
    return v as Record<string, string>;
  };
  const typeDescriptions: Record<string, string> = {};
  for (const name of properties) {
    const described = describeType(spec, props[name], file.relPath, schema);
    if (described !== undefined) typeDescriptions[name] = described;
  }
  return {
    properties,
    order: stringArray(schema['x-validation-order'], 'x-validation-order') ?? properties,
    codes: stringMap(schema['x-error-codes'], 'x-error-codes'),
    messages: stringMap(schema['x-error-messages'], 'x-error-messages'),
    required: stringArray(schema.required, 'required') ?? [],
    typeDescriptions,
    stripNull: properties.filter((name) => !allowsNull(spec, props[name], file.relPath, schema)),
    stripNullItems: Object.fromEntries(
      properties.flatMap((name) => {
        const items = itemPropertiesNotAllowingNull(spec, props[name], file.relPath, schema);
        return items === undefined ? [] : [[name, items]];
      }),
    ),
  };
}

/**
 * `x-static: true` marks a static file route (`/docs`, `/ui`; docs/spec-conventions.md §3): served by
 * src/http/static.ts, not an API call, so it has no route table entry, no Handlers method, no client method and
 * no CLI command. Every emitter reads operations through readOperations, which leaves them out.
 */
export function isStaticOperation(op: unknown): boolean {
  return isObject(op) && op['x-static'] === true;
}

/** The operationIds of the static file routes (`x-static: true`), sorted. */
export function readStaticOperationIds(spec: LoadedSpec): string[] {
  const paths = isObject(spec.openapi.paths) ? spec.openapi.paths : {};
  const ids: string[] = [];
  for (const rawItem of Object.values(paths)) {
    const item = derefLocal(spec.openapi, rawItem);
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (isStaticOperation(op) && typeof (op as Record<string, unknown>).operationId === 'string') ids.push((op as Record<string, unknown>).operationId as string);
    }
  }
  return ids.sort();
}

/** Reads every API operation of the OpenAPI document (static routes left out), sorted by operationId. */
export function readOperations(spec: LoadedSpec, imports: TypeImports = new TypeImports()): OperationModel[] {
  const doc = spec.openapi;
  const from = spec.openapiSource.relPath;
  const paths = doc.paths;
  if (!isObject(paths)) throw new SpecError(`${from}: no paths`);
  const operations: OperationModel[] = [];
  const seen = new Set<string>();
  for (const [pathTemplate, rawItem] of Object.entries(paths)) {
    const item = derefLocal(doc, rawItem);
    const sharedParams = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const where = `${from} ${method.toUpperCase()} ${pathTemplate}`;
      if (op['x-static'] !== undefined && op['x-static'] !== true) throw new SpecError(`${where}: x-static must be true when present`);
      if (isStaticOperation(op)) continue;
      const operationId = op.operationId;
      if (typeof operationId !== 'string' || !/^[a-z][A-Za-z0-9]*$/.test(operationId)) throw new SpecError(`${where}: operationId missing or not camelCase`);
      if (seen.has(operationId)) throw new SpecError(`${where}: duplicate operationId ${operationId}`);
      seen.add(operationId);

      // parameters: operation-level ones override path-level ones with the same name + location
      const params = new Map<string, Record<string, unknown>>();
      for (const raw of [...sharedParams, ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
        const p = derefLocal(doc, raw);
        params.set(`${String(p.in)}:${String(p.name)}`, p);
      }
      const templateNames = [...pathTemplate.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const pathParams: PathParamModel[] = templateNames.map((name) => {
        const p = params.get(`path:${name}`);
        if (!p) throw new SpecError(`${where}: path parameter {${name}} is not declared`);
        const schema = p.schema;
        let file: SchemaFile | undefined;
        if (isObject(schema) && typeof schema.$ref === 'string' && !schema.$ref.startsWith('#')) {
          file = schemaFileForRef(spec, from, schema.$ref);
        }
        return {
          name,
          schema: file,
          errorMessage: typeof p['x-error-message'] === 'string' ? p['x-error-message'] : undefined,
          tsType: file ? imports.use(file.title) : 'string',
        };
      });
      const queryParams = [...params.values()].filter((p) => p.in === 'query').map((p) => String(p.name));

      let body: OperationModel['body'];
      if (op.requestBody !== undefined) {
        const rb = derefLocal(doc, op.requestBody);
        const content = isObject(rb.content) ? rb.content : {};
        const media = content['application/json'];
        const schemaNode = isObject(media) ? derefLocal(doc, media.schema) : undefined;
        if (!isObject(schemaNode) || typeof schemaNode.$ref !== 'string') {
          throw new SpecError(`${where}: requestBody application/json schema must $ref a file in schemas/requests/ (spec-conventions §3)`);
        }
        const file = schemaFileForRef(spec, from, schemaNode.$ref);
        imports.use(file.title);
        body = { schema: file, required: rb.required === true, rules: bodyRules(spec, file) };
      }

      const responses = isObject(op.responses) ? op.responses : {};
      const successCodes = Object.keys(responses).filter((c) => /^2\d\d$/.test(c)).map(Number).sort((a, b) => a - b);
      if (successCodes.length === 0) throw new SpecError(`${where}: no 2xx response`);
      const successStatus = successCodes[0];
      const success = derefLocal(doc, responses[String(successStatus)]);
      const successContent = isObject(success.content) ? success.content : {};
      const successMedia = successContent['application/json'];
      const successSchema = isObject(successMedia) ? successMedia.schema : undefined;
      const resultType =
        namedTsType(spec, successSchema, from, doc, imports) ??
        (successSchema === undefined
          ? 'void'
          : `operations['${operationId}']['responses'][${successStatus}]['content']['application/json']`);

      const emits = op['x-emits'];
      if (!Array.isArray(emits) || !emits.every((e) => typeof e === 'string')) throw new SpecError(`${where}: x-emits must be a list of event names (spec-conventions §3)`);
      const mode = op['x-validate-body'];
      if (mode !== undefined && mode !== 'after-lookup') throw new SpecError(`${where}: x-validate-body must be "after-lookup"`);
      if (mode === 'after-lookup' && !body) throw new SpecError(`${where}: x-validate-body without a requestBody`);

      const tags = Array.isArray(op.tags) ? op.tags : [];
      operations.push({
        operationId,
        typeName: pascal(operationId),
        method,
        path: pathTemplate,
        expressPath: pathTemplate.replace(/\{([^}]+)\}/g, ':$1'),
        tag: typeof tags[0] === 'string' ? tags[0] : '',
        summary: typeof op.summary === 'string' ? op.summary : '',
        successStatus,
        resultType,
        pathParams,
        queryParams,
        body,
        validateBody: body ? (mode === 'after-lookup' ? 'after-lookup' : 'before-handler') : 'none',
        readsBody: method === 'post' || method === 'put' || method === 'patch',
        emits: emits as string[],
      });
    }
  }
  return operations.sort((a, b) => (a.operationId < b.operationId ? -1 : 1));
}

/**
 * Registration order for the router: at the first differing segment a literal beats a parameter (so
 * `/api/skills/role/:role` is tried before `/api/skills/:id`), then by path, then method.
 */
export function routeOrder(a: OperationModel, b: OperationModel): number {
  const sa = a.path.split('/');
  const sb = b.path.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    if (sa[i] === sb[i]) continue;
    const pa = sa[i].startsWith('{');
    const pb = sb[i].startsWith('{');
    if (pa !== pb) return pa ? 1 : -1;
    return sa[i] < sb[i] ? -1 : 1;
  }
  if (sa.length !== sb.length) return sa.length - sb.length;
  return HTTP_METHODS.indexOf(a.method) - HTTP_METHODS.indexOf(b.method);
}
