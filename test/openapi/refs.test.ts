/** Every `$ref` of spec/openapi.yaml — and of the schema files it reaches — points at something that exists. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectRefs, loadSpec, repoRoot, resolvePointer, specFile, type Json } from './spec-helpers.js';

const doc = loadSpec();

describe('spec/openapi.yaml references', () => {
  const refs = collectRefs(doc);

  it('has local and file references', () => {
    expect(refs.some((r) => r.ref.startsWith('#/components/responses/'))).toBe(true);
    expect(refs.some((r) => r.ref.startsWith('../schemas/'))).toBe(true);
  });

  it('resolves every local reference', () => {
    const broken = refs.filter((r) => r.ref.startsWith('#') && resolvePointer(doc, r.ref) === undefined);
    expect(broken).toEqual([]);
  });

  it('points file references only into schemas/, by relative path', () => {
    const outside = refs.filter((r) => !r.ref.startsWith('#') && !/^\.\.\/schemas\/[a-z]+\/[a-z0-9-]+\.json$/.test(r.ref));
    expect(outside).toEqual([]);
  });

  it('resolves every file reference, transitively through the schema files', () => {
    const missing: string[] = [];
    const seen = new Set<string>();
    const queue: Array<{ from: string; ref: string }> = refs
      .filter((r) => !r.ref.startsWith('#'))
      .map((r) => ({ from: specFile, ref: r.ref }));
    while (queue.length > 0) {
      const { from, ref } = queue.shift()!;
      const [target = '', fragment] = ref.split('#');
      const file = target === '' ? from : path.resolve(path.dirname(from), target);
      if (!existsSync(file)) {
        missing.push(`${path.relative(repoRoot, from)} → ${ref}`);
        continue;
      }
      const content = JSON.parse(readFileSync(file, 'utf8')) as Json;
      if (fragment && resolvePointer(content, `#${fragment}`) === undefined) {
        missing.push(`${path.relative(repoRoot, from)} → ${ref} (fragment)`);
      }
      if (seen.has(file)) continue;
      seen.add(file);
      for (const inner of collectRefs(content)) queue.push({ from: file, ref: inner.ref });
    }
    expect(missing).toEqual([]);
    expect(seen.size).toBeGreaterThan(20);
  });
});
