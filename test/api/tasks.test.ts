/** docs/behaviour.md §2.3 (E6–E12) through the real server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataFileExists, expectError, expectEvents, projectWithTask, readData, startApi, type Api } from './harness.js';

describe('tasks', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => api.close());

  it('E7 creates with every default, ignores server-managed fields, writes tasks/{projectId}/{id}.json', async () => {
    const project = await api.client.createProject({ body: { name: 'P' } });
    const res = await api.json('POST', '/api/tasks', {
      projectId: project.id,
      title: 'Write docs',
      status: 'completed',
      sessionIds: ['x'],
      agentIds: ['a'],
      timeline: [],
      extra: true,
    });
    expect(res.status).toBe(201);
    const t = res.json as Record<string, unknown>;
    expect(t).toEqual({
      id: expect.stringMatching(/^task_[0-9]+_[0-9a-z]{9}$/),
      projectId: project.id,
      parentId: null,
      title: 'Write docs',
      description: '',
      status: 'todo',
      priority: 'medium',
      createdAt: expect.any(Number),
      updatedAt: t.createdAt,
      startedAt: null,
      completedAt: null,
      initialPrompt: '',
      sessionIds: [],
      skillIds: [],
      agentIds: [],
      dependencies: [],
    });
    expect(readData(api, `tasks/${project.id}/${t.id}.json`)).toEqual(t);
    const [, e] = await expectEvents(api, ['project:created', 'task:created']);
    expect(e!.data).toEqual(t);
  });

  it('E7 optional fields, nullable dueDate, and every validation error in order', async () => {
    const { project, task } = await projectWithTask(api);
    const child = await api.client.createTask({
      body: {
        projectId: project.id,
        title: 'Child',
        parentId: task.id,
        priority: 'high',
        model: 'opus',
        dueDate: '2024-02-29',
        skillIds: ['s'],
        dependencies: ['anything'],
        initialPrompt: 'go',
      },
    });
    expect(child).toMatchObject({ parentId: task.id, priority: 'high', model: 'opus', dueDate: '2024-02-29', skillIds: ['s'] });
    const nullDue = await api.json('POST', '/api/tasks', { projectId: project.id, title: 'N', dueDate: null, description: null });
    expect(nullDue.json).toMatchObject({ dueDate: null, description: '' });
    await expectEvents(api, ['task:created', 'task:created']);

    const cases: Array<[unknown, number, string, string?]> = [
      [{ title: 'x' }, 400, 'VALIDATION_ERROR', 'projectId'],
      [{ projectId: project.id }, 400, 'VALIDATION_ERROR', 'title'],
      [{ projectId: project.id, title: ' \t' }, 400, 'VALIDATION_ERROR', 'title'],
      [{ projectId: project.id, title: 'x', parentId: 5 }, 400, 'VALIDATION_ERROR', 'parentId'],
      [{ projectId: project.id, title: 'x', priority: 'urgent' }, 400, 'VALIDATION_ERROR', 'priority'],
      [{ projectId: project.id, title: 'x', priority: 'HIGH' }, 400, 'VALIDATION_ERROR', 'priority'],
      [{ projectId: project.id, title: 'x', skillIds: [1] }, 400, 'VALIDATION_ERROR', 'skillIds'],
      [{ projectId: project.id, title: 'x', dependencies: 'a' }, 400, 'VALIDATION_ERROR', 'dependencies'],
      [{ projectId: project.id, title: 'x', model: 'gpt' }, 400, 'VALIDATION_ERROR', 'model'],
      [{ projectId: project.id, title: 'x', dueDate: '2024-02-30' }, 400, 'VALIDATION_ERROR', 'dueDate'],
      [{ projectId: project.id, title: 'x', dueDate: '2024-2-3' }, 400, 'VALIDATION_ERROR', 'dueDate'],
      [{ projectId: 7, title: 5 }, 400, 'VALIDATION_ERROR', 'projectId'],
      [{ projectId: 'proj_nope', title: 'x' }, 404, 'PROJECT_NOT_FOUND'],
      [{ projectId: project.id, title: 'x', parentId: 'task_nope' }, 404, 'TASK_NOT_FOUND'],
      // Validation of every field comes before the lookups.
      [{ projectId: 'proj_nope', title: 'x', model: 'gpt' }, 400, 'VALIDATION_ERROR', 'model'],
    ];
    for (const [body, status, code, field] of cases) {
      expectError(await api.json('POST', '/api/tasks', body), status, code, field);
    }
    await expectEvents(api, []);
  });

  it('E6 filters by project, status (legacy pending), parentId (and the literal null); E11 children', async () => {
    const { project, task: root } = await projectWithTask(api, 'Root');
    const other = await api.client.createProject({ body: { name: 'Other' } });
    const c1 = await api.client.createTask({ body: { projectId: project.id, title: 'c1', parentId: root.id } });
    const c2 = await api.client.createTask({ body: { projectId: project.id, title: 'c2', parentId: root.id } });
    await api.client.createTask({ body: { projectId: other.id, title: 'elsewhere' } });
    await api.client.updateTask({ params: { id: c2.id }, body: { status: 'in_progress' } });
    const ids = (tasks: Array<{ id: string }>) => tasks.map((t) => t.id);
    expect(ids(await api.client.listTasks({ query: { projectId: project.id } }))).toEqual([root.id, c1.id, c2.id]);
    expect(ids(await api.client.listTasks({ query: { projectId: project.id, parentId: 'null' } }))).toEqual([root.id]);
    expect(ids(await api.client.listTasks({ query: { parentId: root.id } }))).toEqual([c1.id, c2.id]);
    expect(ids(await api.client.listTasks({ query: { projectId: project.id, status: 'pending' } }))).toEqual([root.id, c1.id]);
    expect(ids(await api.client.listTasks({ query: { projectId: project.id, status: 'in_progress' } }))).toEqual([c2.id]);
    expect(await api.client.listTasks({ query: { status: 'nonsense' } })).toEqual([]);
    // Repeated parameter: the first occurrence counts; unknown parameters are ignored.
    const repeated = await api.raw('GET', `/api/tasks?projectId=${project.id}&projectId=${other.id}&foo=1`);
    expect(ids(repeated.json as Array<{ id: string }>)).toEqual([root.id, c1.id, c2.id]);
    expect(ids(await api.client.listTaskChildren({ params: { id: root.id } }))).toEqual([c1.id, c2.id]);
    expect(await api.client.listTaskChildren({ params: { id: c1.id } })).toEqual([]);
    expectError(await api.raw('GET', '/api/tasks/nope/children'), 404, 'TASK_NOT_FOUND');
    await api.log.take(); // settled, then dropped
  });

  it('E9 applies fields, legacy status, first-time startedAt/completedAt, and never clears them', async () => {
    const { task } = await projectWithTask(api);
    const a = await api.client.updateTask({ params: { id: task.id }, body: { status: 'in_progress', title: 'Renamed', priority: 'low' } });
    expect(a).toMatchObject({ status: 'in_progress', title: 'Renamed', priority: 'low', startedAt: a.updatedAt, completedAt: null });
    const b = await api.client.updateTask({ params: { id: task.id }, body: { status: 'completed' } });
    expect(b.startedAt).toBe(a.startedAt);
    expect(b.completedAt).toBe(b.updatedAt);
    const c = await api.client.updateTask({ params: { id: task.id }, body: { status: 'pending' as never } });
    expect(c).toMatchObject({ status: 'todo', startedAt: a.startedAt, completedAt: b.completedAt });
    const d = await api.client.updateTask({ params: { id: task.id }, body: { dueDate: '2030-01-01', model: 'haiku', skillIds: ['x'] } });
    expect(d).toMatchObject({ dueDate: '2030-01-01', model: 'haiku', skillIds: ['x'] });
    const e = await api.client.updateTask({ params: { id: task.id }, body: { dueDate: null } });
    expect(e.dueDate).toBeNull();
    const empty = await api.client.updateTask({ params: { id: task.id } });
    expect(empty.updatedAt).toBeGreaterThan(e.updatedAt);
    expect({ ...empty, updatedAt: 0 }).toEqual({ ...e, updatedAt: 0 });
    await expectEvents(api, Array(6).fill('task:updated'));
    expect(readData(api, `tasks/${task.projectId}/${task.id}.json`)).toEqual(empty);
  });

  it('E9 session-sourced update applies only sessionStatus, without validating the rest', async () => {
    const { task } = await projectWithTask(api);
    const res = await api.json('PATCH', `/api/tasks/${task.id}`, {
      sessionStatus: 'working',
      updateSource: 'session',
      sessionId: 'whoever',
      title: '',
      status: 'bogus',
      priority: 7,
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ sessionStatus: 'working', title: task.title, status: 'todo', priority: 'medium' });
    expectError(
      await api.json('PATCH', `/api/tasks/${task.id}`, { sessionStatus: 'nope', updateSource: 'session' }),
      400,
      'VALIDATION_ERROR',
      'sessionStatus',
    );
    await expectEvents(api, ['task:updated']);
  });

  it('E9 errors: lookup first, then updateSource, then fields in order, then unknown session ids', async () => {
    const { task } = await projectWithTask(api);
    expectError(await api.json('PATCH', '/api/tasks/nope', { title: '' }), 404, 'TASK_NOT_FOUND');
    expectError(await api.json('PATCH', `/api/tasks/${task.id}`, { updateSource: 'robot', title: '' }), 400, 'VALIDATION_ERROR', 'updateSource');
    expectError(await api.json('PATCH', `/api/tasks/${task.id}`, { title: '', status: 'x' }), 400, 'VALIDATION_ERROR', 'title');
    expectError(await api.json('PATCH', `/api/tasks/${task.id}`, { status: 'x' }), 400, 'VALIDATION_ERROR', 'status');
    expectError(await api.json('PATCH', `/api/tasks/${task.id}`, { sessionIds: [''] }), 400, 'VALIDATION_ERROR', 'sessionIds');
    expectError(await api.json('PATCH', `/api/tasks/${task.id}`, { agentIds: 'a' }), 400, 'VALIDATION_ERROR', 'agentIds');
    expectError(await api.json('PATCH', `/api/tasks/${task.id}`, { sessionIds: ['sess_missing'] }), 404, 'SESSION_NOT_FOUND');
    await expectEvents(api, []);
  });

  it('E9 sessionIds diff: task:updated, then UNLINK pairs, then LINK pairs; both sides in sync', async () => {
    const { project, task } = await projectWithTask(api);
    const s1 = await api.client.createSession({ body: { projectId: project.id, taskIds: [task.id] } });
    const s2 = await api.client.createSession({ body: { projectId: project.id, taskIds: [] } });
    await expectEvents(api, ['session:created', 'task:session_added', 'session:created']);
    const updated = await api.client.updateTask({ params: { id: task.id }, body: { sessionIds: [s2.id, s2.id] } });
    expect(updated.sessionIds).toEqual([s2.id]);
    const events = await expectEvents(api, [
      'task:updated',
      'session:task_removed',
      'task:session_removed',
      'session:task_added',
      'task:session_added',
    ]);
    expect(events[0]!.data).toEqual(updated);
    expect(events[1]!.data).toEqual({ sessionId: s1.id, taskId: task.id });
    expect(events[3]!.data).toEqual({ sessionId: s2.id, taskId: task.id });
    const after1 = await api.client.getSession({ params: { id: s1.id } });
    const after2 = await api.client.getSession({ params: { id: s2.id } });
    expect(after1.taskIds).toEqual([]);
    expect(after2.taskIds).toEqual([task.id]);
    expect(after1.timeline.at(-1)).toMatchObject({ type: 'task_completed', message: 'Removed task from session', taskId: task.id });
    expect(after2.timeline.at(-1)).toMatchObject({ type: 'task_started', message: 'Task added to session', taskId: task.id });
    expect(readData(api, `sessions/${s2.id}.json`)).toEqual(after2);
  });

  it('E10 appends to the session timeline (task untouched); checks in order', async () => {
    const { project, task } = await projectWithTask(api);
    const s = await api.client.createSession({ body: { projectId: project.id, taskIds: [] } });
    await expectEvents(api, ['session:created']);
    const r = await api.client.addTaskTimelineEntry({ params: { id: task.id }, body: { message: 'halfway', sessionId: s.id } });
    expect(r).toEqual({ success: true, taskId: task.id, sessionId: s.id, message: 'halfway', type: 'progress' });
    const [e] = await expectEvents(api, ['session:updated']);
    const session = e!.data as { timeline: unknown[]; lastActivity: number };
    expect(session.timeline.at(-1)).toEqual({ id: expect.stringMatching(/^evt_/), type: 'progress', timestamp: expect.any(Number), message: 'halfway', taskId: task.id });
    expect(session.lastActivity).toBeGreaterThan(s.lastActivity);
    expect(await api.client.getTask({ params: { id: task.id } })).toEqual(task);
    expectError(await api.json('POST', `/api/tasks/${task.id}/timeline`, { sessionId: s.id }), 400, 'VALIDATION_ERROR', 'message');
    expectError(await api.json('POST', `/api/tasks/${task.id}/timeline`, { message: 'm' }), 400, 'VALIDATION_ERROR', 'sessionId');
    expectError(await api.json('POST', `/api/tasks/${task.id}/timeline`, { message: 'm', sessionId: s.id, type: ' ' }), 400, 'VALIDATION_ERROR', 'type');
    expectError(await api.json('POST', '/api/tasks/nope/timeline', { message: 'm', sessionId: s.id }), 404, 'NOT_FOUND');
    expectError(await api.json('POST', `/api/tasks/${task.id}/timeline`, { message: 'm', sessionId: 'nope' }), 404, 'NOT_FOUND');
    await expectEvents(api, []);
  });

  it('E12 removes the task from sessions (no timeline entry), keeps children dangling, emits only task:deleted', async () => {
    const { project, task } = await projectWithTask(api);
    const child = await api.client.createTask({ body: { projectId: project.id, title: 'child', parentId: task.id } });
    const s = await api.client.createSession({ body: { projectId: project.id, taskIds: [task.id], strategy: 'queue' } });
    await expectEvents(api, ['task:created', 'session:created', 'task:session_added', 'queue:created']);
    expect(await api.client.deleteTask({ params: { id: task.id } })).toEqual({ success: true, id: task.id });
    const [e] = await expectEvents(api, ['task:deleted']);
    expect(e!.data).toEqual({ id: task.id });
    const session = await api.client.getSession({ params: { id: s.id } });
    expect(session.taskIds).toEqual([]);
    expect(session.timeline).toEqual(s.timeline);
    expect(session.lastActivity).toBeGreaterThan(s.lastActivity);
    expect((await api.client.getTask({ params: { id: child.id } })).parentId).toBe(task.id);
    expect(dataFileExists(api, `tasks/${project.id}/${task.id}.json`)).toBe(false);
    const queue = await api.client.getQueue({ params: { id: s.id } });
    expect(queue.queue.items.map((i) => i.taskId)).toEqual([task.id]);
    expectError(await api.raw('DELETE', `/api/tasks/${task.id}`), 404, 'TASK_NOT_FOUND');
  });
});
