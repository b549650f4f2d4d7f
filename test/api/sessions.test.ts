/** docs/behaviour.md §2.4 (E13–E19, E21, E22) through the real server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataFileExists, expectError, expectEvents, projectWithTask, readData, startApi, type Api } from './harness.js';

describe('sessions', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => api.close());

  it('E14 creates with defaults, initial timeline, links tasks; events session:created → task:session_added', async () => {
    const { project, task } = await projectWithTask(api);
    const t2 = await api.client.createTask({ body: { projectId: project.id, title: 'two' } });
    await expectEvents(api, ['task:created']);
    const res = await api.json('POST', '/api/sessions', { projectId: project.id, taskIds: [task.id, t2.id, task.id], hostname: 'x' });
    expect(res.status).toBe(201);
    const s = res.json as Record<string, unknown> & { id: string; startedAt: number; timeline: unknown[] };
    expect(s).toEqual({
      id: expect.stringMatching(/^sess_[0-9]+_[0-9a-z]{9}$/),
      projectId: project.id,
      taskIds: [task.id, t2.id],
      name: 'Unnamed Session',
      env: {},
      strategy: 'simple',
      status: 'idle',
      startedAt: expect.any(Number),
      lastActivity: s.startedAt,
      completedAt: null,
      hostname: expect.any(String),
      platform: process.platform,
      events: [],
      timeline: [
        { id: expect.stringMatching(/^evt_/), type: 'session_started', timestamp: s.startedAt, message: 'Session started' },
        { id: expect.stringMatching(/^evt_/), type: 'task_started', timestamp: s.startedAt, message: 'Task added to session', taskId: task.id },
        { id: expect.stringMatching(/^evt_/), type: 'task_started', timestamp: s.startedAt, message: 'Task added to session', taskId: t2.id },
      ],
    });
    const events = await expectEvents(api, ['session:created', 'task:session_added', 'task:session_added']);
    expect(events[0]!.data).toEqual(s);
    expect(events[1]!.data).toEqual({ taskId: task.id, sessionId: s.id });
    expect((await api.client.getTask({ params: { id: task.id } })).sessionIds).toEqual([s.id]);
    expect(readData(api, `sessions/${s.id}.json`)).toEqual(s);
  });

  it('E14 the maestro CLI register: client id, running → working, metadata, queue strategy, suppressed created event', async () => {
    const { project, task } = await projectWithTask(api);
    const s = await api.client.createSession({
      body: {
        id: 'orch-123',
        projectId: project.id,
        taskIds: [task.id],
        status: 'running' as never,
        strategy: 'queue',
        name: 'Orchestrator',
        metadata: { role: 'orchestrator' },
        env: { A: 'b' },
        agentId: 'agent-1',
      },
    });
    expect(s).toMatchObject({ id: 'orch-123', status: 'working', strategy: 'queue', metadata: { role: 'orchestrator' }, env: { A: 'b' }, agentId: 'agent-1' });
    const events = await expectEvents(api, ['session:created', 'task:session_added', 'queue:created']);
    expect(events[2]!.data).toMatchObject({ sessionId: 'orch-123', queue: { strategy: 'queue', currentIndex: -1, items: [{ taskId: task.id, status: 'queued' }] } });
    expect(dataFileExists(api, 'queues/orch-123.json')).toBe(true);
    const legacy = await api.client.createSession({ body: { projectId: project.id, taskId: task.id, _suppressCreatedEvent: true, status: 'completed' } as never });
    expect(legacy.taskIds).toEqual([task.id]);
    expect(legacy.completedAt).toBe(legacy.startedAt);
    expect(legacy).not.toHaveProperty('_suppressCreatedEvent');
    await expectEvents(api, ['task:session_added']);
  });

  it('E14 errors in the order of docs/behaviour.md', async () => {
    const { project, task } = await projectWithTask(api);
    await api.client.createSession({ body: { id: 'taken', projectId: project.id, taskIds: [] } });
    const cases: Array<[unknown, number, string, string?]> = [
      [{ projectId: project.id }, 400, 'VALIDATION_ERROR', 'taskIds'],
      [{ projectId: project.id, taskIds: null }, 400, 'VALIDATION_ERROR', 'taskIds'],
      [{ taskIds: 'x' }, 400, 'VALIDATION_ERROR', 'taskIds'],
      [{ taskIds: [task.id, 3] }, 400, 'VALIDATION_ERROR', 'taskIds'],
      [{ taskId: 5, projectId: project.id }, 400, 'VALIDATION_ERROR', 'taskId'],
      [{ taskIds: [] }, 400, 'VALIDATION_ERROR', 'projectId'],
      [{ taskIds: [], projectId: project.id, id: '../etc' }, 400, 'VALIDATION_ERROR', 'id'],
      [{ taskIds: [], projectId: project.id, id: '..' }, 400, 'VALIDATION_ERROR', 'id'],
      [{ taskIds: [], projectId: project.id, id: 'a'.repeat(129) }, 400, 'VALIDATION_ERROR', 'id'],
      [{ taskIds: [], projectId: project.id, name: '' }, 400, 'VALIDATION_ERROR', 'name'],
      [{ taskIds: [], projectId: project.id, strategy: 'fast' }, 400, 'VALIDATION_ERROR', 'strategy'],
      [{ taskIds: [], projectId: project.id, status: 'RUNNING' }, 400, 'VALIDATION_ERROR', 'status'],
      [{ taskIds: [], projectId: project.id, env: { a: 1 } }, 400, 'VALIDATION_ERROR', 'env'],
      [{ taskIds: [], projectId: project.id, metadata: [1] }, 400, 'VALIDATION_ERROR', 'metadata'],
      [{ taskIds: [], projectId: project.id, _suppressCreatedEvent: 'yes' }, 400, 'VALIDATION_ERROR', '_suppressCreatedEvent'],
      [{ taskIds: [], projectId: project.id, id: 'taken' }, 400, 'VALIDATION_ERROR', 'id'],
      [{ taskIds: [], projectId: 'nope', id: 'taken' }, 400, 'VALIDATION_ERROR', 'id'],
      [{ taskIds: [task.id], projectId: 'nope' }, 404, 'PROJECT_NOT_FOUND'],
      [{ taskIds: [task.id, 'nope'], projectId: project.id }, 404, 'TASK_NOT_FOUND'],
    ];
    for (const [body, status, code, field] of cases) {
      expectError(await api.json('POST', '/api/sessions', body), status, code, field);
    }
    await expectEvents(api, ['session:created']);
    expect((await api.client.getTask({ params: { id: task.id } })).sessionIds).toEqual([]);
  });

  it('E13 filters: projectId, taskId, status (legacy running), active=true only', async () => {
    const { project, task } = await projectWithTask(api);
    const other = await api.client.createProject({ body: { name: 'other' } });
    const a = await api.client.createSession({ body: { projectId: project.id, taskIds: [task.id], status: 'working' } });
    const b = await api.client.createSession({ body: { projectId: project.id, taskIds: [], status: 'stopped' } });
    const c = await api.client.createSession({ body: { projectId: other.id, taskIds: [task.id] } });
    await api.log.take(); // settled, then dropped
    const ids = (list: Array<{ id: string }>) => list.map((s) => s.id);
    expect(ids(await api.client.listSessions({ query: { projectId: project.id } }))).toEqual([a.id, b.id]);
    expect(ids(await api.client.listSessions({ query: { taskId: task.id } }))).toEqual([a.id, c.id]);
    expect(ids(await api.client.listSessions({ query: { projectId: project.id, status: 'running' } }))).toEqual([a.id]);
    expect(ids(await api.client.listSessions({ query: { projectId: project.id, active: 'true' } }))).toEqual([a.id]);
    expect(ids(await api.client.listSessions({ query: { projectId: project.id, active: 'yes' } }))).toEqual([a.id, b.id]);
    expectError(await api.raw('GET', '/api/sessions/nope'), 404, 'SESSION_NOT_FOUND');
    expectError(await api.raw('GET', '/api/sessions/spawn'), 404, 'SESSION_NOT_FOUND');
  });

  it('E16 applies taskIds diff, status + completedAt, env merge, events and timeline appends, in order', async () => {
    const { project, task } = await projectWithTask(api);
    const t2 = await api.client.createTask({ body: { projectId: project.id, title: 'two' } });
    const s = await api.client.createSession({ body: { projectId: project.id, taskIds: [task.id], env: { A: '1' } } });
    await api.log.take(); // settled, then dropped
    const u = await api.client.updateSession({
      params: { id: s.id },
      body: {
        taskIds: [t2.id],
        status: 'completed',
        env: { B: '2' },
        agentId: 'agent',
        events: [{ type: 'tool_call', data: null }, { type: 'file_modified', id: 'mine', timestamp: 5 }],
        timeline: [{ message: 'hello' }, { type: 'milestone', taskId: 'any', metadata: { k: 1 } }],
        completedAt: 1,
        name: 'ignored',
      } as never,
    });
    expect(u).toMatchObject({ taskIds: [t2.id], status: 'completed', completedAt: u.lastActivity, env: { A: '1', B: '2' }, agentId: 'agent', name: 'Unnamed Session' });
    expect(u.events).toEqual([
      { id: expect.stringMatching(/^evt_/), timestamp: expect.any(Number), type: 'tool_call', data: null },
      { id: 'mine', timestamp: 5, type: 'file_modified' },
    ]);
    expect(u.timeline.slice(-4)).toEqual([
      { id: expect.any(String), type: 'task_completed', timestamp: expect.any(Number), message: 'Removed task from session', taskId: task.id },
      { id: expect.any(String), type: 'task_started', timestamp: expect.any(Number), message: 'Task added to session', taskId: t2.id },
      { id: expect.any(String), type: 'progress', timestamp: expect.any(Number), message: 'hello' },
      { id: expect.any(String), type: 'milestone', timestamp: expect.any(Number), taskId: 'any', metadata: { k: 1 } },
    ]);
    const events = await expectEvents(api, ['session:updated', 'session:task_removed', 'task:session_removed', 'session:task_added', 'task:session_added']);
    expect(events[0]!.data).toEqual(u);
    expect((await api.client.getTask({ params: { id: task.id } })).sessionIds).toEqual([]);
    expect((await api.client.getTask({ params: { id: t2.id } })).sessionIds).toEqual([s.id]);
    // completed → stopped stamps again; → running clears.
    const stopped = await api.client.updateSession({ params: { id: s.id }, body: { status: 'stopped' } });
    expect(stopped.completedAt).toBe(stopped.lastActivity);
    expect(stopped.completedAt).toBeGreaterThan(u.completedAt!);
    const again = await api.client.updateSession({ params: { id: s.id }, body: { status: 'stopped' } });
    expect(again.completedAt).toBe(stopped.completedAt);
    const running = await api.client.updateSession({ params: { id: s.id }, body: { status: 'running' as never } });
    expect(running).toMatchObject({ status: 'working', completedAt: null });
    const empty = await api.client.updateSession({ params: { id: s.id } });
    expect(empty.lastActivity).toBeGreaterThan(running.lastActivity);
    await expectEvents(api, ['session:updated', 'session:updated', 'session:updated', 'session:updated']);
  });

  it('E16 errors: lookup, then fields in order, then unknown added task', async () => {
    const { project } = await projectWithTask(api);
    const s = await api.client.createSession({ body: { projectId: project.id, taskIds: [] } });
    await api.log.take(); // settled, then dropped
    expectError(await api.json('PATCH', '/api/sessions/nope', { status: 'x' }), 404, 'SESSION_NOT_FOUND');
    expectError(await api.json('PATCH', `/api/sessions/${s.id}`, { taskIds: 'x', status: 'x' }), 400, 'VALIDATION_ERROR', 'taskIds');
    expectError(await api.json('PATCH', `/api/sessions/${s.id}`, { status: 'x' }), 400, 'VALIDATION_ERROR', 'status');
    expectError(await api.json('PATCH', `/api/sessions/${s.id}`, { agentId: 1 }), 400, 'VALIDATION_ERROR', 'agentId');
    expectError(await api.json('PATCH', `/api/sessions/${s.id}`, { env: { a: 1 } }), 400, 'VALIDATION_ERROR', 'env');
    expectError(await api.json('PATCH', `/api/sessions/${s.id}`, { events: [{ data: 1 }] }), 400, 'VALIDATION_ERROR', 'events');
    expectError(await api.json('PATCH', `/api/sessions/${s.id}`, { events: [{ type: 't', timestamp: -1 }] }), 400, 'VALIDATION_ERROR', 'events');
    expectError(await api.json('PATCH', `/api/sessions/${s.id}`, { timeline: [{ type: '' }] }), 400, 'VALIDATION_ERROR', 'timeline');
    expectError(await api.json('PATCH', `/api/sessions/${s.id}`, { taskIds: ['task_nope'] }), 404, 'TASK_NOT_FOUND');
    await expectEvents(api, []);
    expect(await api.client.getSession({ params: { id: s.id } })).toEqual(s);
  });

  it('E18/E19 append events and timeline entries; session:updated', async () => {
    const { project } = await projectWithTask(api);
    const s = await api.client.createSession({ body: { projectId: project.id, taskIds: [] } });
    await api.log.take(); // settled, then dropped
    const withEvent = await api.client.addSessionEvent({
      params: { id: s.id },
      body: { type: 'file_modified', data: { file: 'a.ts', timestamp: '2026-01-01T00:00:00.000Z' } },
    });
    expect(withEvent.events).toEqual([{ id: expect.stringMatching(/^evt_/), timestamp: withEvent.lastActivity, type: 'file_modified', data: { file: 'a.ts', timestamp: '2026-01-01T00:00:00.000Z' } }]);
    const noData = await api.client.addSessionEvent({ params: { id: s.id }, body: { type: 'ping' } });
    expect(noData.events[1]).not.toHaveProperty('data');
    const types = ['progress', 'task_completed', 'task_blocked', 'error', 'needs_input', 'task_status_changed'];
    let last = noData;
    for (const type of types) {
      last = await api.client.addSessionTimelineEntry({ params: { id: s.id }, body: { type, message: `m-${type}`, taskId: 't' } });
    }
    expect(last.timeline.slice(-types.length).map((t) => t.type)).toEqual(types);
    const dflt = await api.client.addSessionTimelineEntry({ params: { id: s.id }, body: { message: 'plain', metadata: { x: 1 } } });
    expect(dflt.timeline.at(-1)).toEqual({ id: expect.any(String), type: 'progress', timestamp: expect.any(Number), message: 'plain', metadata: { x: 1 } });
    await expectEvents(api, Array(2 + types.length + 1).fill('session:updated'));
    expectError(await api.json('POST', `/api/sessions/${s.id}/events`, {}), 400, 'VALIDATION_ERROR', 'type');
    expectError(await api.json('POST', '/api/sessions/nope/events', { type: 'x' }), 404, 'NOT_FOUND');
    expectError(await api.json('POST', '/api/sessions/nope/events', {}), 400, 'VALIDATION_ERROR', 'type');
    expectError(await api.json('POST', `/api/sessions/${s.id}/timeline`, { type: 'x' }), 400, 'VALIDATION_ERROR', 'message');
    expectError(await api.json('POST', `/api/sessions/${s.id}/timeline`, { message: 'm', metadata: 'x' }), 400, 'VALIDATION_ERROR', 'metadata');
    expectError(await api.json('POST', '/api/sessions/nope/timeline', { message: 'm' }), 404, 'NOT_FOUND');
  });

  it('E21/E22 associate and dissociate idempotently, with LINK/UNLINK events only on change', async () => {
    const { project, task } = await projectWithTask(api);
    const s = await api.client.createSession({ body: { projectId: project.id, taskIds: [] } });
    await api.log.take(); // settled, then dropped
    const linked = await api.client.addTaskToSession({ params: { id: s.id, taskId: task.id } });
    expect(linked.taskIds).toEqual([task.id]);
    await expectEvents(api, ['session:task_added', 'task:session_added']);
    const again = await api.client.addTaskToSession({ params: { id: s.id, taskId: task.id } });
    expect(again).toEqual(linked);
    await expectEvents(api, []);
    const unlinked = await api.client.removeTaskFromSession({ params: { id: s.id, taskId: task.id } });
    expect(unlinked.taskIds).toEqual([]);
    await expectEvents(api, ['session:task_removed', 'task:session_removed']);
    await api.client.removeTaskFromSession({ params: { id: s.id, taskId: task.id } });
    await expectEvents(api, []);
    expectError(await api.raw('POST', `/api/sessions/nope/tasks/${task.id}`), 404, 'NOT_FOUND');
    expectError(await api.raw('POST', `/api/sessions/${s.id}/tasks/nope`), 404, 'NOT_FOUND');
    expectError(await api.raw('DELETE', `/api/sessions/${s.id}/tasks/nope`), 404, 'NOT_FOUND');
    // The CLI sends Content-Type: application/json with an empty body, and {} on bodiless POSTs.
    const withCt = await api.raw('POST', `/api/sessions/${s.id}/tasks/${task.id}`, { headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(withCt.status).toBe(200);
    await expectEvents(api, ['session:task_added', 'task:session_added']);
  });

  it('E17 unlinks each task (task:session_removed → session:task_removed), deletes queue, keeps manifest dir', async () => {
    const { project, task } = await projectWithTask(api);
    const t2 = await api.client.createTask({ body: { projectId: project.id, title: 'two' } });
    const s = await api.client.createSession({ body: { projectId: project.id, taskIds: [task.id, t2.id], strategy: 'queue' } });
    await api.log.take(); // settled, then dropped
    expect(await api.client.deleteSession({ params: { id: s.id } })).toEqual({ success: true, id: s.id });
    const events = await expectEvents(api, [
      'task:session_removed',
      'session:task_removed',
      'task:session_removed',
      'session:task_removed',
      'session:deleted',
    ]);
    expect(events[0]!.data).toEqual({ taskId: task.id, sessionId: s.id });
    expect(events[4]!.data).toEqual({ id: s.id });
    expect((await api.client.getTask({ params: { id: task.id } })).sessionIds).toEqual([]);
    expect(dataFileExists(api, `sessions/${s.id}.json`)).toBe(false);
    expect(dataFileExists(api, `queues/${s.id}.json`)).toBe(false);
    expectError(await api.raw('DELETE', `/api/sessions/${s.id}`), 404, 'SESSION_NOT_FOUND');
  });
});
