/**
 * generated/validators/ has no repeats: every schema file is compiled once, into one function of the single
 * standalone module, and a `$ref` to it is a call (codegen/emit-validators.ts). So an edit of a shared schema
 * changes one generated validator file, not every validator that references it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../../codegen/generate.js';
import { listTree } from '../../codegen/tree.js';
import { REPO } from './helpers.js';

const generatedDir = path.join(REPO, 'generated/validators');
const moduleText = fs.readFileSync(path.join(generatedDir, 'index.js'), 'utf8');
const schemaFiles = listTree(path.join(REPO, 'schemas')).filter((f) => f.endsWith('.json'));
const schemaIds = schemaFiles.map((f) => (JSON.parse(fs.readFileSync(path.join(REPO, 'schemas', f), 'utf8')) as { $id: string }).$id);

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe('generated/validators layout', () => {
  it('is one standalone module, its typings and the shared validator type', () => {
    expect(listTree(generatedDir)).toEqual(['compiled-validator.ts', 'index.d.ts', 'index.js']);
  });

  it('compiles each schema file exactly once: one function and one schema constant per $id', () => {
    expect(schemaIds.length).toBeGreaterThan(60);
    for (const id of schemaIds) {
      expect(count(moduleText, `/*# sourceURL="${id}" */`), id).toBe(1);
      expect(count(moduleText, `"$id":"${id}"`), id).toBe(1);
    }
    expect(count(moduleText, '\nfunction validate')).toBe(schemaIds.length);
  });

  it('a shared schema is called, not inlined: the schemas referencing common/timestamp.json call its one function', () => {
    const referencing = schemaFiles.filter((f) => fs.readFileSync(path.join(REPO, 'schemas', f), 'utf8').includes('common/timestamp.json"'));
    expect(referencing.length).toBeGreaterThan(10);
    const id = schemaIds[schemaFiles.indexOf('common/timestamp.json')];
    // `function validate35(data, {…}={}){` directly followed by the schema's sourceURL comment
    const at = moduleText.indexOf(`/*# sourceURL="${id}" */`);
    const name = /function (validate\d+)\([^\n]*\n$/.exec(moduleText.slice(moduleText.lastIndexOf('\nfunction ', at), at))?.[1];
    expect(name).toBeDefined();
    // its definition plus at least one call per referencing schema (no copies of its code elsewhere)
    expect(count(moduleText, `${name}(`)).toBeGreaterThan(referencing.length);
  });
});

describe('a one-line edit of a shared schema', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function generateWith(edit?: (timestamp: Record<string, unknown>) => void): Promise<Map<string, string>> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-validators-'));
    dirs.push(dir);
    for (const sub of ['schemas', 'spec']) fs.cpSync(path.join(REPO, sub), path.join(dir, sub), { recursive: true });
    if (edit) {
      const file = path.join(dir, 'schemas/common/timestamp.json');
      const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      edit(schema);
      fs.writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
    }
    return generate({ root: dir, promptsDir: path.join(REPO, 'templates/prompts') });
  }

  function changedValidatorFiles(before: Map<string, string>, after: Map<string, string>): string[] {
    const paths = new Set([...before.keys(), ...after.keys()].filter((p) => p.startsWith('validators/')));
    return [...paths].filter((p) => before.get(p) !== after.get(p)).sort();
  }

  it('a new minimum of common/timestamp.json changes only validators/index.js; a reworded description changes none', async () => {
    const base = await generateWith();
    const described = await generateWith((s) => {
      s.description = `${String(s.description)} Edited.`;
    });
    const minimum = await generateWith((s) => {
      s.minimum = 1;
    });
    // descriptions are prose: the validators leave them out (codegen/emit-validators.ts `withoutProse`)
    expect(changedValidatorFiles(base, described)).toEqual([]);
    expect(changedValidatorFiles(base, minimum)).toEqual(['validators/index.js']);
    // and inside it the change is local: one `limit: 0` check of timestamp.json became `limit: 1`
    const limits = (text: string) => count(text, 'params:{comparison: ">=", limit: 1}');
    expect(limits(minimum.get('validators/index.js')!) - limits(base.get('validators/index.js')!)).toBe(1);
  }, 120_000);
});
