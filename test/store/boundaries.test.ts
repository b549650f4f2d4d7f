/**
 * The store's module boundaries (src/store/README.md): the store raises only domain errors (never anything from
 * src/http), its contract (api.ts) is types only so that another implementation depends on no part of the file
 * store, and the parts that hold no files (state, transactions, pipeline, round plan) do not reach the
 * filesystem themselves. Read from the source, so that a new import that breaks a boundary fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DataStore } from '../../src/store/index.js';
import { Store } from '../../src/store/index.js';
import { cleanupTempDirs, project, tempDir } from './helpers.js';

const STORE_DIR = path.resolve(import.meta.dirname, '../../src/store');

/** Every module specifier a source file imports or re-exports. */
function importsOf(file: string): { specifier: string; typeOnly: boolean }[] {
  const source = fs.readFileSync(path.join(STORE_DIR, file), 'utf8');
  const out: { specifier: string; typeOnly: boolean }[] = [];
  for (const m of source.matchAll(/^(import|export)(\s+type)?\s[^;]*?\sfrom\s+'([^']+)'/gms)) {
    out.push({ specifier: m[3]!, typeOnly: m[2] !== undefined });
  }
  for (const m of source.matchAll(/^import\s+'([^']+)'/gm)) out.push({ specifier: m[1]!, typeOnly: false });
  return out;
}

const storeFiles = fs.readdirSync(STORE_DIR).filter((f) => f.endsWith('.ts'));

afterEach(cleanupTempDirs);

describe('src/store module boundaries', () => {
  it('reads the imports it checks (the parser finds the imports of store.ts)', () => {
    const specifiers = importsOf('store.ts').map((i) => i.specifier);
    expect(specifiers).toContain('./commit-pipeline.js');
    expect(specifiers).toContain('node:fs/promises');
  });

  it('nothing in src/store imports from src/http (domain errors live in the domain)', () => {
    for (const file of storeFiles) {
      for (const { specifier } of importsOf(file)) {
        const target = path.resolve(STORE_DIR, specifier);
        expect(target.startsWith(path.resolve(STORE_DIR, '../http')), `${file} imports ${specifier}`).toBe(false);
      }
    }
  });

  it('api.ts (the DataStore contract) imports types only', () => {
    const imports = importsOf('api.ts');
    expect(imports.length).toBeGreaterThan(0);
    for (const i of imports) expect(i.typeOnly, `api.ts imports ${i.specifier} for its values`).toBe(true);
  });

  it('state, transactions, the pipeline and the round plan never touch the filesystem themselves', () => {
    for (const file of ['state.ts', 'transaction.ts', 'commit-pipeline.ts', 'round-plan.ts', 'touch.ts', 'api.ts']) {
      for (const { specifier } of importsOf(file)) {
        expect(/^(node:)?fs(\/|$)/.test(specifier), `${file} imports ${specifier}`).toBe(false);
        expect(['./io.js', './atomic-file.js'], `${file} imports ${specifier}`).not.toContain(specifier);
      }
    }
  });

  it('the file store is a DataStore', async () => {
    const store: DataStore = await Store.open({ dataDir: await tempDir() });
    try {
      const id = await store.mutate((tx) => {
        const created = tx.newId('proj');
        tx.putProject(project(created, { name: 'p' }));
        return created;
      });
      expect(store.getProject(id)?.name).toBe('p');
      expect(store.listProjects().map((p) => p.id)).toEqual([id]);
      expect(store.quarantinedCount).toBe(0);
    } finally {
      await store.close();
    }
  });
});
