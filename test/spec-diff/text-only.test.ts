/**
 * Text-only edits inside keywords the engine does not walk into (`if`/`then`/`else`, `not`, `allOf`, …) are
 * `description-changed` (info), while a real change there stays a breaking `*-constraint-changed`.
 */
import { describe, expect, it } from 'vitest';
import { compareTrees } from '../../codegen/spec-diff/compare.js';
import type { SpecTree } from '../../codegen/spec-diff/types.js';

type Body = Record<string, unknown>;

function body(text: string, over: { elseType?: string; thenConst?: unknown } = {}): Body {
  return {
    type: 'object',
    description: `request body (${text})`,
    properties: { source: { type: 'string' }, description: { type: 'string', description: `a field named description (${text})` } },
    if: { properties: { source: { const: 'session' } }, required: ['source'] },
    then: { properties: { status: { type: 'string', description: `only status (${text})`, ...(over.thenConst === undefined ? {} : { const: over.thenConst }) } } },
    else: {
      title: `Else (${text})`,
      properties: { description: { type: over.elseType ?? 'string', description: `every field (${text})`, examples: [text] } },
    },
  };
}

function tree(schema: Body): SpecTree {
  const doc = {
    openapi: '3.1.0',
    info: { title: 'fixture', version: '1.0.0' },
    paths: {
      '/api/things': {
        post: {
          operationId: 'createThing',
          requestBody: { required: true, content: { 'application/json': { schema } } },
          responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
  };
  return { label: 't', files: new Map([['spec/openapi.yaml', doc]]) };
}

const report = (before: Body, after: Body) =>
  compareTrees(tree(before), tree(after)).changes.map((c) => [c.severity, c.rule, c.location]);

describe('text inside if/then/else', () => {
  it('a changed description, title or example there is info only', () => {
    const changes = report(body('old'), body('new'));
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.every(([severity, rule]) => severity === 'info' && rule === 'description-changed')).toBe(true);
    expect(changes).toContainEqual(['info', 'description-changed', 'POST /api/things request.body']);
  });

  it('an x- extension added there (x-apply on an else property) is info only', () => {
    const withExtension = body('same');
    const elseProps = (withExtension.else as { properties: Record<string, Record<string, unknown>> }).properties;
    elseProps.description!['x-apply'] = 'handler';
    expect(report(body('same'), withExtension)).toEqual([['info', 'extension-changed', 'POST /api/things request.body']]);
  });

  it('a changed type of a property named "description" there is still a breaking constraint change', () => {
    expect(report(body('same'), body('same', { elseType: 'integer' }))).toContainEqual([
      'breaking',
      'request-constraint-changed',
      'POST /api/things request.body',
    ]);
  });

  it('a changed const whose value is an object with a "description" key is still a breaking constraint change', () => {
    expect(report(body('same', { thenConst: { description: 'a' } }), body('same', { thenConst: { description: 'b' } }))).toContainEqual([
      'breaking',
      'request-constraint-changed',
      'POST /api/things request.body',
    ]);
  });
});
