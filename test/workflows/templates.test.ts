import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Template } from '../../generated/types/index.js';
import { validationError } from '../../src/contract-error.js';
import { createTemplateHandlers } from '../../src/handlers/templates.js';
import { defaultTemplateTexts } from '../../src/templates/default-texts.js';
import { seedDefaultTemplates } from '../../src/templates/seed.js';
import { cleanup, diskSnapshot, expectError, lateBody, memorySnapshot, openHarness, readJson, T0, withBody, withParams, type Harness } from './helpers.js';

let h: Harness;
let th: ReturnType<typeof createTemplateHandlers>;

/** Restart: close, reopen on the same DATA_DIR, seed as the startup sequence does (§5.2 step 4). */
async function restart(): Promise<Template[]> {
  await h.reopen();
  th = createTemplateHandlers({ store: h.store });
  return seedDefaultTemplates(h.store);
}

beforeEach(async () => {
  h = await openHarness();
  th = createTemplateHandlers({ store: h.store });
});

afterEach(cleanup);

describe('startup seeding (docs/behaviour.md §10.2)', () => {
  it('a fresh store gets exactly the two defaults, persisted, with no event', async () => {
    const created = await seedDefaultTemplates(h.store);
    const list = await th.listTemplates(withParams({}) as never);
    // Same createdAt: the list orders them by id (§0.4); seeding creates worker first (§10.2).
    expect(list).toEqual([...created].sort((a, b) => (a.id < b.id ? -1 : 1)));
    expect(list).toHaveLength(2);
    expect(created.map((t) => [t.role, t.name, t.isDefault])).toEqual([
      ['worker', 'Default Worker Template', true],
      ['orchestrator', 'Default Orchestrator Template', true],
    ]);
    for (const t of list) {
      expect(t.content).toBe(defaultTemplateTexts[t.role]);
      expect(t.createdAt).toBe(T0);
      expect(t.updatedAt).toBe(T0);
      expect(t.id).toMatch(/^tmpl_[0-9]+_[0-9a-z]{9}$/);
      expect(await readJson(path.join(h.dataDir, 'templates', `${t.id}.json`))).toEqual(t);
    }
    expect(h.commits).toEqual([]);
    expect(h.events).toEqual([]);
  });

  it('seeds nothing more at the next start', async () => {
    const first = await seedDefaultTemplates(h.store);
    const listed = h.store.listTemplates();
    expect(await restart()).toEqual([]);
    expect(h.store.listTemplates()).toEqual(listed);
    expect(listed).toHaveLength(first.length);
  });

  it('a deleted default comes back at the next start only when its role has no template', async () => {
    const [worker, orchestrator] = await seedDefaultTemplates(h.store);
    await th.deleteTemplate(withParams({ id: worker.id }));
    h.clock.advance(100);
    const again = await restart();
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ role: 'worker', isDefault: true, name: 'Default Worker Template', createdAt: T0 + 100 });
    expect(again[0].id).not.toBe(worker.id);

    // The orchestrator role keeps a client template: its deleted default is not re-seeded.
    await th.createTemplate(withBody({ name: 'Mine', role: 'orchestrator' as const, content: '# mine' }));
    await th.deleteTemplate(withParams({ id: orchestrator.id }));
    expect(await restart()).toEqual([]);
    expect(h.store.listTemplates({ role: 'orchestrator' }).map((t) => [t.name, t.isDefault])).toEqual([['Mine', false]]);
  });
});

