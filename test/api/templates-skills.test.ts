/** docs/behaviour.md §2.5 (skills) and §2.7 (templates) through the real server. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/server.js';
import { expectError, expectEvents, startApi, type Api } from './harness.js';

describe('templates and skills', () => {
  let api: Api;
  beforeAll(async () => {
    const config = testConfig();
    const skill = (id: string, manifest: unknown, md?: string) => {
      fs.mkdirSync(path.join(config.skillsDir, id), { recursive: true });
      fs.writeFileSync(path.join(config.skillsDir, id, 'manifest.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
      if (md !== undefined) fs.writeFileSync(path.join(config.skillsDir, id, 'skill.md'), md);
    };
    skill('maestro-cli', { name: 'Maestro CLI', description: 'commands', type: 'system', version: '0.1.0' }, '# CLI');
    skill('maestro-worker', { name: 'Worker' });
    skill('broken', '{ nope');
    fs.writeFileSync(path.join(config.skillsDir, 'a-file'), 'not a skill');
    api = await startApi(config);
  });
  afterAll(async () => api.close());

  it('a fresh server lists exactly the two seeded defaults; E37/E42 agree with reset', async () => {
    const templates = await api.client.listTemplates();
    // Both are seeded with the same clock reading, so their list order falls to the (random) ids.
    expect(templates.map((t) => [t.role, t.name, t.isDefault]).sort()).toEqual([
      ['orchestrator', 'Default Orchestrator Template', true],
      ['worker', 'Default Worker Template', true],
    ]);
    for (const role of ['worker', 'orchestrator'] as const) {
      const builtIn = await api.client.getDefaultTemplate({ params: { role } });
      expect(builtIn.role).toBe(role);
      expect(builtIn.content).toContain('maestro report');
      const inUse = await api.client.getTemplateForRole({ params: { role } });
      expect(inUse.content).toBe(builtIn.content);
    }
    expectError(await api.raw('GET', '/api/templates/role/boss'), 400, 'VALIDATION_ERROR', 'role');
    expectError(await api.raw('GET', '/api/templates/default/boss'), 400, 'VALIDATION_ERROR', 'role');
    await expectEvents(api, []);
  });

  it('create, update (role immutable), reset, delete — with their events', async () => {
    const created = await api.client.createTemplate({ body: { name: 'Mine', role: 'worker', content: 'Do {{nothing}}.' } });
    expect(created).toMatchObject({ name: 'Mine', role: 'worker', content: 'Do {{nothing}}.', isDefault: false });
    const updated = await api.client.updateTemplate({ params: { id: created.id }, body: { content: 'New text', role: 'orchestrator', isDefault: true } as never });
    expect(updated).toMatchObject({ role: 'worker', isDefault: false, content: 'New text', name: 'Mine' });
    expect(updated.updatedAt).toBeGreaterThan(created.updatedAt);
    const reset = await api.client.resetTemplate({ params: { id: created.id } });
    expect(reset.content).toBe((await api.client.getDefaultTemplate({ params: { role: 'worker' } })).content);
    expect(reset.name).toBe('Mine');
    expect(await api.client.deleteTemplate({ params: { id: created.id } })).toEqual({ success: true, id: created.id });
    await expectEvents(api, ['template:created', 'template:updated', 'template:updated', 'template:deleted']);
    expectError(await api.json('POST', '/api/templates', { name: 'x', role: 'boss' }), 400, 'VALIDATION_ERROR', 'content');
    expectError(await api.json('POST', '/api/templates', { name: 'x', role: 'boss', content: 'c' }), 400, 'VALIDATION_ERROR', 'role');
    expectError(await api.json('POST', '/api/templates', { role: 'worker', content: 'c' }), 400, 'VALIDATION_ERROR', 'name');
    const anyTemplate = (await api.client.listTemplates())[0]!;
    expectError(await api.json('PUT', `/api/templates/${anyTemplate.id}`, {}), 400, 'VALIDATION_ERROR');
    expectError(await api.json('PUT', `/api/templates/${anyTemplate.id}`, { name: ' ' }), 400, 'VALIDATION_ERROR', 'name');
    expectError(await api.json('PUT', '/api/templates/nope', {}), 404, 'NOT_FOUND');
    expectError(await api.raw('POST', '/api/templates/nope/reset'), 404, 'NOT_FOUND');
    expectError(await api.raw('DELETE', '/api/templates/nope'), 404, 'NOT_FOUND');
    await expectEvents(api, []);
  });

  it('skills: list skips broken ones and files, detail, role mapping, reload, unsafe ids', async () => {
    expect((await api.client.listSkills()).map((s) => s.id)).toEqual(['maestro-cli', 'maestro-worker']);
    expect(await api.client.getSkill({ params: { id: 'maestro-cli' } })).toEqual({
      id: 'maestro-cli', name: 'Maestro CLI', description: 'commands', type: 'system', version: '0.1.0', instructions: '# CLI',
    });
    expect(await api.client.getSkill({ params: { id: 'maestro-worker' } })).toEqual({
      id: 'maestro-worker', name: 'Worker', description: '', type: 'system', version: '1.0.0', instructions: '',
    });
    expect((await api.client.listSkillsForRole({ params: { role: 'worker' } })).map((s) => s.id)).toEqual(['maestro-cli', 'maestro-worker']);
    expect((await api.client.listSkillsForRole({ params: { role: 'orchestrator' } })).map((s) => s.id)).toEqual(['maestro-cli']);
    const badRole = await api.raw('GET', '/api/skills/role/boss');
    expectError(badRole, 400, 'VALIDATION_ERROR', 'role');
    expect(await api.client.reloadSkill({ params: { id: 'maestro-cli' } })).toMatchObject({ id: 'maestro-cli', reloaded: true });
    for (const id of ['broken', 'a-file', '..', '%2E%2E', 'a%2Fb', '..%2Fmaestro-cli', 'nope']) {
      expectError(await api.raw('GET', `/api/skills/${id}`), 404, 'NOT_FOUND');
      expectError(await api.raw('POST', `/api/skills/${id}/reload`), 404, 'NOT_FOUND');
    }
  });
});
