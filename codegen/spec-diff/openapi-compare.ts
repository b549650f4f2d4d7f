/** Compares two OpenAPI 3.x documents (spec/openapi.yaml) operation by operation. */
import { Changes, show } from './emit.js';
import { canonical, isObject, Resolver, type Ctx, type Schema } from './resolve.js';
import { compareSchemas } from './schema-compare.js';

export const OPENAPI_FILE = 'spec/openapi.yaml';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const JSON_MEDIA = 'application/json';

/** One side of the comparison: its resolver and the root document (or an empty one). */
export interface Side {
  r: Resolver;
  doc: Record<string, any>;
  ctx: Ctx;
}

export function side(r: Resolver, file: string): Side {
  const doc = r.root(file);
  return { r, doc: isObject(doc) ? doc : {}, ctx: r.has(file) ? r.ctxFor(file) : { file, base: `file:///${file}` } };
}

/** `/api/sessions/{id}/tasks/{taskId}` → `/api/sessions/{}/tasks/{}` (matching ignores parameter names). */
function pathKey(path: string): string {
  return path.replace(/\{[^}]*\}/g, '{}');
}

function pathParamNames(path: string): string[] {
  return [...path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!);
}

interface Param {
  name: string;
  in: string;
  required: boolean;
  node: Record<string, any>;
  ctx: Ctx;
}

interface Operation {
  node: Record<string, any>;
  ctx: Ctx;
  params: Map<string, Param>;
}

function objectEntries(value: unknown): Array<[string, unknown]> {
  return isObject(value) ? Object.entries(value) : [];
}

/** Parameters of an operation (path-level ones overridden by operation-level ones), keyed for matching. */
function collectParams(s: Side, path: string, pathItem: Record<string, any>, pathCtx: Ctx, op: Record<string, any>, opCtx: Ctx): Map<string, Param> {
  const byName = new Map<string, Param>();
  const add = (list: unknown, ctx: Ctx) => {
    if (!Array.isArray(list)) return;
    for (const raw of list) {
      const { node, ctx: at } = s.r.deref(raw, ctx);
      if (!isObject(node) || typeof node.name !== 'string') continue;
      const location = String(node.in ?? 'query');
      byName.set(`${location}:${node.name}`, { name: node.name, in: location, required: node.required === true || location === 'path', node, ctx: at });
    }
  };
  add(pathItem.parameters, pathCtx);
  add(op.parameters, opCtx);
  const names = pathParamNames(path);
  const keyed = new Map<string, Param>();
  for (const param of byName.values()) {
    // path parameters match by position in the template, so renaming `{id}` → `{taskId}` is not a removal
    const index = param.in === 'path' ? names.indexOf(param.name) : -1;
    keyed.set(index >= 0 ? `path:#${index}` : `${param.in}:${param.name}`, param);
  }
  return keyed;
}

function operations(s: Side): Map<string, { path: string; ops: Map<string, Operation> }> {
  const out = new Map<string, { path: string; ops: Map<string, Operation> }>();
  for (const [path, raw] of objectEntries(s.doc.paths)) {
    const { node: item, ctx } = s.r.deref(raw, s.ctx);
    if (!isObject(item)) continue;
    const ops = new Map<string, Operation>();
    for (const method of METHODS) {
      if (!isObject(item[method])) continue;
      const op = item[method];
      ops.set(method, { node: op, ctx, params: collectParams(s, path, item, ctx, op, ctx) });
    }
    out.set(pathKey(path), { path, ops });
  }
  return out;
}

function schemaOf(s: Side, holder: unknown, ctx: Ctx): Schema {
  return isObject(holder) && holder.schema !== undefined ? s.r.schema(holder.schema, ctx) : {};
}

function compareText(out: Changes, location: string, before: Record<string, any>, after: Record<string, any>): void {
  for (const key of ['summary', 'description', 'title']) {
    if (before[key] !== after[key]) out.add(key === 'summary' ? 'summary-changed' : 'description-changed', location, `${key} changed`);
  }
  if (canonical(before.example) !== canonical(after.example) || canonical(before.examples) !== canonical(after.examples)) {
    out.add('example-changed', location, 'examples changed');
  }
}

