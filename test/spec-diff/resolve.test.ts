/** $ref resolution on both sides: file refs between spec/ and schemas/, pointers, $defs, $id, anchors, cycles. */
import { describe, expect, it } from 'vitest';
import { compareTrees } from '../../codegen/spec-diff/compare.js';
import { Resolver } from '../../codegen/spec-diff/resolve.js';
import { LoadError, type SpecTree } from '../../codegen/spec-diff/types.js';

function tree(files: Record<string, unknown>): SpecTree {
  return { label: 'test', files: new Map(Object.entries(structuredClone(files))) };
}

const ID = 'https://maestro.local/schemas';

function api(schema: unknown, components: Record<string, unknown> = {}) {
  return {
    openapi: '3.1.0',
    info: { title: 't', version: '1.0.0' },
    paths: { '/x': { get: { operationId: 'getX', responses: { '200': { description: 'ok', content: { 'application/json': { schema } } } } } } },
    components,
  };
}

describe('Resolver.schema', () => {
  it('follows a spec → schemas file ref, then a schemas → schemas ref resolved against the $id', () => {
    const r = new Resolver(tree({
      'spec/openapi.yaml': api({ $ref: '../schemas/entities/task.json' }),
      'schemas/entities/task.json': { $id: `${ID}/entities/task.json`, type: 'object', properties: { status: { $ref: '../common/status.json' } } },
      'schemas/common/status.json': { $id: `${ID}/common/status.json`, type: 'string', enum: ['a', 'b'] },
    }));
    const s = r.schema({ $ref: '../schemas/entities/task.json' }, r.ctxFor('spec/openapi.yaml'));
    expect(s).toEqual({ type: ['object'], properties: { status: { type: ['string'], enum: ['a', 'b'] } } });
  });

  it('resolves JSON pointers with ~0/~1 escapes, $defs, absolute $id refs and $anchor', () => {
    const r = new Resolver(tree({
      'spec/openapi.yaml': api({}, { schemas: { 'a/b': { type: 'integer' }, 'c~d': { type: 'boolean' } } }),
      'schemas/common/defs.json': {
        $id: `${ID}/common/defs.json`,
        $defs: { name: { type: 'string', minLength: 1 }, tagged: { $anchor: 'tag', type: 'number' } },
      },
    }));
    const ctx = r.ctxFor('spec/openapi.yaml');
    expect(r.schema({ $ref: '#/components/schemas/a~1b' }, ctx)).toEqual({ type: ['integer'] });
    expect(r.schema({ $ref: '#/components/schemas/c~0d' }, ctx)).toEqual({ type: ['boolean'] });
    expect(r.schema({ $ref: '../schemas/common/defs.json#/$defs/name' }, ctx)).toEqual({ type: ['string'], minLength: 1 });
    expect(r.schema({ $ref: `${ID}/common/defs.json#/$defs/name` }, ctx)).toEqual({ type: ['string'], minLength: 1 });
    expect(r.schema({ $ref: '../schemas/common/defs.json#tag' }, ctx)).toEqual({ type: ['number'] });
  });

  it('merges $ref siblings and allOf, turns nullable into a null type and const into an enum', () => {
    const r = new Resolver(tree({
      'spec/openapi.yaml': api({}),
      'schemas/responses/error.json': {
        $id: `${ID}/responses/error.json`, type: 'object', required: ['code'],
        properties: { code: { type: 'string' }, message: { type: 'string' } },
      },
    }));
    const ctx = r.ctxFor('spec/openapi.yaml');
    const narrowed = r.schema({ allOf: [{ $ref: '../schemas/responses/error.json' }, { properties: { code: { enum: ['NOT_FOUND'] } }, required: ['message'] }] }, ctx);
    expect(narrowed).toEqual({
      type: ['object'], required: ['code', 'message'],
      properties: { code: { type: ['string'], enum: ['NOT_FOUND'] }, message: { type: ['string'] } },
    });
    expect(r.schema({ $ref: '../schemas/responses/error.json', description: 'the error' }, ctx).description).toBe('the error');
    expect(r.schema({ type: 'string', nullable: true }, ctx)).toEqual({ type: ['null', 'string'] });
    expect(r.schema({ const: 'ping' }, ctx)).toEqual({ enum: ['ping'] });
  });

  it('cuts cycles with a $circular marker instead of recursing forever', () => {
    const r = new Resolver(tree({
      'spec/openapi.yaml': api({}),
      'schemas/entities/node.json': {
        $id: `${ID}/entities/node.json`, type: 'object',
        properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } }, other: { $ref: 'other.json' } },
      },
      'schemas/entities/other.json': { $id: `${ID}/entities/other.json`, type: 'object', properties: { back: { $ref: 'node.json' } } },
    }));
    const s = r.schema({ $ref: '../schemas/entities/node.json' }, r.ctxFor('spec/openapi.yaml'));
    expect(s.properties.children.items).toEqual({ $circular: 'schemas/entities/node.json#/' });
    expect(s.properties.other.properties.back).toEqual({ $circular: 'schemas/entities/node.json#/' });
  });

  it('throws a LoadError naming the file for a $ref to a missing file or pointer', () => {
    const r = new Resolver(tree({ 'spec/openapi.yaml': api({}) }));
    const ctx = r.ctxFor('spec/openapi.yaml');
    expect(() => r.schema({ $ref: '../schemas/nope.json' }, ctx)).toThrow(LoadError);
    expect(() => r.schema({ $ref: '../schemas/nope.json' }, ctx)).toThrow(/spec\/openapi\.yaml: cannot resolve \$ref "\.\.\/schemas\/nope\.json"/);
    expect(() => r.schema({ $ref: '#/components/schemas/Missing' }, ctx)).toThrow(/points to nothing/);
  });
});

