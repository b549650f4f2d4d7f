/**
 * Compares two normalised schemas (see resolve.ts) in a direction: `request` (read by the server), or
 * `response` / `payload` (read by clients). See rules.ts for the direction argument.
 */
import { Changes, show } from './emit.js';
import { canonical, isObject, type Schema } from './resolve.js';
import { schemaRule, type Prefix } from './rules.js';

const UPPER = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'];
const LOWER = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'];
const DESCRIPTIVE = new Set(['description', 'title']);
const EXAMPLES = new Set(['example', 'examples']);
const ANNOTATIONS = new Set([
  'readOnly', 'writeOnly', 'deprecated', 'contentMediaType', 'contentEncoding', 'contentSchema', 'externalDocs',
  'xml', 'discriminator', '$comment',
]);
const HANDLED = new Set([
  'type', 'enum', 'properties', 'required', 'additionalProperties', 'items', 'prefixItems', 'anyOf', 'oneOf',
  'pattern', 'format', 'default', 'x-error-codes', 'x-error-messages', 'x-validation-order', '$circular',
  ...UPPER, ...LOWER,
]);

// Where subschemas sit, for `without`: one schema, a list of schemas, or a map of name → schema.
const SUBSCHEMA = new Set([
  'items', 'additionalProperties', 'additionalItems', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
  'unevaluatedItems', 'unevaluatedProperties',
]);
const SUBSCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SUBSCHEMA_MAPS = new Set(['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions']);

/**
 * The schema without the keywords `drop` names, at any depth. Used for the keywords this file does not walk into
 * (`if`/`then`/`else`, `not`, `allOf`, …): when they differ only in text (`description`, `title`, `example(s)`)
 * the change is `description-changed`, when they differ only in text and `x-` extensions it is
 * `extension-changed` (both info), not a constraint change. Property names and the values of other keywords
 * (`enum`, `const`, `default`) are kept as they are.
 */
function without(schema: unknown, drop: (key: string) => boolean): unknown {
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (drop(key)) continue;
    if (SUBSCHEMA.has(key)) out[key] = without(value, drop);
    else if (SUBSCHEMA_LISTS.has(key) && Array.isArray(value)) out[key] = value.map((v) => without(v, drop));
    else if (SUBSCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, without(sub, drop)]));
    } else out[key] = value;
  }
  return out;
}

const isText = (key: string): boolean => DESCRIPTIVE.has(key) || EXAMPLES.has(key);
const isTextOrExtension = (key: string): boolean => isText(key) || key.startsWith('x-');

export interface SchemaCompareOptions {
  /** the root of a request body: the order of `properties` is the validation order (spec conventions §2.1) */
  bodyRoot?: boolean;
}

type TypeRelation = 'same' | 'narrowed' | 'widened' | 'changed';