function compareExtensions(out: Changes, location: string, before: Record<string, any>, after: Record<string, any>, skip: string[] = []): void {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)].filter((k) => k.startsWith('x-') && !skip.includes(k)));
  for (const key of keys) {
    if (canonical(before[key]) !== canonical(after[key])) {
      out.add('extension-changed', location, `${key} ${show(before[key], 40)} → ${show(after[key], 40)}`);
    }
  }
}

function mediaLabel(media: string): string {
  return media === JSON_MEDIA ? '' : `(${media})`;
}

type Security = Array<Record<string, string[]>>;

function effectiveSecurity(s: Side, op: Record<string, any>): Security {
  const list = op.security ?? s.doc.security ?? [];
  return Array.isArray(list) ? list.filter(isObject) : [];
}

function securityNeeded(list: Security): boolean {
  return list.length > 0 && !list.some((alt) => Object.keys(alt).length === 0);
}

function describeSecurity(list: Security): string {
  if (!securityNeeded(list)) return 'none';
  return list.map((alt) => Object.keys(alt).sort().join('+')).join(' or ');
}

function compareSecurity(out: Changes, location: string, a: Side, b: Side, before: Record<string, any>, after: Record<string, any>): void {
  const oldList = effectiveSecurity(a, before);
  const newList = effectiveSecurity(b, after);
  const oldNeeded = securityNeeded(oldList);
  const newNeeded = securityNeeded(newList);
  const text = `security ${describeSecurity(oldList)} → ${describeSecurity(newList)}`;
  if (!oldNeeded && newNeeded) out.add('security-requirement-added', location, text);
  else if (oldNeeded && !newNeeded) out.add('security-requirement-removed', location, text);
  else if (oldNeeded && newNeeded) {
    const oldKeys = oldList.map(canonical);
    const newKeys = newList.map(canonical);
    if (oldKeys.some((k) => !newKeys.includes(k))) out.add('security-requirement-changed', location, text);
    else if (newKeys.some((k) => !oldKeys.includes(k))) out.add('security-alternative-added', location, text);
  }
}

function compareEmits(out: Changes, location: string, before: Record<string, any>, after: Record<string, any>): void {
  const oldList: string[] = Array.isArray(before['x-emits']) ? before['x-emits'].map(String) : [];
  const newList: string[] = Array.isArray(after['x-emits']) ? after['x-emits'].map(String) : [];
  // occurrences are counted, so an event emitted twice that is now emitted once is a removal
  const tokens = (list: string[]) => {
    const seen = new Map<string, number>();
    return list.map((name) => {
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      return n === 1 ? name : `${name} (#${n})`;
    });
  };
  const oldTokens = tokens(oldList);
  const newTokens = tokens(newList);
  const removed = oldTokens.filter((t) => !newTokens.includes(t));
  const added = newTokens.filter((t) => !oldTokens.includes(t));
  const where = `${location} x-emits`;
  if (removed.length) out.add('emits-event-removed', where, `no longer emits ${removed.join(', ')}`);
  if (added.length) out.add('emits-event-added', where, `now also emits ${added.join(', ')}`);
  const oldCommon = oldTokens.filter((t) => newTokens.includes(t));
  const newCommon = newTokens.filter((t) => oldTokens.includes(t));
  if (canonical(oldCommon) !== canonical(newCommon)) {
    out.add('emits-reordered', where, `order ${oldCommon.join(', ')} → ${newCommon.join(', ')}`);
  }
  if (canonical(before['x-emits-note']) !== canonical(after['x-emits-note'])) out.add('extension-changed', where, 'x-emits-note changed');
}

function compareParams(out: Changes, location: string, a: Side, b: Side, before: Operation, after: Operation): void {
  for (const [key, param] of before.params) {
    if (!after.params.has(key)) out.add('request-parameter-removed', `${location} parameters.${param.in}.${param.name}`, `${param.in} parameter removed`);
  }
  for (const [key, param] of after.params) {
    const where = `${location} parameters.${param.in}.${param.name}`;
    const old = before.params.get(key);
    if (!old) {
      out.add(param.required ? 'request-required-parameter-added' : 'request-parameter-added', where, `new ${param.required ? 'required' : 'optional'} ${param.in} parameter`);
      continue;
    }
    if (old.name !== param.name) out.add('path-parameter-renamed', where, `path parameter {${old.name}} renamed to {${param.name}}`);
    if (!old.required && param.required) out.add('request-parameter-made-required', where, 'parameter became required');
    if (old.required && !param.required) out.add('request-parameter-made-optional', where, 'parameter became optional');
    compareSchemas(out, 'request', a.r.schema(old.node.schema, old.ctx), b.r.schema(param.node.schema, param.ctx), where);
    compareText(out, where, old.node, param.node);
    if (Boolean(old.node.deprecated) !== Boolean(param.node.deprecated)) out.add('annotation-changed', where, `deprecated ${Boolean(old.node.deprecated)} → ${Boolean(param.node.deprecated)}`);
    compareExtensions(out, where, old.node, param.node);
  }
}

