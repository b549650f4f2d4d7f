/**
 * fast-check arbitraries from the request schemas of the spec (the subset of JSON Schema 2020-12 they use:
 * $ref, type, enum, const, pattern, format: date, minItems, items, properties, required, additionalProperties,
 * minimum), plus the null semantics of docs/spec-conventions.md §2 (a `null` on a property whose schema does
 * not allow null counts as absent). Values are close to valid by construction; the suite then classifies
 * every candidate with Ajv, so the generator needs to be good, not perfect.
 */
import fc from 'fast-check';
import type { Json, JsonObject, SpecModel } from './spec-model.js';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Strings with the characters a client may send: ASCII, any Unicode, controls. Never trimmed (docs/behaviour.md §0.5). */
export const anyString = (maxLength = 12) =>
  fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength }) });
export const nonBlank = (maxLength = 12) => fc.tuple(anyString(maxLength), fc.constantFrom('x', 'Z', '7', 'é', '任务'), anyString(4)).map(([a, b, c]) => a + b + c);
const dateString = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2199-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const json = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;

export type Overrides = Record<string, fc.Arbitrary<unknown>>;

export class SchemaArbitraries {
  constructor(readonly spec: SpecModel) {}

  /** Follows `$ref` (relative to `base`) to the schema and its own base URI. */
  resolve(schema: Json, base: string): { schema: Json; base: string } {
    let s = schema;
    let b = base;
    for (let i = 0; i < 10 && isObject(s) && typeof s.$ref === 'string'; i++) {
      const url = new URL(s.$ref, b).href;
      s = this.spec.schemaFile(url);
      b = url;
    }
    return { schema: s, base: b };
  }

  /** An arbitrary for `schema`; `overrides` replaces top-level properties (entity references → real ids). */
  of(schema: Json, base: string, overrides: Overrides = {}, depth = 0): fc.Arbitrary<unknown> {
    const r = this.resolve(schema, base);
    const s = r.schema;
    if (s === true || !isObject(s) || Object.keys(s).filter((k) => !['description', 'title', 'default', '$schema', '$id', 'examples'].includes(k) && !k.startsWith('x-')).length === 0) {
      return json;
    }
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as Json[]));
    if ('const' in s) return fc.constant(s.const);
    const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
    if (types.length > 1) return fc.oneof(...types.map((t) => this.of({ ...s, type: t }, r.base, overrides, depth)));
    switch (types[0]) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return fc.integer({ min: typeof s.minimum === 'number' ? s.minimum : -1e6, max: 4_102_444_800_000 });
      case 'number':
        return fc.double({ noNaN: true, noDefaultInfinity: true });
      case 'string':
        if (s.format === 'date') return dateString;
        if (s.pattern === '\\S') return nonBlank();
        if (typeof s.pattern === 'string') {
          const re = new RegExp(s.pattern as string);
          // Strings built from the pattern itself when fast-check can (it cannot with lookarounds): filtering
          // random strings alone almost never hits a pattern such as `^#[0-9a-fA-F]{6}$`, and the search then
          // runs for tens of seconds (long enough for the keep-alive connection to the server to time out).
          try {
            return fc.oneof(fc.stringMatching(re), fc.stringMatching(/^[A-Za-z0-9._-]{1,24}$/), anyString()).filter((x) => re.test(x));
          } catch {
            return fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,24}$/), anyString()).filter((x) => re.test(x));
          }
        }
        return anyString();
      case 'array': {
        const items = s.items === undefined ? json : this.of(s.items as Json, r.base, {}, depth + 1);
        return fc.array(items, { minLength: typeof s.minItems === 'number' ? s.minItems : 0, maxLength: 4 });
      }
      default: {
        // object (or untyped with properties)
        const props = isObject(s.properties) ? s.properties : {};
        if (Object.keys(props).length === 0) {
          if (isObject(s.additionalProperties)) return fc.dictionary(anyString(6), this.of(s.additionalProperties, r.base, {}, depth + 1), { maxKeys: 3 });
          return fc.dictionary(anyString(6), json, { maxKeys: 3 });
        }
        const model: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [k, v] of Object.entries(props)) model[k] = overrides[k] ?? this.of(v, r.base, {}, depth + 1);
        const required = Array.isArray(s.required) ? (s.required as string[]) : [];
        return fc.record(model, { requiredKeys: required.filter((k) => k in model) });
      }
    }
  }

  /**
   * A request body: the root's properties plus those of its `then`/`else`/`anyOf` branches (so every documented
   * field appears), each optional unless required at the root, plus now and then an unknown field.
   */
  body(schemaRef: string, overrides: Overrides = {}): fc.Arbitrary<Record<string, unknown>> {
    const root = this.spec.schemaFile(schemaRef);
    const props = allProperties(root);
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [k, list] of props) {
      model[k] = overrides[k] ?? fc.oneof(...list.map((p) => this.of(p, schemaRef)));
    }
    const required = Array.isArray(root.required) ? (root.required as string[]) : [];
    return fc
      .tuple(fc.record(model, { requiredKeys: required }), fc.option(fc.record({ unknownField: json }), { freq: 5 }))
      .map(([body, extra]) => ({ ...body, ...(extra ?? {}) }));
  }
}

/** Every property a request schema mentions (root, then/else, anyOf/allOf/oneOf branches). */
export function allProperties(schema: JsonObject): Map<string, Json[]> {
  const out = new Map<string, Json[]>();
  const visit = (s: Json | undefined): void => {
    if (!isObject(s)) return;
    if (isObject(s.properties)) {
      for (const [k, v] of Object.entries(s.properties)) {
        if (v === true) continue;
        out.set(k, [...(out.get(k) ?? []), v]);
      }
    }
    for (const k of ['then', 'else']) visit(s[k]);
    for (const k of ['anyOf', 'allOf', 'oneOf']) for (const sub of (s[k] as Json[] | undefined) ?? []) visit(sub);
  };
  visit(schema);
  return out;
}

/** docs/spec-conventions.md §2 rule 2: drop top-level nulls whose property schemas do not allow null. */
export function stripNulls(arb: SchemaArbitraries, schemaRef: string, body: Record<string, unknown>): Record<string, unknown> {
  const props = allProperties(arb.spec.schemaFile(schemaRef));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (v === null) {
      const list = props.get(k) ?? [];
      const allowsNull = list.some((p) => {
        const r = arb.resolve(p, schemaRef).schema;
        if (!isObject(r)) return false;
        const t = r.type;
        return t === 'null' || (Array.isArray(t) && t.includes('null'));
      });
      if (!allowsNull) continue;
    }
    out[k] = v;
  }
  return out;
}

