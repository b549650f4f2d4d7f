import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkillRegistry } from '../../src/skills/registry.js';
import { isSafeSkillId } from '../../src/skills/skill-id.js';

interface Warning {
  obj: Record<string, unknown>;
  msg: string;
}

let root: string;
let skillsDir: string;
let warnings: Warning[];
let registry: SkillRegistry;

async function addSkill(id: string, manifest: unknown, instructions?: string, dir = skillsDir): Promise<void> {
  await mkdir(path.join(dir, id), { recursive: true });
  await writeFile(path.join(dir, id, 'manifest.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  if (instructions !== undefined) await writeFile(path.join(dir, id, 'skill.md'), instructions);
}

async function snapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'maestro-skills-'));
  skillsDir = path.join(root, 'skills');
  await mkdir(skillsDir);
  warnings = [];
  registry = new SkillRegistry({ skillsDir, logger: { warn: (obj, msg) => warnings.push({ obj, msg }) } });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('SkillRegistry.list (docs/behaviour.md §7.1)', () => {
  it('lists qualifying skills sorted by id with the summary projection', async () => {
    await addSkill('zeta', { name: 'Zeta', description: 'last', type: 'custom', version: '2.0.0' }, '# Zeta');
    await addSkill('alpha', { name: 'Alpha', description: 'first', type: 'role', version: '0.1.0' }, '# Alpha');
    const list = await registry.list();
    expect(list).toEqual([
      { id: 'alpha', name: 'Alpha', description: 'first', type: 'role', version: '0.1.0' },
      { id: 'zeta', name: 'Zeta', description: 'last', type: 'custom', version: '2.0.0' },
    ]);
    expect(Object.keys(list[0])).toEqual(['id', 'name', 'description', 'type', 'version']);
  });

  it('drops a broken manifest.json, a JSON array manifest and a JSON null manifest, with warnings', async () => {
    await addSkill('good', { name: 'Good' }, 'instructions');
    await addSkill('broken', '{ "name": "Broken",');
    await addSkill('array', '[{"name":"Array"}]');
    await addSkill('null', 'null');
    expect((await registry.list()).map((s) => s.id)).toEqual(['good']);
    const warnedFor = warnings.map((w) => w.obj.skillId).sort();
    expect(warnedFor).toEqual(['array', 'broken', 'null']);
  });

  it('skips directories without manifest.json, files instead of folders and dot-directories', async () => {
    await addSkill('good', { name: 'Good' });
    await mkdir(path.join(skillsDir, 'no-manifest'));
    await writeFile(path.join(skillsDir, 'no-manifest', 'skill.md'), 'text');
    await writeFile(path.join(skillsDir, 'a-file'), '{"name":"not a skill"}');
    await addSkill('.hidden', { name: 'Hidden' });
    expect((await registry.list()).map((s) => s.id)).toEqual(['good']);
    expect(await registry.get('a-file')).toBeUndefined();
    expect(await registry.get('.hidden')).toBeUndefined();
    expect(await registry.get('no-manifest')).toBeUndefined();
  });

  it('treats a manifest.json that is a directory as unreadable (skipped with a warning)', async () => {
    await mkdir(path.join(skillsDir, 'weird', 'manifest.json'), { recursive: true });
    expect(await registry.list()).toEqual([]);
    expect(await registry.get('weird')).toBeUndefined();
    expect(warnings.some((w) => w.obj.skillId === 'weird')).toBe(true);
  });

  it('gives [] and a warning for a missing root, and never creates it', async () => {
    const missing = path.join(root, 'does-not-exist');
    const logged: string[] = [];
    const reg = new SkillRegistry({ skillsDir: missing, logger: { warn: (_obj, msg) => logged.push(msg) } });
    expect(await reg.list()).toEqual([]);
    expect(await reg.get('anything')).toBeUndefined();
    expect(await reg.forRole('worker')).toEqual([]);
    expect(await reg.reload('anything')).toBeUndefined();
    expect(logged.length).toBeGreaterThan(0);
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('gives [] when the root is a file', async () => {
    const file = path.join(root, 'file-root');
    await writeFile(file, 'x');
    const reg = new SkillRegistry({ skillsDir: file });
    expect(await reg.list()).toEqual([]);
  });

  it('shows new skills at once and hides removed directories at once', async () => {
    await addSkill('one', { name: 'One' });
    expect((await registry.list()).map((s) => s.id)).toEqual(['one']);
    await addSkill('two', { name: 'Two' });
    expect((await registry.list()).map((s) => s.id)).toEqual(['one', 'two']);
    await rm(path.join(skillsDir, 'one'), { recursive: true });
    expect((await registry.list()).map((s) => s.id)).toEqual(['two']);
  });

  it('retries failed loads on the next access (failures are not cached)', async () => {
    await addSkill('fixme', '{ oops');
    expect(await registry.list()).toEqual([]);
    await writeFile(path.join(skillsDir, 'fixme', 'manifest.json'), JSON.stringify({ name: 'Fixed' }));
    expect((await registry.list()).map((s) => s.name)).toEqual(['Fixed']);
  });

  it('never writes into SKILLS_DIR', async () => {
    await addSkill('good', { name: 'Good' }, 'text');
    await addSkill('nomd', { name: 'No md' });
    await addSkill('broken', '{');
    const before = await snapshot(skillsDir);
    await registry.list();
    await registry.get('good');
    await registry.get('nomd');
    await registry.forRole('worker');
    await registry.reload('good');
    await registry.reload('broken');
    expect(await snapshot(skillsDir)).toEqual(before);
  });
});

describe('lenient manifest reading (docs/behaviour.md §1.9, §7.2)', () => {
  it('uses the fallbacks for absent, non-string and empty fields', async () => {
    await addSkill('bare', {});
    await addSkill('wrong-types', { name: 42, version: ['1'], description: 7, type: { a: 1 } });
    await addSkill('empties', { name: '', version: '', description: '', type: '' });
    const byId = Object.fromEntries((await registry.list()).map((s) => [s.id, s]));
    expect(byId.bare).toEqual({ id: 'bare', name: 'bare', description: '', type: 'system', version: '1.0.0' });
    expect(byId['wrong-types']).toEqual({ id: 'wrong-types', name: 'wrong-types', description: '', type: 'system', version: '1.0.0' });
    expect(byId.empties).toEqual({ id: 'empties', name: 'empties', description: '', type: 'system', version: '1.0.0' });
  });

  it('keeps a whitespace description and an unknown non-empty type as given; ignores other keys', async () => {
    await addSkill('odd', {
      name: 'Odd',
      description: '   ',
      type: 'plugin',
      version: 'not-semver',
      assignTo: 'nobody',
      capabilities: 5,
      extra: { nested: true },
    });
    const detail = await registry.get('odd');
    expect(detail).toEqual({ id: 'odd', name: 'Odd', description: '   ', type: 'plugin', version: 'not-semver', instructions: '' });
  });

  it('returns skill.md as instructions, or "" with a warning when it is missing', async () => {
    await addSkill('with-md', { name: 'With' }, '# Title\n\nÜnïcode ✓\n');
    await addSkill('without-md', { name: 'Without' });
    expect((await registry.get('with-md'))?.instructions).toBe('# Title\n\nÜnïcode ✓\n');
    expect((await registry.get('without-md'))?.instructions).toBe('');
    expect(warnings.some((w) => w.obj.skillId === 'without-md')).toBe(true);
    expect(warnings.some((w) => w.obj.skillId === 'with-md')).toBe(false);
  });

  it('get() gives SkillDetail with keys in order', async () => {
    await addSkill('k', { name: 'K' }, 'i');
    expect(Object.keys((await registry.get('k'))!)).toEqual(['id', 'name', 'description', 'type', 'version', 'instructions']);
  });
});

describe('unsafe ids (docs/behaviour.md §0.1, §5.6)', () => {
  it('refuses ids that could leave SKILLS_DIR even when bait exists on disk', async () => {
    // Bait: a manifest in the parent of SKILLS_DIR (reached by `..`) and a nested skill (reached by `a/b`).
    await writeFile(path.join(root, 'manifest.json'), JSON.stringify({ name: 'Parent' }));
    await addSkill(path.join('a', 'b'), { name: 'Nested' });
    await mkdir(path.join(skillsDir, 'x'));
    for (const id of ['..', '.', '', 'a/b', 'a\\b', 'a\0b', '../skills/x', '/etc', 'x/..', decodeURIComponent('a%2Fb')]) {
      expect(await registry.get(id), id).toBeUndefined();
      expect(await registry.reload(id), id).toBeUndefined();
    }
  });

  it('isSafeSkillId is a pure check', () => {
    const dir = '/srv/skills';
    expect(isSafeSkillId(dir, 'maestro-cli')).toBe(true);
    expect(isSafeSkillId(dir, 'name with spaces')).toBe(true);
    for (const id of ['', '.', '..', '.hidden', 'a/b', 'a\\b', 'nul\0', '/abs']) {
      expect(isSafeSkillId(dir, id), JSON.stringify(id)).toBe(false);
    }
  });
});

describe('cache (docs/behaviour.md §7.3) and reload', () => {
  it('keeps edits invisible until reload', async () => {
    await addSkill('s', { name: 'Before', version: '1.0.0' }, 'old');
    expect((await registry.get('s'))?.name).toBe('Before');
    await addSkill('s', { name: 'After', version: '2.0.0' }, 'new');
    expect((await registry.get('s'))?.name).toBe('Before');
    expect((await registry.list())[0].name).toBe('Before');
    expect((await registry.get('s'))?.instructions).toBe('old');

    const reloaded = await registry.reload('s');
    expect(reloaded).toEqual({ id: 's', name: 'After', description: '', type: 'system', version: '2.0.0', reloaded: true });
    expect((await registry.get('s'))?.instructions).toBe('new');
    expect((await registry.list())[0].name).toBe('After');
  });

  it('keeps serving a removed directory through get() and forRole() until reload, which then fails and drops it', async () => {
    await addSkill('maestro-cli', { name: 'CLI' });
    expect(await registry.get('maestro-cli')).toBeDefined();
    await rm(path.join(skillsDir, 'maestro-cli'), { recursive: true });
    expect((await registry.get('maestro-cli'))?.name).toBe('CLI');
    expect((await registry.forRole('worker')).map((s) => s.id)).toEqual(['maestro-cli']);
    expect(await registry.list()).toEqual([]);

    expect(await registry.reload('maestro-cli')).toBeUndefined();
    expect(await registry.get('maestro-cli')).toBeUndefined();
    expect(await registry.forRole('worker')).toEqual([]);
  });

  it('reload of a skill that now fails drops the entry even though a good copy was cached', async () => {
    await addSkill('s', { name: 'Good' });
    await registry.get('s');
    await writeFile(path.join(skillsDir, 's', 'manifest.json'), '[]');
    expect(await registry.reload('s')).toBeUndefined();
    expect(await registry.get('s')).toBeUndefined();
  });

  it('returned objects are copies: mutating them does not change the cache', async () => {
    await addSkill('s', { name: 'Good' }, 'text');
    const first = await registry.get('s');
    first!.name = 'Mutated';
    const listed = await registry.list();
    listed[0].name = 'Mutated too';
    expect((await registry.get('s'))?.name).toBe('Good');
  });
});

describe('role mapping (docs/behaviour.md §7.4)', () => {
  it('gives maestro-cli then maestro-{role}, leaving missing or invalid ones out, ignoring assignTo', async () => {
    await addSkill('maestro-worker', { name: 'Worker', assignTo: ['orchestrator'] });
    await addSkill('maestro-cli', { name: 'CLI' });
    await addSkill('maestro-orchestrator', '{');
    expect((await registry.forRole('worker')).map((s) => s.id)).toEqual(['maestro-cli', 'maestro-worker']);
    expect((await registry.forRole('orchestrator')).map((s) => s.id)).toEqual(['maestro-cli']);
    const worker = await registry.forRole('worker');
    expect(Object.keys(worker[0])).toEqual(['id', 'name', 'description', 'type', 'version']);
  });
});
