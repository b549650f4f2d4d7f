/**
 * Nothing in src/ restates what a schema says (issue "The spec drives everything"): no list of an enum's values
 * and no list of an object schema's property names is written by hand; src/ takes them from generated/model.
 * The check compares src/ against the schemas themselves: it parses every source file with the TypeScript
 * compiler and collects every hand-written list of string literals (array literals, union types, and chains of
 * `x === 'a' || x === 'b'`), then flags each list that is a subset of one schema's enum values (two or more) or
 * of one schema's property names (three or more). The keys of `Pick<T, …>` / `Omit<T, …>` are not lists of this
 * kind: the type checker checks them against the generated type, so a schema change cannot leave them behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Vocabulary {
  /** where it comes from, e.g. `schemas/common/task-status.json enum` */
  source: string;
  words: Set<string>;
  /** the smallest list that counts as a restatement */
  minimum: number;
}

interface LiteralList {
  where: string;
  words: string[];
}

function walkFiles(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walkFiles(full, suffix));
    else if (entry.name.endsWith(suffix)) out.push(full);
  }
  return out.sort();
}

/** Every enum (and x-value-groups list) and every `properties` key set of every schema file. */
function schemaVocabularies(): Vocabulary[] {
  const out: Vocabulary[] = [];
  for (const file of walkFiles(path.join(ROOT, 'schemas'), '.json')) {
    const rel = path.relative(ROOT, file);
    const visit = (node: unknown, at: string): void => {
      if (Array.isArray(node)) {
        node.forEach((n, i) => visit(n, `${at}/${i}`));
        return;
      }
      if (node === null || typeof node !== 'object') return;
      const obj = node as Record<string, unknown>;
      if (Array.isArray(obj.enum) && obj.enum.every((v) => typeof v === 'string')) {
        out.push({ source: `${rel}${at} enum`, words: new Set(obj.enum as string[]), minimum: 2 });
      }
      if (obj.properties !== null && typeof obj.properties === 'object' && !Array.isArray(obj.properties)) {
        const keys = Object.keys(obj.properties);
        if (keys.length >= 3) out.push({ source: `${rel}${at} properties`, words: new Set(keys), minimum: 3 });
      }
      for (const [key, value] of Object.entries(obj)) visit(value, `${at}/${key}`);
    };
    visit(JSON.parse(fs.readFileSync(file, 'utf8')), '');
  }
  return out;
}

function stringLiteral(node: ts.Node): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal)) return node.literal.text;
  return undefined;
}

/** `x === 'a'` → ['x', 'a'] */
function comparison(node: ts.Expression): [string, string] | undefined {
  const inner = ts.isParenthesizedExpression(node) ? node.expression : node;
  if (!ts.isBinaryExpression(inner)) return undefined;
  const op = inner.operatorToken.kind;
  if (op !== ts.SyntaxKind.EqualsEqualsEqualsToken && op !== ts.SyntaxKind.EqualsEqualsToken) return undefined;
  const literal = stringLiteral(inner.right) ?? stringLiteral(inner.left);
  const other = stringLiteral(inner.right) !== undefined ? inner.left : inner.right;
  return literal === undefined ? undefined : [other.getText(), literal];
}

/** Every hand-written list of string literals in one source text. */
export function literalLists(fileName: string, text: string): LiteralList[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const out: LiteralList[] = [];
  const where = (node: ts.Node): string => `${fileName}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (ts.isArrayLiteralExpression(node) || (ts.isUnionTypeNode(node) && !isPickOrOmitKeys(node))) {
      const members = ts.isArrayLiteralExpression(node) ? node.elements : node.types;
      const words = members.map(stringLiteral);
      if (words.length >= 2 && words.every((w) => w !== undefined)) out.push({ where: where(node), words: words as string[] });
    }
    // The outermost `||` chain of comparisons of one expression with literals.
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.BarBarToken && !isInsideOr(node)) {
      const leaves: ts.Expression[] = [];
      const flatten = (e: ts.Expression): void => {
        const inner = ts.isParenthesizedExpression(e) ? e.expression : e;
        if (ts.isBinaryExpression(inner) && inner.operatorToken.kind === ts.SyntaxKind.BarBarToken) {
          flatten(inner.left);
          flatten(inner.right);
        } else leaves.push(inner);
      };
      flatten(node);
      const byTarget = new Map<string, string[]>();
      for (const leaf of leaves) {
        const c = comparison(leaf);
        if (c) byTarget.set(c[0], [...(byTarget.get(c[0]) ?? []), c[1]]);
      }
      for (const words of byTarget.values()) if (words.length >= 2) out.push({ where: where(node), words });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function isPickOrOmitKeys(node: ts.UnionTypeNode): boolean {
  const parent = node.parent;
  return (
    ts.isTypeReferenceNode(parent) &&
    ['Pick', 'Omit'].includes(parent.typeName.getText()) &&
    parent.typeArguments?.[1] === node
  );
}

function isInsideOr(node: ts.Node): boolean {
  let parent = node.parent;
  while (parent && ts.isParenthesizedExpression(parent)) parent = parent.parent;
  return parent !== undefined && ts.isBinaryExpression(parent) && parent.operatorToken.kind === ts.SyntaxKind.BarBarToken;
}

/** The lists that restate a schema vocabulary, with the vocabulary they restate. */
export function restatements(lists: LiteralList[], vocabularies: Vocabulary[]): string[] {
  const found: string[] = [];
  for (const list of lists) {
    const unique = new Set(list.words);
    const match = vocabularies.find((v) => unique.size >= v.minimum && [...unique].every((w) => v.words.has(w)));
    if (match) found.push(`${list.where}: [${list.words.join(', ')}] restates ${match.source}`);
  }
  return found;
}

describe('src/ restates no schema (the spec drives everything)', () => {
  const vocabularies = schemaVocabularies();

  it('knows the schemas it compares against', () => {
    const sources = vocabularies.map((v) => v.source);
    expect(sources).toContain('schemas/common/task-status.json enum');
    expect(sources).toContain('schemas/entities/task.json properties');
    expect(vocabularies.length).toBeGreaterThan(40);
  });

  it('flags a restated enum, a restated key list and a comparison chain (the check can fail)', () => {
    const sample = [
      "const statuses = ['todo', 'in_progress', 'completed'];",
      "type Strategy = 'simple' | 'queue';",
      "const keys = ['id', 'name', 'workingDir', 'description'];",
      "const terminal = (s: string) => s === 'completed' || s === 'failed' || s === 'stopped';",
      "const fine = ['GET', 'HEAD'];",
      "const alsoFine = ['id', 'name'];",
      "const one = s === 'todo';",
      "type Checked = Pick<Task, 'id' | 'title' | 'description'>;",
    ].join('\n');
    const found = restatements(literalLists('sample.ts', sample), vocabularies);
    expect(found).toHaveLength(4);
    expect(found[0]).toMatch(/^sample\.ts:1: .*task-status(-input)?\.json/);
    expect(found[1]).toMatch(/^sample\.ts:2: .*worker-strategy\.json/);
    expect(found[2]).toMatch(/^sample\.ts:3: .*properties/);
    expect(found[3]).toMatch(/^sample\.ts:4: .*status/);
  });

  it('finds no restatement in src/', () => {
    const files = walkFiles(path.join(ROOT, 'src'), '.ts');
    expect(files.length).toBeGreaterThan(30);
    const lists = files.flatMap((file) => literalLists(path.relative(ROOT, file), fs.readFileSync(file, 'utf8')));
    expect(restatements(lists, vocabularies)).toEqual([]);
  });
});
