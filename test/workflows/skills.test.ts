import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSkillHandlers, type SkillSource } from '../../src/handlers/skills.js';
import { SkillRegistry } from '../../src/skills/registry.js';
import { cleanup, expectError, tempDir, withParams } from './helpers.js';

let root: string;
let skillsDir: string;
let sk: ReturnType<typeof createSkillHandlers>;
const none = withParams({}) as never;

async function skill(id: string, manifest: unknown, instructions?: string): Promise<void> {
  const dir = path.join(skillsDir, id);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'manifest.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  if (instructions !== undefined) await writeFile(path.join(dir, 'skill.md'), instructions);
}

beforeEach(async () => {
  root = await tempDir('maestro-skills-');
  skillsDir = path.join(root, 'skills');
  await mkdir(skillsDir);
  sk = createSkillHandlers({ registry: new SkillRegistry({ skillsDir }) });
});

afterEach(cleanup);

describe('E23 list (docs/behaviour.md §2.5, §7.1)', () => {
  it('lists qualifying skills sorted by id, leniently projected, and skips broken ones', async () => {
    await skill('maestro-worker', { name: 'Worker', version: '2.0.0', description: 'Does work', type: 'role' }, '# Work');
    await skill('a-custom', { name: '', version: 7, type: 'whatever' });
    await skill('broken-json', '{ nope');
    await skill('array-json', '[1]');
    await mkdir(path.join(skillsDir, 'no-manifest'));
    await mkdir(path.join(skillsDir, '.hidden'));
    await writeFile(path.join(skillsDir, '.hidden', 'manifest.json'), '{}');
    await writeFile(path.join(skillsDir, 'a-file'), 'not a folder');
    expect(await sk.listSkills(none)).toEqual([
      { id: 'a-custom', name: 'a-custom', description: '', type: 'whatever', version: '1.0.0' },
      { id: 'maestro-worker', name: 'Worker', description: 'Does work', type: 'role', version: '2.0.0' },
    ]);
  });

  it('a missing SKILLS_DIR gives 200 []', async () => {
    const missing = createSkillHandlers({ registry: new SkillRegistry({ skillsDir: path.join(root, 'nope') }) });
    expect(await missing.listSkills(none)).toEqual([]);
  });

  it('never errors, whatever the registry does', async () => {
    const failing: SkillSource = {
      list: async () => {
        throw new Error('disk on fire');
      },
      get: async () => undefined,
      forRole: async () => [],
      reload: async () => undefined,
    };
    expect(await createSkillHandlers({ registry: failing }).listSkills(none)).toEqual([]);
  });

  it('new directories appear and removed ones disappear at once', async () => {
    await skill('one', { name: 'One' });
    expect((await sk.listSkills(none)).map((s) => s.id)).toEqual(['one']);
    await skill('two', { name: 'Two' });
    await rm(path.join(skillsDir, 'one'), { recursive: true });
    expect((await sk.listSkills(none)).map((s) => s.id)).toEqual(['two']);
  });
});

describe('E24 get and E26 reload (docs/behaviour.md §7.2, §7.3)', () => {
  it('returns the detail with instructions ("" when skill.md is missing)', async () => {
    await skill('with-md', { name: 'With', description: 'd' }, '# Instructions\n');
    await skill('without-md', { name: 'Without' });
    expect(await sk.getSkill(withParams({ id: 'with-md' }))).toEqual({
      id: 'with-md',
      name: 'With',
      description: 'd',
      type: 'system',
      version: '1.0.0',
      instructions: '# Instructions\n',
    });
    expect((await sk.getSkill(withParams({ id: 'without-md' }))).instructions).toBe('');
  });

  it('404 NOT_FOUND "Skill not found: {id}" for unknown, unsafe and broken skills', async () => {
    await skill('broken', '{');
    await writeFile(path.join(root, 'outside.json'), '{}');
    await mkdir(path.join(root, 'outside'));
    await writeFile(path.join(root, 'outside', 'manifest.json'), '{"name":"escaped"}');
    for (const id of ['nope', 'broken', '..', '../outside', '..%2Foutside', 'a/b', '.', '', 'x\u0000y', '.hidden']) {
      await expectError(sk.getSkill(withParams({ id })), 404, 'NOT_FOUND', `Skill not found: ${id}`);
      await expectError(sk.reloadSkill(withParams({ id })), 404, 'NOT_FOUND', `Skill not found: ${id}`);
    }
  });

  it('edits stay invisible until reload; reload answers reloaded: true', async () => {
    await skill('s', { name: 'Before' }, 'old');
    expect((await sk.getSkill(withParams({ id: 's' }))).name).toBe('Before');
    await skill('s', { name: 'After', version: '3.0.0' }, 'new');
    expect((await sk.getSkill(withParams({ id: 's' }))).name).toBe('Before');
    expect(await sk.reloadSkill(withParams({ id: 's' }))).toEqual({
      id: 's',
      name: 'After',
      description: '',
      type: 'system',
      version: '3.0.0',
      reloaded: true,
    });
    expect(await sk.getSkill(withParams({ id: 's' }))).toMatchObject({ name: 'After', instructions: 'new' });
  });

  it('reload of a skill whose directory was removed → 404, and the cache entry stays dropped', async () => {
    await skill('gone', { name: 'Gone' });
    await sk.getSkill(withParams({ id: 'gone' }));
    await rm(path.join(skillsDir, 'gone'), { recursive: true });
    // Still served from the cache until reloaded (§7.3).
    expect((await sk.getSkill(withParams({ id: 'gone' }))).name).toBe('Gone');
    await expectError(sk.reloadSkill(withParams({ id: 'gone' })), 404, 'NOT_FOUND', 'Skill not found: gone');
    await expectError(sk.getSkill(withParams({ id: 'gone' })), 404, 'NOT_FOUND');
  });
});

describe('E25 skills for a role (docs/behaviour.md §7.4)', () => {
  it('maestro-cli then maestro-{role}; missing or invalid ones left out; assignTo not consulted', async () => {
    await skill('maestro-cli', { name: 'CLI', assignTo: ['orchestrator'] });
    await skill('maestro-worker', { name: 'Worker', assignTo: [] });
    await skill('maestro-orchestrator', 'not json');
    expect((await sk.listSkillsForRole(withParams({ role: 'worker' as const }))).map((s) => s.id)).toEqual(['maestro-cli', 'maestro-worker']);
    expect((await sk.listSkillsForRole(withParams({ role: 'orchestrator' as const }))).map((s) => s.id)).toEqual(['maestro-cli']);
    await rm(path.join(skillsDir, 'maestro-cli'), { recursive: true });
    const fresh = createSkillHandlers({ registry: new SkillRegistry({ skillsDir }) });
    expect((await fresh.listSkillsForRole(withParams({ role: 'worker' as const }))).map((s) => s.id)).toEqual(['maestro-worker']);
  });
});
