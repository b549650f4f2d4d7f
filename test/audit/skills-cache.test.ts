/** docs/behaviour.md §7 skills cache semantics (§7.3) through HTTP on the real server. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../api/harness.js';
import { testConfig } from '../support/server.js';
import { startAudit, type AuditServer } from './helpers.js';

let s: AuditServer;
let root: string;

function write(id: string, manifest: unknown, md?: string) {
  fs.mkdirSync(path.join(root, id), { recursive: true });
  fs.writeFileSync(path.join(root, id, 'manifest.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  if (md !== undefined) fs.writeFileSync(path.join(root, id, 'skill.md'), md);
}

beforeAll(async () => {
  const config = testConfig();
  root = config.skillsDir;
  // SKILLS_DIR does not exist at start: [] and no error.
  s = await startAudit({ config });
});
afterAll(async () => {
  await s.close();
});

describe('§7.3 cache', () => {
  it('missing SKILLS_DIR → 200 []; created later → listed at once', async () => {
    expect(await s.ok('GET', '/api/skills')).toEqual([]);
    expect(await s.ok('GET', '/api/skills/role/worker')).toEqual([]);
    write('maestro-worker', { name: 'W', version: '2.0.0', description: 'd', type: 'role' }, 'do work');
    expect(await s.ok('GET', '/api/skills')).toEqual([{ id: 'maestro-worker', name: 'W', description: 'd', type: 'role', version: '2.0.0' }]);
  });

  it('an edit of a loaded skill is invisible to list, get and role until reload', async () => {
    expect((await s.ok('GET', '/api/skills/maestro-worker')).instructions).toBe('do work');
    write('maestro-worker', { name: 'W2', version: '3.0.0' }, 'new text');
    expect((await s.ok('GET', '/api/skills'))[0].name).toBe('W');
    expect(await s.ok('GET', '/api/skills/maestro-worker')).toMatchObject({ name: 'W', instructions: 'do work' });
    expect((await s.ok('GET', '/api/skills/role/worker'))[0].name).toBe('W');
    const r = await s.ok('POST', '/api/skills/maestro-worker/reload');
    expect(r).toEqual({ id: 'maestro-worker', name: 'W2', description: '', type: 'system', version: '3.0.0', reloaded: true });
    expect(await s.ok('GET', '/api/skills/maestro-worker')).toMatchObject({ name: 'W2', instructions: 'new text' });
    expect((await s.ok('GET', '/api/skills'))[0].name).toBe('W2');
  });

  it('a removed directory disappears from the list at once, but get/role serve the cache until reload', async () => {
    write('maestro-cli', { name: 'CLI' });
    expect((await s.ok('GET', '/api/skills/role/orchestrator')).map((x: any) => x.id)).toEqual(['maestro-cli']);
    fs.rmSync(path.join(root, 'maestro-cli'), { recursive: true });
    expect((await s.ok('GET', '/api/skills')).map((x: any) => x.id)).toEqual(['maestro-worker']);
    expect((await s.ok('GET', '/api/skills/maestro-cli')).name).toBe('CLI');
    expect((await s.ok('GET', '/api/skills/role/worker')).map((x: any) => x.id)).toEqual(['maestro-cli', 'maestro-worker']);
    expectError(await s.raw('POST', '/api/skills/maestro-cli/reload'), 404, 'NOT_FOUND');
    // The cache entry stays dropped.
    expectError(await s.raw('GET', '/api/skills/maestro-cli'), 404, 'NOT_FOUND');
    expect((await s.ok('GET', '/api/skills/role/worker')).map((x: any) => x.id)).toEqual(['maestro-worker']);
    // Coming back: loaded fresh on the next access.
    write('maestro-cli', { name: 'CLI again' });
    expect((await s.ok('GET', '/api/skills/maestro-cli')).name).toBe('CLI again');
  });

  it('failed loads are not cached: a broken manifest that gets fixed is served on the next access', async () => {
    write('broken', '{ nope');
    expectError(await s.raw('GET', '/api/skills/broken'), 404, 'NOT_FOUND');
    expect((await s.ok('GET', '/api/skills')).map((x: any) => x.id)).not.toContain('broken');
    write('broken', { name: 'Fixed' });
    expect((await s.ok('GET', '/api/skills/broken')).name).toBe('Fixed');
    expect((await s.ok('GET', '/api/skills')).map((x: any) => x.id)).toContain('broken');
  });

  it('a missing skill.md gives instructions "" and is cached like the rest', async () => {
    write('nomd', { name: 'No md' });
    expect((await s.ok('GET', '/api/skills/nomd')).instructions).toBe('');
    fs.writeFileSync(path.join(root, 'nomd', 'skill.md'), 'later');
    expect((await s.ok('GET', '/api/skills/nomd')).instructions).toBe('');
    await s.ok('POST', '/api/skills/nomd/reload');
    expect((await s.ok('GET', '/api/skills/nomd')).instructions).toBe('later');
  });

  it('hidden dirs, plain files and dirs without manifest are not skills; SKILLS_DIR is never written', async () => {
    write('.hidden', { name: 'H' });
    fs.writeFileSync(path.join(root, 'file.json'), '{}');
    fs.mkdirSync(path.join(root, 'empty'));
    const before = fs.readdirSync(root, { recursive: true }).map(String).sort();
    const ids = (await s.ok('GET', '/api/skills')).map((x: any) => x.id);
    expect(ids).toEqual([...ids].sort());
    expect(ids.some((x: string) => ['.hidden', 'file.json', 'empty'].includes(x))).toBe(false);
    expectError(await s.raw('GET', '/api/skills/empty'), 404, 'NOT_FOUND');
    for (const id of ids) await s.ok('POST', `/api/skills/${id}/reload`);
    expect(fs.readdirSync(root, { recursive: true }).map(String).sort()).toEqual(before);
    expect(await s.drain()).toEqual([]);
  });
});