describe('CRUD (docs/behaviour.md §2.7)', () => {
  beforeEach(async () => {
    await seedDefaultTemplates(h.store);
    h.clock.advance(10);
  });

  it('E38 creates a non-default template, writes it and emits template:created', async () => {
    const t = await th.createTemplate(withBody({ name: 'Careful worker', role: 'worker' as const, content: '  # Be careful\n' }));
    expect(t).toEqual({
      id: t.id,
      name: 'Careful worker',
      role: 'worker',
      content: '  # Be careful\n', // verbatim, untrimmed
      isDefault: false,
      createdAt: T0 + 10,
      updatedAt: T0 + 10,
    });
    expect(h.events).toEqual([{ name: 'template:created', data: t }]);
    expect(await readJson(path.join(h.dataDir, 'templates', `${t.id}.json`))).toEqual(t);
    expect((await th.listTemplates(withParams({}) as never)).at(-1)).toEqual(t);
    expect(await th.getTemplate(withParams({ id: t.id }))).toEqual(t);
  });

  it('E36 unknown or unsafe ids → 404 NOT_FOUND "Template not found"', async () => {
    for (const id of ['tmpl_nope', '..', 'a/b']) {
      await expectError(th.getTemplate(withParams({ id })), 404, 'NOT_FOUND', 'Template not found');
    }
  });

  it('E39 merges name and content; role, isDefault and id in the body are ignored', async () => {
    const [worker] = h.store.listTemplates({ role: 'worker' });
    const renamed = await th.updateTemplate(
      lateBody({ id: worker.id }, { name: 'Renamed', role: 'orchestrator', isDefault: false, id: 'tmpl_other' } as never),
    );
    expect(renamed).toEqual({ ...worker, name: 'Renamed', updatedAt: T0 + 10 });
    const rewritten = await th.updateTemplate(lateBody({ id: worker.id }, { content: '# new' }));
    // Same millisecond: the stamp still moves forward (§0.2).
    expect(rewritten).toEqual({ ...worker, name: 'Renamed', content: '# new', updatedAt: T0 + 11 });
    expect(h.events).toEqual([
      { name: 'template:updated', data: renamed },
      { name: 'template:updated', data: rewritten },
    ]);
    expect(await diskSnapshot(h.dataDir)).toEqual(memorySnapshot(h.store));
  });

  it('E39 looks up before reading the body', async () => {
    const bad = lateBody({ id: 'tmpl_nope' }, () => {
      throw validationError('name', 'At least one of name or content is required');
    });
    await expectError(th.updateTemplate(bad), 404, 'NOT_FOUND', 'Template not found');
    expect(bad.calls).toBe(0);
    const [worker] = h.store.listTemplates({ role: 'worker' });
    const bad2 = lateBody({ id: worker.id }, () => {
      throw validationError('name', 'At least one of name or content is required');
    });
    await expectError(th.updateTemplate(bad2), 400, 'VALIDATION_ERROR', 'At least one of name or content is required');
    expect(h.store.getTemplate(worker.id)).toEqual(worker);
    expect(h.events).toEqual([]);
  });

  it('E40 reset sets the content to what E42 returns; name and isDefault stay', async () => {
    const custom = await th.createTemplate(withBody({ name: 'Orch', role: 'orchestrator' as const, content: '# custom' }));
    h.clearEvents();
    h.clock.advance(1);
    const reset = await th.resetTemplate(withParams({ id: custom.id }));
    const e42 = await th.getDefaultTemplate(withParams({ role: 'orchestrator' as const }));
    expect(reset).toEqual({ ...custom, content: e42.content, updatedAt: T0 + 11 });
    expect(reset.isDefault).toBe(false);
    expect(h.events).toEqual([{ name: 'template:updated', data: reset }]);
    await expectError(th.resetTemplate(withParams({ id: 'tmpl_nope' })), 404, 'NOT_FOUND', 'Template not found');
  });

  it('E41 deletes any template, defaults included; unknown → 404', async () => {
    const [worker] = h.store.listTemplates({ role: 'worker' });
    const file = path.join(h.dataDir, 'templates', `${worker.id}.json`);
    expect(existsSync(file)).toBe(true);
    expect(await th.deleteTemplate(withParams({ id: worker.id }))).toEqual({ success: true, id: worker.id });
    expect(existsSync(file)).toBe(false);
    expect(h.store.getTemplate(worker.id)).toBeUndefined();
    expect(h.events).toEqual([{ name: 'template:deleted', data: { id: worker.id } }]);
    await expectError(th.deleteTemplate(withParams({ id: worker.id })), 404, 'NOT_FOUND', 'Template not found');
    // With no worker template left, E37 answers 404 (§10.3 step 3).
    await expectError(th.getTemplateForRole(withParams({ role: 'worker' as const })), 404, 'NOT_FOUND', 'Template not found');
  });

  it('E42 gives the built-in text of each role and creates nothing', async () => {
    const before = await diskSnapshot(h.dataDir);
    for (const role of ['worker', 'orchestrator'] as const) {
      expect(await th.getDefaultTemplate(withParams({ role }))).toEqual({ role, content: defaultTemplateTexts[role] });
    }
    expect(defaultTemplateTexts.worker).not.toBe(defaultTemplateTexts.orchestrator);
    expect(await diskSnapshot(h.dataDir)).toEqual(before);
    expect(h.events).toEqual([]);
  });

  it('templates survive a restart unchanged', async () => {
    await th.createTemplate(withBody({ name: 'Keep', role: 'worker' as const, content: '# keep' }));
    const before = h.store.listTemplates();
    await restart();
    expect(h.store.listTemplates()).toEqual(before);
  });
});

describe('role resolution E37 (docs/behaviour.md §10.3)', () => {
  /** Puts templates directly, as files of an older server could hold them. */
  async function put(...templates: Template[]): Promise<void> {
    await h.store.mutate((tx) => {
      for (const t of templates) tx.putTemplate(t);
    });
  }
  const tpl = (id: string, createdAt: number, isDefault: boolean, role: 'worker' | 'orchestrator' = 'worker'): Template => ({
    id,
    name: id,
    role,
    content: '# x',
    isDefault,
    createdAt,
    updatedAt: createdAt,
  });

  it('prefers a default over an older non-default', async () => {
    await put(tpl('tmpl_old_custom', 1, false), tpl('tmpl_new_default', 5, true));
    expect((await th.getTemplateForRole(withParams({ role: 'worker' as const }))).id).toBe('tmpl_new_default');
  });

  it('among several defaults the oldest wins, then the smaller id', async () => {
    await put(tpl('tmpl_b', 3, true), tpl('tmpl_a', 3, true), tpl('tmpl_c', 2, true, 'orchestrator'), tpl('tmpl_d', 9, true));
    expect((await th.getTemplateForRole(withParams({ role: 'worker' as const }))).id).toBe('tmpl_a');
    expect((await th.getTemplateForRole(withParams({ role: 'orchestrator' as const }))).id).toBe('tmpl_c');
  });

  it('without a default, the oldest template of the role', async () => {
    await put(tpl('tmpl_z', 4, false), tpl('tmpl_y', 4, false), tpl('tmpl_x', 7, false), tpl('tmpl_o', 1, false, 'orchestrator'));
    expect((await th.getTemplateForRole(withParams({ role: 'worker' as const }))).id).toBe('tmpl_y');
  });

  it('none → 404 NOT_FOUND', async () => {
    await put(tpl('tmpl_o', 1, true, 'orchestrator'));
    await expectError(th.getTemplateForRole(withParams({ role: 'worker' as const })), 404, 'NOT_FOUND', 'Template not found');
  });
});
