/**
 * Turns the errors of a generated Ajv validator into ONE error response (docs/behaviour.md §3.1, §3.4;
 * docs/spec-conventions.md §2 rule 7). Pure: the rules come from the request schema at codegen time.
 */
import { ContractError } from '../contract-error.js';

/** The part of an Ajv `ErrorObject` the mapping reads. */
export interface ValidatorError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** Per request schema, computed by codegen from the schema and its `x-*` annotations. */
export interface ValidationRules {
  /** property names in schema order (the default validation order) */
  readonly properties: readonly string[];
  /** `x-validation-order`: entries `field` or `field/keyword`; the earliest matching entry wins */
  readonly order: readonly string[];
  /** `x-error-codes`: `field` or `field/keyword` → code (default VALIDATION_ERROR) */
  readonly codes: Readonly<Record<string, string>>;
  /** `x-error-messages`: `field` or `field/keyword` → message (default generated, docs/behaviour.md §3.4) */
  readonly messages: Readonly<Record<string, string>>;
  /** the schema's top-level `required` */
  readonly required: readonly string[];
  /** field → "must be …" wording for a wrong type, e.g. `an array of strings` */
  readonly typeDescriptions: Readonly<Record<string, string>>;
}

const DEFAULT_CODE = 'VALIDATION_ERROR';

interface Located {
  error: ValidatorError;
  index: number;
  /** top-level field the error is about ('' = the body itself) */
  field: string;
  /** path segments below the field, e.g. ['0', 'type'] */
  rest: string[];
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function locate(error: ValidatorError, index: number): Located {
  const segments = pointerSegments(error.instancePath);
  if (segments.length > 0) return { error, index, field: segments[0], rest: segments.slice(1) };
  const p = error.params;
  const named = p.missingProperty ?? p.additionalProperty ?? p.propertyName ?? p.unevaluatedProperty;
  return { error, index, field: typeof named === 'string' ? named : '', rest: [] };
}

/** `events`, ['0', 'type'] → `events[0].type` */
function displayPath(field: string, rest: readonly string[]): string {
  let out = field;
  for (const seg of rest) out += /^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`;
  return out;
}

const WRAPPERS = new Set(['anyOf', 'oneOf', 'allOf', 'if', 'not', 'then', 'else']);

/** Lower is more specific inside one rank: real failures before combinator wrappers and `null` branches. */
function specificity(error: ValidatorError): number {
  if (WRAPPERS.has(error.keyword)) return 2;
  if (error.keyword === 'type' && error.params.type === 'null') return 1;
  return 0;
}

function rank(loc: Located, rules: ValidationRules): number {
  const withKeyword = rules.order.indexOf(`${loc.field}/${loc.error.keyword}`);
  if (withKeyword !== -1) return withKeyword;
  const plain = rules.order.indexOf(loc.field);
  if (plain !== -1) return plain;
  const prop = rules.properties.indexOf(loc.field);
  return rules.order.length + (prop === -1 ? rules.properties.length : prop);
}

function typeWording(type: unknown): string {
  const t = Array.isArray(type) ? type.filter((x) => x !== 'null')[0] : typeof type === 'string' ? type.split(',')[0] : type;
  switch (t) {
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'null':
      return 'null';
    default:
      return `of type ${String(t)}`;
  }
}

/** The default message of docs/behaviour.md §3.4 for one error. */
export function defaultMessage(loc: { error: ValidatorError; field: string; rest: readonly string[] }, rules: ValidationRules): string {
  const { error, field, rest } = loc;
  const atField = rest.length === 0;
  const where = displayPath(field, rest);
  const p = error.params;
  switch (error.keyword) {
    case 'required':
    case 'dependentRequired': {
      const missing = String(p.missingProperty);
      return error.instancePath === '' ? `${missing} is required` : `${where}.${missing} is required`;
    }
    case 'type': {
      const described = atField ? rules.typeDescriptions[field] : undefined;
      return `${where} must be ${described ?? typeWording(p.type)}`;
    }
    case 'pattern':
      if (p.pattern === '\\S') {
        return atField && rules.required.includes(field) ? `${field} is required` : `${where} must be a non-empty string`;
      }
      return `${where} must match the pattern ${String(p.pattern)}`;
    case 'minLength':
      return Number(p.limit) === 1 ? `${where} must be a non-empty string` : `${where} must have at least ${String(p.limit)} characters`;
    case 'enum':
      return `${where} must be one of: ${(Array.isArray(p.allowedValues) ? p.allowedValues : []).map(String).join(', ')}`;
    case 'const':
      return `${where} must be ${JSON.stringify(p.allowedValue)}`;
    case 'format':
      return p.format === 'date' ? `${where} must be a date in YYYY-MM-DD format` : `${where} must be a valid ${String(p.format)}`;
    case 'minItems':
      return Number(p.limit) === 1 ? `${where} must be a non-empty array` : `${where} must have at least ${String(p.limit)} items`;
    case 'maxItems':
      return `${where} must have at most ${String(p.limit)} items`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${where} must be ${String(p.comparison)} ${String(p.limit)}`;
    case 'additionalProperties':
      return `${where} has an unknown property: ${String(p.additionalProperty)}`;
    default:
      return `${where} is invalid`;
  }
}

/**
 * Picks the error that comes first in the validation order and maps it to a ContractError:
 * code and message from `x-error-codes` / `x-error-messages` (`field/keyword` before `field`), else
 * VALIDATION_ERROR and the generated message; `details: { field }` only with VALIDATION_ERROR.
 */
export function toContractError(errors: readonly ValidatorError[] | null | undefined, rules: ValidationRules): ContractError {
  const located = (errors ?? []).map(locate);
  const withField = located.filter((l) => l.field !== '');
  if (withField.length === 0) {
    return new ContractError(400, DEFAULT_CODE, rules.messages[''] ?? 'Request body is invalid');
  }
  const chosen = withField
    .map((loc) => ({ loc, rank: rank(loc, rules), specificity: specificity(loc.error) }))
    .sort((a, b) => a.rank - b.rank || a.specificity - b.specificity || a.loc.index - b.loc.index)[0].loc;
  const keyed = `${chosen.field}/${chosen.error.keyword}`;
  const code = rules.codes[keyed] ?? rules.codes[chosen.field] ?? DEFAULT_CODE;
  const message = rules.messages[keyed] ?? rules.messages[chosen.field] ?? defaultMessage(chosen, rules);
  return code === DEFAULT_CODE
    ? new ContractError(400, code, message, { field: chosen.field })
    : new ContractError(400, code, message);
}
