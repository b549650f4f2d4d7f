/** Nothing outside codegen/ and test/ compiles a schema at run time (DESIGN §1: validators are precompiled). */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers.js';

const SKIP = new Set(['node_modules', '.git', 'codegen', 'test', 'coverage', '.data']);
const EXTENSIONS = /\.(ts|js|mjs|cjs|mts|cts)$/;

function sourceFiles(dir: string, top = true): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (top && SKIP.has(entry.name)) return [];
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full, false);
    return EXTENSIONS.test(entry.name) ? [full] : [];
  });
}

describe('no run-time schema compilation', () => {
  it('no `new Ajv` or `.compile(` outside codegen/ and test/', () => {
    const files = sourceFiles(REPO);
    expect(files.some((f) => f.includes(`${path.sep}generated${path.sep}`))).toBe(true);
    const offenders = files.filter((f) => /new\s+Ajv|\.compile\(/.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(REPO, f));
    expect(offenders).toEqual([]);
  });
});
