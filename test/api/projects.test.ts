/** docs/behaviour.md §2.2 (E1–E5) through the real server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../generated/client/index.js';
import { projectDefaults } from '../../generated/model/index.js';
import { dataFileExists, expectError, expectEvents, readData, startApi, type Api } from './harness.js';

describe('projects', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => api.close());

  it('E2 creates with defaults, writes the file and emits project:created', async () => {
    const res = await api.json('POST', '/api/projects', { name: 'Alpha', unknown: 1, createdAt: 5, id: 'mine' });
    expect(res.status).toBe(201);
    const p = res.json as Record<string, unknown>;
    expect(p).toEqual({
      ...projectDefaults(), // fields added later with a schema default (CONTRIBUTING.md's example: color)
      id: expect.stringMatching(/^proj_[0-9]+_[0-9a-z]{9}$/),
      name: 'Alpha',
      workingDir: '',
      description: '',
      createdAt: expect.any(Number),
      updatedAt: p.createdAt,
    });
    expect(readData(api, `projects/${p.id}.json`)).toEqual(p);
    const [e] = await expectEvents(api, ['project:created']);
    expect(e!.data).toEqual(p);
  });

  it('E2 validation: name required (missing, null, blank, non-string); other fields must be strings', async () => {
    for (const body of [{}, { name: null }, { name: '   ' }, { name: 3 }]) {
      expectError(await api.json('POST', '/api/projects', body), 400, 'VALIDATION_ERROR', 'name');
    }
    expectError(await api.json('POST', '/api/projects', { name: 'x', workingDir: 1 }), 400, 'VALIDATION_ERROR', 'workingDir');
    expectError(await api.json('POST', '/api/projects', { name: 'x', description: [] }), 400, 'VALIDATION_ERROR', 'description');
    // Order: name before workingDir.
    expectError(await api.json('POST', '/api/projects', { workingDir: 1 }), 400, 'VALIDATION_ERROR', 'name');
    // An empty body counts as {} → name is required.
    expectError(await api.raw('POST', '/api/projects'), 400, 'VALIDATION_ERROR', 'name');
    await expectEvents(api, []);
  });

  it('E1/E3 list in createdAt order and get by id; unknown id → 404 PROJECT_NOT_FOUND', async () => {
    const b = await api.client.createProject({ body: { name: 'Beta', description: 'd' } });
    const list = await api.client.listProjects();
    expect(list.map((p) => p.name)).toEqual(['Alpha', 'Beta']);
    expect(await api.client.getProject({ params: { id: b.id } })).toEqual(b);
    expectError(await api.raw('GET', '/api/projects/nope'), 404, 'PROJECT_NOT_FOUND');
    await expectEvents(api, ['project:created']);
  });

  it('E4 merges, keeps id/createdAt, stamps updatedAt forward; an empty body still stamps and emits', async () => {
    const p = await api.client.createProject({ body: { name: 'Gamma', workingDir: '/w' } });
    await expectEvents(api, ['project:created']);
    const u1 = await api.client.updateProject({ params: { id: p.id }, body: { description: 'new', id: 'x', createdAt: 1 } as never });
    expect(u1).toMatchObject({ id: p.id, name: 'Gamma', workingDir: '/w', description: 'new', createdAt: p.createdAt });
    expect(u1.updatedAt).toBeGreaterThan(p.updatedAt);
    const u2 = await api.client.updateProject({ params: { id: p.id } });
    expect(u2.updatedAt).toBeGreaterThan(u1.updatedAt);
    const events = await expectEvents(api, ['project:updated', 'project:updated']);
    expect(events[1]!.data).toEqual(u2);
    expect(readData(api, `projects/${p.id}.json`)).toEqual(u2);
    expectError(await api.json('PUT', `/api/projects/${p.id}`, { name: '' }), 400, 'VALIDATION_ERROR', 'name');
    expectError(await api.json('PUT', `/api/projects/${p.id}`, { workingDir: 5 }), 400, 'VALIDATION_ERROR', 'workingDir');
    // Lookup comes before validation.
    expectError(await api.json('PUT', '/api/projects/nope', { name: '' }), 404, 'PROJECT_NOT_FOUND');
    await expectEvents(api, []);
  });

  it('E5 refuses while tasks, then sessions, reference the project; deletes otherwise', async () => {
    const p = await api.client.createProject({ body: { name: 'Delta' } });
    const t = await api.client.createTask({ body: { projectId: p.id, title: 'T' } });
    const s = await api.client.createSession({ body: { projectId: p.id, taskIds: [] } });
    await expectEvents(api, ['project:created', 'task:created', 'session:created']);
    const withTask = await api.raw('DELETE', `/api/projects/${p.id}`);
    expectError(withTask, 400, 'PROJECT_HAS_DEPENDENCIES');
    expect((withTask.json as { message: string }).message).toBe('Cannot delete project with 1 existing task(s)');
    await api.client.deleteTask({ params: { id: t.id } });
    const withSession = await api.raw('DELETE', `/api/projects/${p.id}`);
    expect((withSession.json as { message: string }).message).toBe('Cannot delete project with 1 existing session(s)');
    await api.client.deleteSession({ params: { id: s.id } });
    expect(await api.client.deleteProject({ params: { id: p.id } })).toEqual({ success: true, id: p.id });
    expect(dataFileExists(api, `projects/${p.id}.json`)).toBe(false);
    const events = await expectEvents(api, ['task:deleted', 'session:deleted', 'project:deleted']);
    expect(events[2]!.data).toEqual({ id: p.id });
    await expect(api.client.getProject({ params: { id: p.id } })).rejects.toMatchObject({ status: 404, code: 'PROJECT_NOT_FOUND' });
    await expect(api.client.deleteProject({ params: { id: p.id } })).rejects.toBeInstanceOf(ApiError);
  });
});