function compareRequestBody(out: Changes, location: string, a: Side, b: Side, before: Operation, after: Operation): void {
  const oldBody = before.node.requestBody === undefined ? undefined : a.r.deref(before.node.requestBody, before.ctx);
  const newBody = after.node.requestBody === undefined ? undefined : b.r.deref(after.node.requestBody, after.ctx);
  const where = `${location} request.body`;
  if (!oldBody && !newBody) return;
  const oldNode: Record<string, any> = isObject(oldBody?.node) ? oldBody.node : {};
  const newNode: Record<string, any> = isObject(newBody?.node) ? newBody.node : {};
  if (!oldBody) {
    out.add(newNode.required === true ? 'request-body-made-required' : 'request-body-added', where, `request body added${newNode.required === true ? ' (required)' : ''}`);
    return;
  }
  if (!newBody) {
    out.add('request-body-removed', where, 'request body removed');
    return;
  }
  if (oldNode.required !== true && newNode.required === true) out.add('request-body-made-required', where, 'request body became required');
  if (oldNode.required === true && newNode.required !== true) out.add('request-body-made-optional', where, 'request body became optional');
  compareText(out, where, oldNode, newNode);
  const oldContent = isObject(oldNode.content) ? oldNode.content : {};
  const newContent = isObject(newNode.content) ? newNode.content : {};
  for (const media of Object.keys(oldContent)) {
    if (!(media in newContent)) out.add('request-content-type-removed', `${where}(${media})`, `media type ${media} no longer accepted`);
  }
  for (const media of Object.keys(newContent)) {
    if (!(media in oldContent)) {
      out.add('request-content-type-added', `${where}(${media})`, `media type ${media} now accepted`);
      continue;
    }
    const at = `${where}${mediaLabel(media)}`;
    compareSchemas(out, 'request', schemaOf(a, oldContent[media], oldBody.ctx), schemaOf(b, newContent[media], newBody.ctx), at, { bodyRoot: true });
    if (isObject(oldContent[media]) && isObject(newContent[media])) compareText(out, at, oldContent[media], newContent[media]);
  }
}

function compareResponses(out: Changes, location: string, a: Side, b: Side, before: Operation, after: Operation): void {
  const oldResponses: Record<string, unknown> = isObject(before.node.responses) ? before.node.responses : {};
  const newResponses: Record<string, unknown> = isObject(after.node.responses) ? after.node.responses : {};
  for (const status of Object.keys(oldResponses)) {
    if (!(status in newResponses)) out.add('response-status-removed', `${location} response.${status}`, `response ${status} removed`);
  }
  for (const status of Object.keys(newResponses)) {
    const where = `${location} response.${status}`;
    if (!(status in oldResponses)) {
      out.add('response-status-added', where, `new response ${status}`);
      continue;
    }
    const oldRes = a.r.deref(oldResponses[status], before.ctx);
    const newRes = b.r.deref(newResponses[status], after.ctx);
    const oldNode: Record<string, any> = isObject(oldRes.node) ? oldRes.node : {};
    const newNode: Record<string, any> = isObject(newRes.node) ? newRes.node : {};
    compareText(out, where, oldNode, newNode);
    const oldContent = isObject(oldNode.content) ? oldNode.content : {};
    const newContent = isObject(newNode.content) ? newNode.content : {};
    for (const media of Object.keys(oldContent)) {
      if (!(media in newContent)) out.add('response-content-type-removed', `${where}.body(${media})`, `media type ${media} no longer produced`);
    }
    for (const media of Object.keys(newContent)) {
      if (!(media in oldContent)) {
        out.add('response-content-type-added', `${where}.body(${media})`, `media type ${media} now produced`);
        continue;
      }
      const at = `${where}.body${mediaLabel(media)}`;
      compareSchemas(out, 'response', schemaOf(a, oldContent[media], oldRes.ctx), schemaOf(b, newContent[media], newRes.ctx), at);
      if (isObject(oldContent[media]) && isObject(newContent[media])) compareText(out, at, oldContent[media], newContent[media]);
    }
    const oldHeaders = isObject(oldNode.headers) ? oldNode.headers : {};
    const newHeaders = isObject(newNode.headers) ? newNode.headers : {};
    const lower = (h: Record<string, unknown>) => new Map(Object.keys(h).map((k) => [k.toLowerCase(), k]));
    const oldNames = lower(oldHeaders);
    const newNames = lower(newHeaders);
    for (const [name, original] of oldNames) {
      if (!newNames.has(name)) out.add('response-header-removed', `${where}.headers.${original}`, 'response header removed');
    }
    for (const [name, original] of newNames) {
      const at = `${where}.headers.${original}`;
      const old = oldNames.get(name);
      if (old === undefined) {
        out.add('response-header-added', at, 'new response header');
        continue;
      }
      const oldHeader = a.r.deref(oldHeaders[old], oldRes.ctx);
      const newHeader = b.r.deref(newHeaders[original], newRes.ctx);
      compareSchemas(out, 'response', schemaOf(a, oldHeader.node, oldHeader.ctx), schemaOf(b, newHeader.node, newHeader.ctx), at);
    }
  }
}

