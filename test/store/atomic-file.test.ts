import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempFileName, removeFileDurable, syncDir, writeFileAtomic } from '../../src/store/atomic-file.js';
import { serializeEntity } from '../../src/store/entities.js';
import { cleanupTempDirs, tempDir } from './helpers.js';

afterEach(cleanupTempDirs);

describe('writeFileAtomic (docs/behaviour.md §5.4)', () => {
  it('writes the exact content and leaves no temp file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a.json');
    const value = { id: 'x', nested: { list: [1, 'two', null] }, text: 'ünïcödé \u0001' };
    await writeFileAtomic(path, serializeEntity(value));
    const text = await readFile(path, 'utf8');
    expect(text).toBe(`${JSON.stringify(value, null, 2)}\n`);
    expect(JSON.parse(text)).toEqual(value);
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('writes large multi-byte content completely (bytes, not characters, are counted)', async () => {
    const dir = await tempDir();
    const path = join(dir, 'big.json');
    const text = 'ä€😀x'.repeat(400_000); // ~4 MB of UTF-8, far more bytes than characters
    await writeFileAtomic(path, text);
    const bytes = await readFile(path);
    expect(bytes.length).toBe(Buffer.byteLength(text, 'utf8'));
    expect(bytes.toString('utf8')).toBe(text);
    expect(await readdir(dir)).toEqual(['big.json']);
  });

  it('replaces an existing file whole', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a.json');
    await writeFile(path, 'x'.repeat(10_000));
    await writeFileAtomic(path, '{"short":true}');
    expect(await readFile(path, 'utf8')).toBe('{"short":true}');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('many concurrent writes of one path end with one complete content and no temp files', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a.json');
    const contents = Array.from({ length: 30 }, (_, i) => serializeEntity({ i, pad: 'p'.repeat(i * 100) }));
    await Promise.all(contents.map((c) => writeFileAtomic(path, c)));
    expect(contents).toContain(await readFile(path, 'utf8'));
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('fails when the folder is missing, and creates nothing', async () => {
    const dir = await tempDir();
    await expect(writeFileAtomic(join(dir, 'missing', 'a.json'), '{}')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails when the target is a directory and leaves no temp file behind', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'a.json'));
    await expect(writeFileAtomic(join(dir, 'a.json'), '{}')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('temp names do not end in .json and are recognised', () => {
    expect(isTempFileName('.a.json.123.abcdef.tmp')).toBe(true);
    expect(isTempFileName('a.json')).toBe(false);
    expect(isTempFileName('.a.json')).toBe(false);
    expect(isTempFileName('x.tmp')).toBe(false);
  });
});

describe('removeFileDurable', () => {
  it('removes a file and reports it; a missing file is fine', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a.json');
    await writeFile(path, '{}');
    expect(await removeFileDurable(path)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
    expect(await removeFileDurable(path)).toBe(false);
  });

  it('throws on errors other than "missing"', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'sub'));
    await expect(removeFileDurable(join(dir, 'sub'))).rejects.toThrow();
  });
});

describe('syncDir', () => {
  it('syncs an existing folder and throws for a missing one', async () => {
    const dir = await tempDir();
    await expect(syncDir(dir)).resolves.toBeUndefined();
    await expect(syncDir(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
