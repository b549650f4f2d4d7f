/**
 * The rule catalogue. Every change the diff reports carries one of these ids, and an id always has the same
 * severity (the engine looks the severity up here, it never chooses one itself).
 *
 * Direction. A request body, a parameter, and a message the *server receives* (prefix `request-`) are read
 * by the server: narrowing what is accepted breaks clients that send the old values (contravariant).
 * A response body/header (prefix `response-`) and an event payload the server sends (prefix `payload-`) are
 * read by clients: widening what can be produced breaks clients that only handle the old values (covariant).
 */
import type { Severity } from './types.js';

export interface Rule {
  id: string;
  severity: Severity;
  description: string;
}

const B: Severity = 'breaking';
const NB: Severity = 'non-breaking';
const I: Severity = 'info';

/** Schema-level checks: [check, severity for requests, severity for responses/payloads, description]. */
const SCHEMA_CHECKS: Array<[string, Severity | null, Severity | null, string]> = [
  ['property-removed', NB, B, 'a property was removed (a server ignores unknown request fields; clients may read response fields)'],
  ['property-added', NB, NB, 'an optional property was added (request) / a property was added (response, payload)'],
  ['required-property-added', B, null, 'a new required request property: old clients do not send it'],
  ['property-no-longer-accepted', B, null, 'a request property was removed from a closed object (additionalProperties: false): sending it now fails'],
  ['property-made-required', B, NB, 'an existing optional property became required'],
  ['property-made-optional', NB, B, 'a required property became optional (removed from required)'],
  ['type-changed', B, B, 'the type changed to one that is neither wider nor narrower'],
  ['type-narrowed', B, NB, 'the type accepts fewer kinds of values (e.g. number → integer)'],
  ['type-widened', NB, B, 'the type accepts more kinds of values (e.g. integer → number)'],
  ['nullable-removed', B, NB, 'null is no longer allowed'],
  ['nullable-added', NB, B, 'null became allowed'],
  ['enum-value-removed', B, NB, 'enum values were removed (or an enum was introduced)'],
  ['enum-value-added', NB, B, 'enum values were added (or the enum was dropped)'],
  ['max-decreased', B, NB, 'maxLength/maximum/exclusiveMaximum/maxItems/maxProperties decreased or added'],
  ['max-increased', NB, B, 'maxLength/maximum/exclusiveMaximum/maxItems/maxProperties increased or removed'],
  ['min-increased', B, NB, 'minLength/minimum/exclusiveMinimum/minItems/minProperties increased or added'],
  ['min-decreased', NB, B, 'minLength/minimum/exclusiveMinimum/minItems/minProperties decreased or removed'],
  ['pattern-added', B, NB, 'a pattern was added'],
  ['pattern-changed', B, B, 'the pattern changed (not provably wider or narrower)'],
  ['pattern-removed', NB, B, 'the pattern was removed'],
  ['format-added', B, NB, 'a format was added'],
  ['format-changed', B, B, 'the format changed'],
  ['format-removed', NB, B, 'the format was removed'],
  ['additional-properties-tightened', B, NB, 'additionalProperties went from allowed to false (or to a schema)'],
  ['additional-properties-loosened', NB, B, 'additionalProperties went from false (or a schema) to allowed'],
  ['variant-added', NB, B, 'an anyOf/oneOf alternative was added'],
  ['variant-removed', B, NB, 'an anyOf/oneOf alternative was removed'],
  ['constraint-changed', B, B, 'another assertion (if/then/else, not, uniqueItems, multipleOf, a recursive $ref, …) changed: not provably compatible'],
  ['default-changed', B, I, 'the default changed or was removed (request: clients omitting the field get other behaviour; response: documentation only)'],
  ['default-added', NB, null, 'a default was documented for a field that had none'],
  ['error-code-changed', B, null, 'x-error-codes changed: a client sees another error code for the same mistake'],
  ['error-message-changed', NB, null, 'x-error-messages changed: the error text changes, the code does not'],
  ['validation-order-changed', NB, null, 'x-validation-order (or the order of properties) changed: which error wins when several occur'],
];