function compareOperation(out: Changes, location: string, a: Side, b: Side, before: Operation, after: Operation): void {
  const oldOp = before.node;
  const newOp = after.node;
  if (oldOp.operationId !== newOp.operationId) {
    out.add('operation-id-changed', location, `operationId ${show(oldOp.operationId)} → ${show(newOp.operationId)}`);
  }
  if (Boolean(oldOp.deprecated) !== Boolean(newOp.deprecated)) {
    out.add('operation-deprecated', location, newOp.deprecated ? 'operation deprecated' : 'operation no longer deprecated');
  }
  compareText(out, location, oldOp, newOp);
  if (canonical(oldOp.tags) !== canonical(newOp.tags)) out.add('annotation-changed', location, `tags ${show(oldOp.tags)} → ${show(newOp.tags)}`);
  compareSecurity(out, location, a, b, oldOp, newOp);
  compareParams(out, location, a, b, before, after);
  compareRequestBody(out, location, a, b, before, after);
  compareResponses(out, location, a, b, before, after);
  compareEmits(out, location, oldOp, newOp);
  compareExtensions(out, location, oldOp, newOp, ['x-emits', 'x-emits-note']);
}

export function compareOpenApi(a: Side, b: Side): Changes {
  const out = new Changes('openapi');
  if (a.doc.info?.version !== b.doc.info?.version && a.doc.info?.version !== undefined && b.doc.info?.version !== undefined) {
    out.add('version-changed', 'info.version', `API version ${a.doc.info.version} → ${b.doc.info.version}`);
  }
  if (isObject(a.doc.info) && isObject(b.doc.info)) compareText(out, 'info', a.doc.info, b.doc.info);
  if (canonical(a.doc.servers) !== canonical(b.doc.servers) && a.doc.openapi && b.doc.openapi) out.add('servers-changed', 'servers', 'servers changed');
  const oldPaths = operations(a);
  const newPaths = operations(b);
  for (const [key, { path }] of oldPaths) {
    if (!newPaths.has(key)) out.add('path-removed', path, 'path removed');
  }
  for (const [key, { path, ops }] of newPaths) {
    const old = oldPaths.get(key);
    if (!old) {
      out.add('path-added', path, `new path (${[...ops.keys()].map((m) => m.toUpperCase()).join(', ')})`);
      continue;
    }
    for (const [method] of old.ops) {
      if (!ops.has(method)) out.add('operation-removed', `${method.toUpperCase()} ${old.path}`, `operation ${old.ops.get(method)!.node.operationId ?? ''} removed`.trimEnd());
    }
    for (const [method, op] of ops) {
      const location = `${method.toUpperCase()} ${path}`;
      const before = old.ops.get(method);
      if (!before) out.add('operation-added', location, `new operation ${op.node.operationId ?? ''}`.trimEnd());
      else compareOperation(out, location, a, b, before, op);
    }
  }
  return out;
}
