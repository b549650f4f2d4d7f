/**
 * The repository carries its own behaviour reference (docs/behaviour.md §14.1): nothing in a tracked file points
 * outside the repository, every citation `docs/behaviour.md §N` names a heading of docs/behaviour.md, and every
 * relative Markdown link leads to a file of the repository.
 *
 * The forbidden strings are assembled from pieces below so that this file does not contain them itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const BEHAVIOUR = 'docs/behaviour.md';

/** Every git-tracked file that exists in the working tree and is text (no NUL byte), with its content. */
function trackedTextFiles(): Map<string, string> {
  const names = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter((name) => name !== '');
  const out = new Map<string, string>();
  for (const name of names) {
    const full = path.join(root, name);
    if (!existsSync(full)) continue; // deleted in the working tree, not yet committed
    const bytes = readFileSync(full);
    if (bytes.includes(0)) continue;
    out.set(name, bytes.toString('utf8'));
  }
  return out;
}

/** Strings that point outside the repository: the old external reference and paths that climb out of it. */
const FORBIDDEN: readonly string[] = [
  'CONTRACT' + ' §',
  'CONTRACT' + '.md',
  'shared' + '/contract',
  '..' + '/shared',
  '/' + 'work/',
];

/** `path:line: the line` for every occurrence of a forbidden string. */
function forbiddenHits(files: Map<string, string>): string[] {
  const hits: string[] = [];
  for (const [name, text] of files) {
    if (!FORBIDDEN.some((s) => text.includes(s))) continue;
    text.split('\n').forEach((line, i) => {
      for (const s of FORBIDDEN) if (line.includes(s)) hits.push(`${name}:${i + 1}: ${JSON.stringify(s)} in ${line.trim().slice(0, 160)}`);
    });
  }
  return hits;
}

/** Section numbers of the headings of docs/behaviour.md: `## 5. Storage` → 5, `### 5.3 Migrations …` → 5.3. */
function headingNumbers(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const line of markdown.split('\n')) {
    const m = /^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s/.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

// `docs/behaviour.md §5.3`, also across a comment or YAML line break, followed by more sections such as
// `, §5.4`, `/§3.3` or `–§5.6`.
const CITATION = /docs\/behaviour\.md(?:\s+(?:(?:\*|\/\/|#)\s+)?)§(\d+(?:\.\d+)*)((?:\s*(?:,|\/|–|and)\s*§\d+(?:\.\d+)*)*)/g;

/** `path:line: §N` for every cited section that is not a heading. */
function unknownCitations(files: Map<string, string>, headings: Set<string>): string[] {
  const bad: string[] = [];
  for (const [name, text] of files) {
    for (const m of text.matchAll(CITATION)) {
      const sections = [m[1]!, ...[...m[2]!.matchAll(/§(\d+(?:\.\d+)*)/g)].map((x) => x[1]!)];
      const line = text.slice(0, m.index).split('\n').length;
      for (const section of sections) if (!headings.has(section)) bad.push(`${name}:${line}: §${section}`);
    }
  }
  return bad;
}

/** Markdown without fenced code blocks and inline code, where link syntax is only an example. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** `path: target (why)` for every relative link of a Markdown file that is missing or leaves the repository. */
function brokenLinks(files: Map<string, string>, exists: (file: string) => boolean): string[] {
  const bad: string[] = [];
  for (const [name, text] of files) {
    if (!name.endsWith('.md')) continue;
    const body = withoutCode(text);
    const targets = [
      ...[...body.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
      ...[...body.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!),
    ];
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#') || target.startsWith('//')) continue;
      const file = decodeURIComponent(target.split('#')[0]!.split('?')[0]!);
      if (file === '') continue;
      const resolved = path.posix.normalize(file.startsWith('/') ? file.slice(1) : path.posix.join(path.posix.dirname(name), file));
      if (resolved === '..' || resolved.startsWith('../')) bad.push(`${name}: ${target} (leaves the repository)`);
      else if (!exists(resolved)) bad.push(`${name}: ${target} (no such file)`);
    }
  }
  return bad;
}

describe('the repository carries its own behaviour reference', () => {
  const files = trackedTextFiles();
  const headings = headingNumbers(readFileSync(path.join(root, BEHAVIOUR), 'utf8'));

  it('reads the tracked files and the headings of docs/behaviour.md', () => {
    expect(files.has(BEHAVIOUR)).toBe(true);
    expect(files.size).toBeGreaterThan(100);
    for (const section of ['0', '0.1', '2.0.1', '2.2', '5.3', '5.4', '11.5', '14.1']) expect(headings, section).toContain(section);
  });

  it('no tracked text file points outside the repository', () => {
    expect(forbiddenHits(files)).toEqual([]);
  });

  it('every docs/behaviour.md citation names a heading of docs/behaviour.md', () => {
    expect(unknownCitations(files, headings)).toEqual([]);
  });

  it('every relative Markdown link points at a file of the repository', () => {
    expect(brokenLinks(files, (file) => existsSync(path.join(root, file)))).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const headings = headingNumbers('# T\n\n## 5. Storage\n\n### 5.3 Migrations\n\n#### 2.0.1 Routing\n');

  it('parse heading numbers', () => {
    expect([...headings].sort()).toEqual(['2.0.1', '5', '5.3']);
  });

  it('find forbidden strings', () => {
    const files = new Map([
      ['a.ts', `// see ${FORBIDDEN[0]}5.3`],
      ['b.md', `[x](${FORBIDDEN[3]}/y.md)`],
      ['c.ts', 'nothing here'],
    ]);
    expect(forbiddenHits(files).map((hit) => hit.split(':')[0])).toEqual(['a.ts', 'b.md']);
  });

  it('find citations of missing sections, also in lists and across comment line breaks', () => {
    const B = 'docs/behaviour' + '.md';
    const files = new Map([
      // Built from pieces, or this file would cite a missing section itself.
      ['a.ts', `// ${B} §5.3, §5.9 and §2.0.1.`],
      ['b.ts', `/* (${B}\n * §7.1) */`],
      ['c.yaml', `description: ${B} §5 and ${B} §5.3–§6`],
    ]);
    expect(unknownCitations(files, headings)).toEqual(['a.ts:1: §5.9', 'b.ts:1: §7.1', 'c.yaml:1: §6']);
  });

  it('find broken relative links, ignore code, anchors and URLs', () => {
    const files = new Map([
      ['docs/a.md', '[ok](b.md) [up](../README.md#x) [gone](missing.md) [out](../../x.md) [web](https://e.org) [anchor](#top)\n`[code](nope.md)`\n```\n[fenced](nope.md)\n```\n[ref]: ./c.md\n'],
    ]);
    const exists = (file: string) => ['docs/b.md', 'README.md'].includes(file);
    expect(brokenLinks(files, exists)).toEqual([
      'docs/a.md: missing.md (no such file)',
      'docs/a.md: ../../x.md (leaves the repository)',
      'docs/a.md: ./c.md (no such file)',
    ]);
  });
});