describe('comparison through refs', () => {
  const node = (nameType: string) => ({
    $id: `${ID}/entities/node.json`, type: 'object', additionalProperties: false,
    properties: { name: { type: nameType }, children: { type: 'array', items: { $ref: '#' } } },
  });

  it('finds a change inside a recursive schema once and terminates', () => {
    const before = tree({ 'spec/openapi.yaml': api({ $ref: '../schemas/entities/node.json' }), 'schemas/entities/node.json': node('string') });
    const after = tree({ 'spec/openapi.yaml': api({ $ref: '../schemas/entities/node.json' }), 'schemas/entities/node.json': node('integer') });
    const { changes } = compareTrees(before, after);
    expect(changes.map((c) => [c.rule, c.location])).toEqual([['response-type-changed', 'GET /x response.200.body.name']]);
  });

  it('sees a change made in a schema file that only a referenced schema references', () => {
    const files = (values: string[]) => ({
      'spec/openapi.yaml': api({ $ref: '#/components/schemas/Wrapper' }, { schemas: { Wrapper: { type: 'object', properties: { item: { $ref: '../schemas/entities/item.json' } } } } }),
      'schemas/entities/item.json': { $id: `${ID}/entities/item.json`, type: 'object', properties: { kind: { $ref: '../common/kind.json' } } },
      'schemas/common/kind.json': { $id: `${ID}/common/kind.json`, type: 'string', enum: values },
    });
    const { changes } = compareTrees(tree(files(['a'])), tree(files(['a', 'b'])));
    expect(changes.map((c) => [c.severity, c.rule, c.location])).toEqual([
      ['breaking', 'response-enum-value-added', 'GET /x response.200.body.item.kind'],
    ]);
  });

  it('reports nothing when only the way a schema is referenced changes (inline → $ref)', () => {
    const inline = tree({ 'spec/openapi.yaml': api({ type: 'object', properties: { id: { type: 'string' } } }) });
    const byRef = tree({
      'spec/openapi.yaml': api({ $ref: '../schemas/entities/thing.json' }),
      'schemas/entities/thing.json': { $id: `${ID}/entities/thing.json`, type: 'object', properties: { id: { type: 'string' } } },
    });
    expect(compareTrees(inline, byRef).changes).toEqual([]);
  });
});
