/** Unit tests of the Ajv-errors → ContractError mapping (src/http/validation-errors.ts). */
import { describe, expect, it } from 'vitest';
import { defaultMessage, toContractError, type ValidationRules, type ValidatorError } from '../../src/http/validation-errors.js';

const rules = (over: Partial<ValidationRules> = {}): ValidationRules => ({
  properties: ['name', 'role', 'content', 'items'],
  order: ['name', 'role', 'content', 'items'],
  codes: {},
  messages: {},
  required: ['name'],
  typeDescriptions: { name: 'a non-empty string', items: 'an array of strings' },
  ...over,
});
const err = (instancePath: string, keyword: string, params: Record<string, unknown> = {}): ValidatorError => ({ instancePath, keyword, params });

describe('toContractError', () => {
  it('picks the earliest field in the order, whatever the Ajv order', () => {
    const e = toContractError([err('/content', 'type', { type: 'string' }), err('', 'required', { missingProperty: 'name' })], rules());
    expect(e.toBody()).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'name is required', details: { field: 'name' } });
    expect(e.status).toBe(400);
  });

  it('field/keyword entries match before plain field entries', () => {
    const r = rules({ order: ['name', 'role/required', 'content', 'role'] });
    const errors = [err('/role', 'enum', { allowedValues: ['a'] }), err('', 'required', { missingProperty: 'content' })];
    expect(toContractError(errors, r).details).toEqual({ field: 'content' });
    const errors2 = [err('', 'required', { missingProperty: 'content' }), err('', 'required', { missingProperty: 'role' })];
    expect(toContractError(errors2, r).details).toEqual({ field: 'role' });
  });

  it('fields missing from x-validation-order come after it, in property order', () => {
    const r = rules({ order: ['content'] });
    const e = toContractError([err('/items', 'type', { type: 'array' }), err('/role', 'type', { type: 'string' }), err('/content', 'type', { type: 'string' })], r);
    expect(e.details).toEqual({ field: 'content' });
    expect(toContractError([err('/items', 'type', { type: 'array' }), err('/role', 'type', { type: 'string' })], r).details).toEqual({ field: 'role' });
  });

  it('codes and messages from x-error-codes / x-error-messages; details only with VALIDATION_ERROR', () => {
    const r = rules({ codes: { name: 'missing_name' }, messages: { name: 'name needed', 'role/enum': 'Invalid role' } });
    expect(toContractError([err('', 'required', { missingProperty: 'name' })], r).toBody()).toEqual({ error: true, code: 'missing_name', message: 'name needed' });
    expect(toContractError([err('/role', 'enum', { allowedValues: ['a'] })], r).toBody()).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'Invalid role', details: { field: 'role' } });
  });

  it('root errors without a field are ignored when another error has one', () => {
    const e = toContractError([err('', 'anyOf'), err('', 'required', { missingProperty: 'role' }), err('', 'if', { failingKeyword: 'then' })], rules());
    expect(e.details).toEqual({ field: 'role' });
    expect(toContractError([err('', 'anyOf')], rules()).toBody()).toEqual({ error: true, code: 'VALIDATION_ERROR', message: 'Request body is invalid' });
  });

  it('inside one field, a real failure beats anyOf wrappers and null branches', () => {
    const e = toContractError([err('/role', 'type', { type: 'null' }), err('/role', 'format', { format: 'date' }), err('/role', 'anyOf')], rules());
    expect(e.message).toBe('role must be a date in YYYY-MM-DD format');
  });
});

describe('default messages (docs/behaviour.md §3.4)', () => {
  const msg = (e: ValidatorError, field: string, rest: string[] = [], r = rules()) => defaultMessage({ error: e, field, rest }, r);
  it.each([
    [err('', 'required', { missingProperty: 'name' }), 'name', [], 'name is required'],
    [err('/name', 'type', { type: 'string' }), 'name', [], 'name must be a non-empty string'],
    [err('/content', 'type', { type: 'string' }), 'content', [], 'content must be a string'],
    [err('/items', 'type', { type: 'array' }), 'items', [], 'items must be an array of strings'],
    [err('/items/2', 'type', { type: 'string' }), 'items', ['2'], 'items[2] must be a string'],
    [err('/items/0', 'required', { missingProperty: 'type' }), 'items', ['0'], 'items[0].type is required'],
    [err('/name', 'pattern', { pattern: '\\S' }), 'name', [], 'name is required'],
    [err('/content', 'pattern', { pattern: '\\S' }), 'content', [], 'content must be a non-empty string'],
    [err('/role', 'enum', { allowedValues: ['low', 'medium', 'high'] }), 'role', [], 'role must be one of: low, medium, high'],
    [err('/role', 'format', { format: 'date' }), 'role', [], 'role must be a date in YYYY-MM-DD format'],
    [err('/items', 'minItems', { limit: 1 }), 'items', [], 'items must be a non-empty array'],
    [err('/content/a', 'type', { type: 'string' }), 'content', ['a'], 'content.a must be a string'],
    [err('/content', 'type', { type: ['object'] }), 'content', [], 'content must be an object'],
  ])('%o → %s', (e, field, rest, expected) => {
    expect(msg(e, field as string, rest as string[])).toBe(expected);
  });
});