const STRUCTURAL: Array<[string, Severity, string]> = [
  // OpenAPI: paths and operations
  ['path-removed', B, 'a path and all its operations were removed'],
  ['path-added', NB, 'a new path'],
  ['operation-removed', B, 'an operation was removed'],
  ['operation-added', NB, 'a new operation'],
  ['operation-id-changed', B, 'the operationId changed: the generated client method and handler names change'],
  ['operation-deprecated', I, 'an operation was marked deprecated (or un-deprecated)'],
  ['path-parameter-renamed', I, 'a path template parameter was renamed (the URL is unchanged)'],
  // parameters
  ['request-parameter-removed', NB, 'a query/header/cookie parameter was removed (the server ignores it)'],
  ['request-parameter-added', NB, 'a new optional parameter'],
  ['request-required-parameter-added', B, 'a new required parameter: old clients do not send it'],
  ['request-parameter-made-required', B, 'an optional parameter became required'],
  ['request-parameter-made-optional', NB, 'a required parameter became optional'],
  // request bodies
  ['request-body-made-required', B, 'the request body became required (or a required body was added)'],
  ['request-body-made-optional', NB, 'the request body became optional'],
  ['request-body-added', NB, 'an optional request body was added'],
  ['request-body-removed', NB, 'the request body was removed (the server no longer reads it)'],
  ['request-content-type-removed', B, 'a request media type is no longer accepted'],
  ['request-content-type-added', NB, 'a new request media type is accepted'],
  // responses
  ['response-status-removed', B, 'a documented response status was removed'],
  ['response-status-added', NB, 'a new response status'],
  ['response-content-type-removed', B, 'a response media type is no longer produced'],
  ['response-content-type-added', NB, 'a new response media type'],
  ['response-header-removed', B, 'a response header was removed'],
  ['response-header-added', NB, 'a new response header'],
  // security
  ['security-requirement-added', B, 'an operation that needed no credentials now needs some'],
  ['security-requirement-removed', NB, 'an operation no longer needs credentials'],
  ['security-requirement-changed', B, 'an accepted security alternative was removed or replaced'],
  ['security-alternative-added', NB, 'a new security alternative is accepted'],
  // x-emits
  ['emits-event-removed', B, 'an operation no longer emits an event clients may wait for'],
  ['emits-event-added', NB, 'an operation emits an additional event'],
  ['emits-reordered', B, 'the order of emitted events changed (x-emits is an ordered list; clients may rely on it)'],
  // AsyncAPI
  ['event-removed', B, 'an event (message) was removed from the catalogue'],
  ['event-added', NB, 'a new event (message)'],
  ['event-renamed', B, 'an event was renamed: removed and added with an identical payload'],
  ['channel-removed', B, 'a channel was removed'],
  ['channel-added', NB, 'a new channel'],
  ['channel-address-changed', B, 'a channel address changed'],
  // documentation
  ['version-changed', I, 'info.version changed'],
  ['servers-changed', I, 'the servers list changed'],
  ['description-changed', I, 'a description or title changed'],
  ['summary-changed', I, 'a summary changed'],
  ['example-changed', I, 'an example changed'],
  ['annotation-changed', I, 'another annotation (readOnly, writeOnly, deprecated on a schema, …) changed'],
  ['extension-changed', I, 'an x-* extension without its own rule changed'],
];

export type Prefix = 'request' | 'response' | 'payload';

function build(): Map<string, Rule> {
  const rules = new Map<string, Rule>();
  for (const [check, req, res, description] of SCHEMA_CHECKS) {
    if (req) rules.set(`request-${check}`, { id: `request-${check}`, severity: req, description });
    if (res) {
      rules.set(`response-${check}`, { id: `response-${check}`, severity: res, description });
      rules.set(`payload-${check}`, { id: `payload-${check}`, severity: res, description });
    }
  }
  for (const [id, severity, description] of STRUCTURAL) rules.set(id, { id, severity, description });
  return rules;
}

export const RULES: ReadonlyMap<string, Rule> = build();

export function ruleSeverity(id: string): Severity {
  const rule = RULES.get(id);
  if (!rule) throw new Error(`spec-diff: unknown rule id ${id}`);
  return rule.severity;
}

/** The schema rule id for a check in a direction, or null when the check does not apply to that direction. */
export function schemaRule(prefix: Prefix, check: string): string | null {
  const id = `${prefix}-${check}`;
  return RULES.has(id) ? id : null;
}