function covers(types: string[] | undefined, t: string): boolean {
  if (types === undefined) return true;
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

function relation(oldTypes: string[] | undefined, newTypes: string[] | undefined): TypeRelation {
  const key = (t: string[] | undefined) => (t === undefined ? '*' : t.join(','));
  if (key(oldTypes) === key(newTypes)) return 'same';
  const newInOld = newTypes === undefined ? oldTypes === undefined : newTypes.every((t) => covers(oldTypes, t));
  const oldInNew = oldTypes === undefined ? newTypes === undefined : oldTypes.every((t) => covers(newTypes, t));
  if (newInOld && oldInNew) return 'same';
  if (newInOld) return 'narrowed';
  if (oldInNew) return 'widened';
  return 'changed';
}

function withoutNull(types: string[] | undefined): string[] | undefined {
  return types === undefined ? undefined : types.filter((t) => t !== 'null');
}

function allowsNull(schema: Schema): boolean {
  return schema.type === undefined || schema.type.includes('null');
}

function describeTypes(types: string[] | undefined): string {
  return types === undefined ? 'any' : types.length === 0 ? 'none' : types.join('|');
}

function propertyNames(schema: Schema): string[] {
  const names = Object.keys(isObject(schema.properties) ? schema.properties : {});
  for (const name of schema.required ?? []) if (!names.includes(name)) names.push(name);
  return names;
}

function openness(value: unknown): 'open' | 'closed' | 'schema' {
  if (value === undefined || value === true) return 'open';
  if (value === false) return 'closed';
  if (isObject(value) && Object.keys(value).length === 0) return 'open';
  if (isObject(value) && isObject(value.not) && Object.keys(value.not).length === 0) return 'closed';
  return 'schema';
}

export function compareSchemas(
  out: Changes,
  prefix: Prefix,
  oldSchema: Schema,
  newSchema: Schema,
  location: string,
  options: SchemaCompareOptions = {},
): void {
  if (canonical(oldSchema) === canonical(newSchema)) return;
  const emit = (check: string, where: string, message: string) => {
    const rule = schemaRule(prefix, check);
    if (rule) out.add(rule, where, message);
  };

  if (oldSchema.$circular !== undefined || newSchema.$circular !== undefined) {
    if (oldSchema.$circular !== newSchema.$circular) {
      emit('constraint-changed', location, `recursive reference changed: ${show(oldSchema.$circular)} → ${show(newSchema.$circular)}`);
    }
    return;
  }

  // type and null
  const rel = relation(withoutNull(oldSchema.type), withoutNull(newSchema.type));
  const typeText = `type ${describeTypes(oldSchema.type)} → ${describeTypes(newSchema.type)}`;
  if (rel === 'changed') {
    emit('type-changed', location, typeText);
    return; // properties, items and bounds of an unrelated type say nothing more
  }
  if (rel === 'narrowed') emit('type-narrowed', location, typeText);
  if (rel === 'widened') emit('type-widened', location, typeText);
  const oldNull = allowsNull(oldSchema);
  const newNull = allowsNull(newSchema);
  if (oldNull && !newNull && oldSchema.type !== undefined) emit('nullable-removed', location, `null no longer allowed (${typeText})`);
  if (!oldNull && newNull && newSchema.type !== undefined) emit('nullable-added', location, `null now allowed (${typeText})`);

  // enum
  if (oldSchema.enum !== undefined || newSchema.enum !== undefined) {
    if (oldSchema.enum === undefined) emit('enum-value-removed', location, `enum introduced: only ${newSchema.enum.map((v: unknown) => show(v)).join(', ')} accepted`);
    else if (newSchema.enum === undefined) emit('enum-value-added', location, `enum dropped: any value of the type is now possible (was ${oldSchema.enum.map((v: unknown) => show(v)).join(', ')})`);
    else {
      const oldValues = new Map<string, unknown>(oldSchema.enum.map((v: unknown) => [canonical(v), v]));
      const newValues = new Map<string, unknown>(newSchema.enum.map((v: unknown) => [canonical(v), v]));
      const removed = [...oldValues.keys()].filter((k) => !newValues.has(k)).map((k) => show(oldValues.get(k)));
      const added = [...newValues.keys()].filter((k) => !oldValues.has(k)).map((k) => show(newValues.get(k)));
      if (removed.length) emit('enum-value-removed', location, `enum value${removed.length > 1 ? 's' : ''} ${removed.join(', ')} removed`);
      if (added.length) emit('enum-value-added', location, `enum value${added.length > 1 ? 's' : ''} ${added.join(', ')} added`);
    }
  }

  // bounds
  for (const key of UPPER) {
    const before = oldSchema[key] as number | undefined;
    const after = newSchema[key] as number | undefined;
    if (before === after) continue;
    const text = before === undefined ? `${key} ${after} added` : after === undefined ? `${key} ${before} removed` : `${key} ${before} → ${after}`;
    if (after !== undefined && (before === undefined || after < before)) emit('max-decreased', location, text);
    else emit('max-increased', location, text);
  }
  for (const key of LOWER) {
    const before = oldSchema[key] as number | undefined;
    const after = newSchema[key] as number | undefined;
    if (before === after) continue;
    const text = before === undefined ? `${key} ${after} added` : after === undefined ? `${key} ${before} removed` : `${key} ${before} → ${after}`;
    if (after !== undefined && (before === undefined || after > before)) emit('min-increased', location, text);
    else emit('min-decreased', location, text);
  }

  // pattern and format
  for (const key of ['pattern', 'format'] as const) {
    const before = oldSchema[key];
    const after = newSchema[key];
    if (before === after) continue;
    if (before === undefined) emit(`${key}-added`, location, `${key} ${show(after)} added`);
    else if (after === undefined) emit(`${key}-removed`, location, `${key} ${show(before)} removed`);
    else emit(`${key}-changed`, location, `${key} ${show(before)} → ${show(after)}`);
  }

  // default
  if (canonical(oldSchema.default) !== canonical(newSchema.default)) {
    const text = `default ${show(oldSchema.default)} → ${show(newSchema.default)}`;
    if (oldSchema.default === undefined && prefix === 'request') emit('default-added', location, text);
    else emit('default-changed', location, text);
  }

  // additionalProperties
  const oldOpen = openness(oldSchema.additionalProperties);
  const newOpen = openness(newSchema.additionalProperties);
  if (oldOpen !== newOpen) {
    const text = `additionalProperties ${show(oldSchema.additionalProperties ?? true)} → ${show(newSchema.additionalProperties ?? true)}`;
    const tighter = oldOpen === 'open' || (oldOpen === 'schema' && newOpen === 'closed');
    emit(tighter ? 'additional-properties-tightened' : 'additional-properties-loosened', location, text);
  } else if (oldOpen === 'schema') {
    compareSchemas(out, prefix, oldSchema.additionalProperties, newSchema.additionalProperties, `${location}.*`);
  }

  // properties and required
  const oldNames = propertyNames(oldSchema);
  const newNames = propertyNames(newSchema);
  const oldRequired = new Set<string>(oldSchema.required ?? []);
  const newRequired = new Set<string>(newSchema.required ?? []);
  const newClosed = newOpen === 'closed';
  for (const name of oldNames) {
    if (newNames.includes(name)) continue;
    if (prefix === 'request' && newClosed) emit('property-no-longer-accepted', `${location}.${name}`, 'property removed from a closed object: sending it now fails');
    else emit('property-removed', `${location}.${name}`, `property removed${oldRequired.has(name) ? ' (was required)' : ''}`);
  }
  for (const name of newNames) {
    if (oldNames.includes(name)) continue;
    if (prefix === 'request' && newRequired.has(name)) emit('required-property-added', `${location}.${name}`, 'new required property');
    else emit('property-added', `${location}.${name}`, `new ${newRequired.has(name) ? 'required' : 'optional'} property`);
  }
  for (const name of oldNames) {
    if (!newNames.includes(name)) continue;
    const where = `${location}.${name}`;
    if (!oldRequired.has(name) && newRequired.has(name)) emit('property-made-required', where, 'property became required');
    if (oldRequired.has(name) && !newRequired.has(name)) emit('property-made-optional', where, 'property became optional (removed from required)');
    compareSchemas(out, prefix, oldSchema.properties?.[name] ?? {}, newSchema.properties?.[name] ?? {}, where);
  }

  // arrays
  if (oldSchema.items !== undefined || newSchema.items !== undefined) {
    compareSchemas(out, prefix, isObject(oldSchema.items) ? oldSchema.items : {}, isObject(newSchema.items) ? newSchema.items : {}, `${location}[]`);
  }
  if (oldSchema.prefixItems !== undefined || newSchema.prefixItems !== undefined) {
    const length = Math.max(oldSchema.prefixItems?.length ?? 0, newSchema.prefixItems?.length ?? 0);
    for (let i = 0; i < length; i++) {
      compareSchemas(out, prefix, oldSchema.prefixItems?.[i] ?? {}, newSchema.prefixItems?.[i] ?? {}, `${location}[${i}]`);
    }
  }

  // alternatives
  for (const key of ['anyOf', 'oneOf'] as const) {
    const before: Schema[] | undefined = oldSchema[key];
    const after: Schema[] | undefined = newSchema[key];
    if (canonical(before) === canonical(after)) continue;
    if (before === undefined || after === undefined) {
      emit('constraint-changed', location, `${key} ${before === undefined ? 'introduced' : 'dropped'}`);
    } else if (before.length === after.length) {
      before.forEach((variant, i) => compareSchemas(out, prefix, variant, after[i]!, `${location}.${key}[${i}]`));
    } else {
      const oldKeys = before.map(canonical);
      const newKeys = after.map(canonical);
      const removed = before.filter((_, i) => !newKeys.includes(oldKeys[i]!));
      const added = after.filter((_, i) => !oldKeys.includes(newKeys[i]!));
      if (removed.length) emit('variant-removed', location, `${key} alternative${removed.length > 1 ? 's' : ''} removed: ${removed.map((v) => show(v, 50)).join('; ')}`);
      if (added.length) emit('variant-added', location, `${key} alternative${added.length > 1 ? 's' : ''} added: ${added.map((v) => show(v, 50)).join('; ')}`);
    }
  }

  // request extensions of spec conventions §2.7
  if (prefix === 'request') {
    for (const [key, check] of [['x-error-codes', 'error-code-changed'], ['x-error-messages', 'error-message-changed']] as const) {
      const before: Record<string, unknown> = isObject(oldSchema[key]) ? oldSchema[key] : {};
      const after: Record<string, unknown> = isObject(newSchema[key]) ? newSchema[key] : {};
      const diffs = [...new Set([...Object.keys(before), ...Object.keys(after)])]
        .filter((k) => canonical(before[k]) !== canonical(after[k]))
        .map((k) => `${k}: ${show(before[k] ?? 'default', 40)} → ${show(after[k] ?? 'default', 40)}`);
      if (diffs.length) emit(check, location, `${key} changed (${diffs.join('; ')})`);
    }
    const order = (s: Schema) => s['x-validation-order'] ?? (options.bodyRoot ? Object.keys(s.properties ?? {}) : undefined);
    const oldOrder = order(oldSchema);
    const newOrder = order(newSchema);
    if (oldOrder !== undefined && newOrder !== undefined) {
      const common = (a: unknown[], b: unknown[]) => a.filter((x) => b.includes(x));
      const explicit = oldSchema['x-validation-order'] !== undefined || newSchema['x-validation-order'] !== undefined;
      const changed = explicit
        ? canonical(oldOrder) !== canonical(newOrder)
        : canonical(common(oldOrder, newOrder)) !== canonical(common(newOrder, oldOrder));
      if (changed) {
        let from = 0;
        while (from < oldOrder.length && oldOrder[from] === newOrder[from]) from++;
        const tail = (list: unknown[]) => show(list.slice(from), 70);
        emit('validation-order-changed', location, `validation order changed from position ${from + 1}: ${tail(oldOrder)} → ${tail(newOrder)}`);
      }
    }
  } else {
    for (const key of ['x-error-codes', 'x-error-messages', 'x-validation-order']) {
      if (canonical(oldSchema[key]) !== canonical(newSchema[key])) out.add('extension-changed', location, `${key} changed`);
    }
  }

  // everything else
  const keys = new Set([...Object.keys(oldSchema), ...Object.keys(newSchema)]);
  const texts = [...DESCRIPTIVE].filter((key) => canonical(oldSchema[key]) !== canonical(newSchema[key]));
  if (texts.length) out.add('description-changed', location, `${texts.join(' and ')} changed`);
  for (const key of keys) {
    if (HANDLED.has(key) || DESCRIPTIVE.has(key) || canonical(oldSchema[key]) === canonical(newSchema[key])) continue;
    const text = `${key} ${show(oldSchema[key], 40)} → ${show(newSchema[key], 40)}`;
    if (EXAMPLES.has(key)) out.add('example-changed', location, `${key} changed`);
    else if (key.startsWith('x-')) out.add('extension-changed', location, text);
    else if (ANNOTATIONS.has(key)) out.add('annotation-changed', location, text);
    else if (canonical(without(oldSchema[key], isText)) === canonical(without(newSchema[key], isText))) {
      out.add('description-changed', location, `descriptions inside ${key} changed`);
    } else if (canonical(without(oldSchema[key], isTextOrExtension)) === canonical(without(newSchema[key], isTextOrExtension))) {
      out.add('extension-changed', location, `x- extensions inside ${key} changed`);
    } else emit('constraint-changed', location, text);
  }
}
