/**
 * Request schemas (schemas/requests/): valid and invalid bodies, and the error that the conventions'
 * "first error by x-validation-order" rule picks (field, code, message), per docs/behaviour.md §2, §8.2, §9.3, §10.
 */
import { describe, expect, it } from 'vitest';
import { firstError, isValid, stripNulls, schemaOf } from './schema-kit.js';

const err = (rel: string, body: Record<string, unknown>) => firstError(`requests/${rel}.json`, body);
const ok = (rel: string, body: Record<string, unknown>) => expect(err(rel, body)).toBeNull();

describe('E2 project-create', () => {
  it('needs a non-blank name; other fields optional strings', () => {
    ok('project-create', { name: 'P' });
    ok('project-create', { name: 'P', workingDir: '/tmp', description: '', extra: 1 });
    for (const name of [undefined, null, '', '   ', 5]) {
      expect(err('project-create', name === undefined ? {} : { name })).toMatchObject({
        field: 'name', code: 'VALIDATION_ERROR', message: 'name is required',
      });
    }
    expect(err('project-create', { name: 'P', workingDir: 3 })).toMatchObject({ field: 'workingDir', keyword: 'type' });
    expect(err('project-create', { name: 'P', description: [] })).toMatchObject({ field: 'description' });
  });

  it('null on an optional field counts as absent', () => {
    ok('project-create', { name: 'P', workingDir: null });
  });

  it('checks name before workingDir before description', () => {
    expect(err('project-create', { description: 1, workingDir: 1 })?.field).toBe('name');
    expect(err('project-create', { name: 'x', description: 1, workingDir: 1 })?.field).toBe('workingDir');
  });
});

describe('E4 project-update', () => {
  it('accepts an empty body and rejects a blank name with the E4 message', () => {
    ok('project-update', {});
    expect(err('project-update', { name: ' ' })).toMatchObject({ field: 'name', message: 'name must be a non-empty string' });
  });
});

describe('E7 task-create', () => {
  const base = { projectId: 'proj_1', title: 'T' };
  it('accepts a minimal and a full body', () => {
    ok('task-create', base);
    ok('task-create', {
      ...base, parentId: null, description: '', priority: 'high', initialPrompt: '', skillIds: ['a', ''],
      dependencies: [], model: 'opus', dueDate: '2024-02-29',
    });
  });

  it('keeps null on the nullable parentId and dueDate', () => {
    const schema = schemaOf('requests/task-create.json');
    expect(stripNulls(schema, { ...base, parentId: null, dueDate: null, description: null })).toEqual({
      ...base, parentId: null, dueDate: null,
    });
    ok('task-create', { ...base, dueDate: null });
  });

  it('requires a real calendar date in YYYY-MM-DD format', () => {
    for (const dueDate of ['2024-02-30', '2023-02-29', '2024-13-01', '2024-1-5', '2024-01-05T00:00:00Z', 'tomorrow']) {
      expect(err('task-create', { ...base, dueDate }), dueDate).toMatchObject({
        field: 'dueDate', message: 'dueDate must be a date in YYYY-MM-DD format',
      });
    }
    ok('task-create', { ...base, dueDate: '2024-02-29' });
  });

  it('follows the order of docs/behaviour.md and messages', () => {
    expect(err('task-create', { title: '' })).toMatchObject({ field: 'projectId', message: 'projectId is required' });
    expect(err('task-create', { projectId: 'p', title: '  ' })).toMatchObject({ field: 'title', message: 'title is required' });
    expect(err('task-create', { ...base, priority: 'urgent', model: 'gpt' })).toMatchObject({
      field: 'priority', message: 'priority must be one of: low, medium, high',
    });
    expect(err('task-create', { ...base, model: 'gpt', dueDate: 'x' })).toMatchObject({
      field: 'model', message: 'model must be one of: haiku, sonnet, opus',
    });
    expect(err('task-create', { ...base, skillIds: [1] })).toMatchObject({ field: 'skillIds' });
    expect(err('task-create', { ...base, parentId: 7 })).toMatchObject({ field: 'parentId' });
  });

  it('rejects the legacy status nowhere because status is not a create field', () => {
    ok('task-create', { ...base, status: 'whatever' });
  });
});

describe('E9 task-update (session-sourced rule)', () => {
  it('validates every listed field of a user update', () => {
    ok('task-update', {});
    ok('task-update', { title: 'x', status: 'pending', sessionIds: ['s1'], dueDate: null, updateSource: 'user' });
    expect(err('task-update', { title: '' })).toMatchObject({ field: 'title', message: 'title must be a non-empty string' });
    expect(err('task-update', { status: 'done' })?.field).toBe('status');
    expect(err('task-update', { sessionIds: ['ok', ' '] })?.field).toBe('sessionIds');
    expect(err('task-update', { dueDate: '2024-02-30' })?.field).toBe('dueDate');
    expect(err('task-update', { agentIds: 'a' })?.field).toBe('agentIds');
  });

  it('validates only sessionStatus when updateSource is "session"', () => {
    ok('task-update', {
      updateSource: 'session', sessionStatus: 'working', sessionId: 's', title: '', status: 'nope', priority: 9,
      sessionIds: 'x', dueDate: '2024-02-30', model: 'x',
    });
    expect(err('task-update', { updateSource: 'session', sessionStatus: 'bogus', title: '' })).toMatchObject({
      field: 'sessionStatus', code: 'VALIDATION_ERROR',
    });
  });

  it('checks updateSource first, with the message of docs/behaviour.md', () => {
    expect(err('task-update', { updateSource: 'agent', title: '' })).toMatchObject({
      field: 'updateSource', message: "updateSource must be 'user' or 'session'",
    });
  });

  it('never validates the informational sessionId', () => {
    ok('task-update', { sessionId: 42 });
    ok('task-update', { updateSource: 'session', sessionId: { any: 'thing' } });
  });

  it('orders status before sessionStatus before priority', () => {
    expect(err('task-update', { priority: 'x', sessionStatus: 'x', status: 'x' })?.field).toBe('status');
    expect(err('task-update', { priority: 'x', sessionStatus: 'x' })?.field).toBe('sessionStatus');
  });
});

describe('E10 task-timeline-create', () => {
  it('needs message then sessionId; type is a non-blank string', () => {
    ok('task-timeline-create', { message: 'm', sessionId: 's' });
    expect(err('task-timeline-create', {})).toMatchObject({ field: 'message', message: 'message is required' });
    expect(err('task-timeline-create', { message: 'm', sessionId: '' })).toMatchObject({
      field: 'sessionId', message: 'sessionId is required',
    });
    expect(err('task-timeline-create', { message: 'm', sessionId: 's', type: ' ' })?.field).toBe('type');
  });
});

describe('E14 session-create (taskIds or legacy taskId)', () => {
  it('accepts taskIds, or a legacy taskId when taskIds is absent or null', () => {
    ok('session-create', { projectId: 'p', taskIds: [] });
    ok('session-create', { projectId: 'p', taskId: 't1' });
    ok('session-create', { projectId: 'p', taskIds: null, taskId: 't1' });
  });

  it('ignores taskId (not even type-checked) when taskIds is present', () => {
    ok('session-create', { projectId: 'p', taskIds: ['t1'], taskId: 42 });
  });

  it('reports neither taskIds nor taskId as "taskIds is required" before anything else', () => {
    expect(err('session-create', {})).toMatchObject({ field: 'taskIds', message: 'taskIds is required' });
    expect(err('session-create', { projectId: 'p', taskIds: null, taskId: null })).toMatchObject({
      field: 'taskIds', message: 'taskIds is required',
    });
  });

  it('reports a bad taskIds or a non-string legacy taskId before projectId', () => {
    expect(err('session-create', { taskIds: 'x' })).toMatchObject({ field: 'taskIds', message: 'taskIds must be an array' });
    expect(err('session-create', { taskIds: ['a', ''] })?.field).toBe('taskIds');
    expect(err('session-create', { taskId: 3 })).toMatchObject({ field: 'taskId', message: 'taskId must be a string' });
    expect(err('session-create', { taskIds: [] })).toMatchObject({ field: 'projectId', message: 'projectId is required' });
  });

  it('checks the client-chosen id charset (§0.1)', () => {
    for (const id of ['orch-123', 'session-1700000000000-abc', 'a.b_c', 'x'.repeat(128)]) {
      ok('session-create', { projectId: 'p', taskIds: [], id });
    }
    for (const id of ['', '.', '..', 'a/b', 'a b', 'x'.repeat(129), 'é', 5]) {
      expect(err('session-create', { projectId: 'p', taskIds: [], id }), String(id)).toMatchObject({ field: 'id' });
    }
  });

  it('validates the other fields in order', () => {
    const base = { projectId: 'p', taskIds: [] };
    ok('session-create', { ...base, status: 'running', strategy: 'tree', env: { A: 'b' }, metadata: { role: 'x' }, _suppressCreatedEvent: true });
    expect(err('session-create', { ...base, name: '', status: 'x' })?.field).toBe('name');
    expect(err('session-create', { ...base, status: 'done' })).toMatchObject({
      field: 'status', message: 'status must be one of: spawning, idle, working, completed, failed, stopped',
    });
    expect(err('session-create', { ...base, env: { A: 1 } })).toMatchObject({ field: 'env', message: 'env values must be strings' });
    expect(err('session-create', { ...base, metadata: [] })?.field).toBe('metadata');
    expect(err('session-create', { ...base, _suppressCreatedEvent: 'yes' })?.field).toBe('_suppressCreatedEvent');
  });
});

describe('E16 session-update', () => {
  it('accepts events and timeline entries of docs/behaviour.md §2.4 E16', () => {
    ok('session-update', {});
    ok('session-update', {
      taskIds: ['t'], status: 'running', agentId: 'a', env: { K: 'v' },
      events: [{ type: 'file_modified', data: null }, { type: 't', id: 'e1', timestamp: 0, data: { x: 1 } }],
      timeline: [{}, { type: 'milestone', message: 'm', taskId: 't', metadata: {}, id: 'x', timestamp: 5 }],
    });
  });

  it('rejects bad entries with the entry field', () => {
    expect(err('session-update', { events: [{ data: 1 }] })).toMatchObject({ field: 'events', message: 'events[i].type is required' });
    expect(err('session-update', { events: [{ type: ' ' }] })?.field).toBe('events');
    expect(err('session-update', { events: [{ type: 't', timestamp: -1 }] })?.field).toBe('events');
    expect(err('session-update', { events: [{ type: 't', timestamp: 1.5 }] })?.field).toBe('events');
    expect(err('session-update', { events: [{ type: 't', id: '' }] })?.field).toBe('events');
    expect(err('session-update', { timeline: [{ type: '' }] })?.field).toBe('timeline');
    expect(err('session-update', { timeline: [{ metadata: [] }] })?.field).toBe('timeline');
    expect(err('session-update', { timeline: [{ message: 3 }] })?.field).toBe('timeline');
  });

  it('checks taskIds → status → agentId → env → events → timeline', () => {
    const all = { timeline: 1, events: 1, env: 1, agentId: 1, status: 'x', taskIds: 1 };
    const fields = ['taskIds', 'status', 'agentId', 'env', 'events', 'timeline'];
    const body: Record<string, unknown> = { ...all };
    for (const f of fields) {
      expect(err('session-update', body)?.field).toBe(f);
      delete body[f];
    }
    expect(err('session-update', body)).toBeNull();
  });
});

describe('E18 / E19 session event and timeline', () => {
  it('E18 needs a non-blank type; data is any JSON', () => {
    ok('session-event-create', { type: 'file_modified', data: { file: 'a', timestamp: '2024-01-01T00:00:00Z' } });
    ok('session-event-create', { type: 't', data: [1, 'x', null] });
    expect(err('session-event-create', { type: '' })).toMatchObject({ field: 'type', message: 'type is required' });
  });

  it('E19 needs a non-blank message; type, taskId, metadata optional', () => {
    ok('session-timeline-create', { message: 'm', type: 'task_status_changed', taskId: 'x', metadata: { a: 1 } });
    expect(err('session-timeline-create', { type: 'x' })).toMatchObject({ field: 'message', message: 'message is required' });
    expect(err('session-timeline-create', { message: 'm', type: '', metadata: 1 })?.field).toBe('type');
    expect(err('session-timeline-create', { message: 'm', taskId: 1 })?.field).toBe('taskId');
    expect(err('session-timeline-create', { message: 'm', metadata: 'x' })?.field).toBe('metadata');
  });
});

describe('E20 spawn-request (docs/behaviour.md §8.2)', () => {
  const base = { projectId: 'p', taskIds: ['t1'] };
  it('accepts the CLI and UI bodies', () => {
    ok('spawn-request', base);
    ok('spawn-request', {
      ...base, role: 'orchestrator', spawnSource: 'session', sessionId: 'sess_1', skills: ['s', ''],
      sessionName: 'N', context: { reason: 'r' },
    });
    ok('spawn-request', { ...base, strategy: 'queue', spawnSource: 'ui' });
  });

  it('uses the spawn codes in the order of §8.2', () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ taskIds: [] , spawnSource: 'x' }, 'missing_project_id', 'projectId is required'],
      [{ projectId: ' ', taskIds: ['t'] }, 'missing_project_id', 'projectId is required'],
      [{ projectId: 'p' }, 'invalid_task_ids', 'taskIds must be a non-empty array'],
      [{ projectId: 'p', taskIds: [] }, 'invalid_task_ids', 'taskIds must be a non-empty array'],
      [{ projectId: 'p', taskIds: ['a', ' '], role: 'x' }, 'invalid_task_ids', 'taskIds must be a non-empty array'],
      [{ projectId: 'p', taskIds: 't1' }, 'invalid_task_ids', 'taskIds must be a non-empty array'],
      [{ ...base, spawnSource: 'agent', role: 'x' }, 'invalid_spawn_source', "spawnSource must be 'ui' or 'session'"],
      [{ ...base, spawnSource: 'session', role: 'x' }, 'missing_session_id', "sessionId is required when spawnSource is 'session'"],
      [{ ...base, role: 'admin', strategy: 'x' }, 'invalid_role', "role must be 'worker' or 'orchestrator'"],
      [{ ...base, strategy: 'parallel', sessionName: 1 }, 'invalid_strategy', "strategy must be 'simple', 'queue', or 'tree'"],
    ];
    for (const [body, code, message] of cases) {
      expect(err('spawn-request', body), JSON.stringify(body)).toMatchObject({ code, message });
    }
  });

  it('reports step 8 (sessionName, skills, context) as VALIDATION_ERROR with the field', () => {
    expect(err('spawn-request', { ...base, sessionName: '' })).toMatchObject({ field: 'sessionName', code: 'VALIDATION_ERROR' });
    expect(err('spawn-request', { ...base, skills: 's' })).toMatchObject({ field: 'skills', code: 'VALIDATION_ERROR' });
    expect(err('spawn-request', { ...base, skills: [1] })).toMatchObject({ field: 'skills', code: 'VALIDATION_ERROR' });
    expect(err('spawn-request', { ...base, context: [] })).toMatchObject({ field: 'context', code: 'VALIDATION_ERROR' });
  });

  it('needs a usable parent id for session spawns: sessionId, else the legacy spawnedBy', () => {
    const s = { ...base, spawnSource: 'session' };
    ok('spawn-request', { ...s, sessionId: 'sess_1' });
    ok('spawn-request', { ...s, spawnedBy: 'sess_1' });
    ok('spawn-request', { ...s, sessionId: '  ', spawnedBy: 'sess_1' });
    ok('spawn-request', { ...s, sessionId: null, spawnedBy: 'sess_1' });
    for (const extra of [{}, { sessionId: '' }, { sessionId: null }, { spawnedBy: ' ' }, { sessionId: 5 }, { sessionId: '', spawnedBy: null }]) {
      expect(err('spawn-request', { ...s, ...extra }), JSON.stringify(extra)).toMatchObject({ code: 'missing_session_id' });
    }
  });

  it('ignores sessionId and spawnedBy entirely for ui spawns', () => {
    ok('spawn-request', { ...base, sessionId: 5, spawnedBy: [] });
    ok('spawn-request', { ...base, spawnSource: 'ui', sessionId: '' });
  });
});

describe('E31 / E34 queue bodies', () => {
  it('E31 reason is an optional string', () => {
    ok('queue-fail', {});
    ok('queue-fail', { reason: '' });
    ok('queue-fail', { reason: null });
    expect(err('queue-fail', { reason: 1 })).toMatchObject({ field: 'reason', message: 'reason must be a string' });
  });

  it('E34 needs a non-blank taskId', () => {
    ok('queue-push', { taskId: 't' });
    for (const body of [{}, { taskId: '' }, { taskId: null }, { taskId: 5 }]) {
      expect(err('queue-push', body)).toMatchObject({ field: 'taskId', message: 'taskId is required' });
    }
  });
});

describe('E38 template-create', () => {
  it('accepts the three non-blank fields with a valid role', () => {
    ok('template-create', { name: 'n', role: 'worker', content: 'c' });
  });

  it('reports a missing or blank field (first of name, role, content) before an invalid role', () => {
    const msg = 'name, role, and content are required';
    expect(err('template-create', {})).toMatchObject({ field: 'name', message: msg });
    expect(err('template-create', { name: 'n', role: 'admin' })).toMatchObject({ field: 'content', message: msg });
    expect(err('template-create', { name: 'n', content: 'c' })).toMatchObject({ field: 'role', message: msg });
    expect(err('template-create', { name: 'n', role: ' ', content: 'c' })).toMatchObject({ field: 'role', message: msg });
    expect(err('template-create', { name: 'n', role: 3, content: '' })).toMatchObject({ field: 'role', message: msg });
    expect(err('template-create', { name: '', role: 'admin', content: 'c' })).toMatchObject({ field: 'name', message: msg });
  });

  it('reports "Invalid role" once all three are present', () => {
    expect(err('template-create', { name: 'n', role: 'admin', content: 'c' })).toMatchObject({
      field: 'role', code: 'VALIDATION_ERROR', message: 'Invalid role',
    });
    expect(err('template-create', { name: 'n', role: 'Worker', content: 'c' })?.message).toBe('Invalid role');
  });
});

describe('E39 template-update', () => {
  it('needs at least one of name or content, reported on the name field', () => {
    const msg = 'At least one of name or content is required';
    expect(err('template-update', {})).toMatchObject({ field: 'name', message: msg });
    expect(err('template-update', { name: null, content: null, role: 'worker' })).toMatchObject({ field: 'name', message: msg });
  });

  it('then validates name and content as non-blank strings', () => {
    ok('template-update', { name: 'n' });
    ok('template-update', { content: 'c' });
    ok('template-update', { name: 'n', content: 'c', role: 'ignored', isDefault: true });
    expect(err('template-update', { name: '', content: 'c' })).toMatchObject({ field: 'name', message: 'name must be a non-empty string' });
    expect(err('template-update', { content: 1 })).toMatchObject({ field: 'content' });
  });
});

describe('raw validators', () => {
  it('agree with the picked errors (a body with an error is invalid)', () => {
    expect(isValid('requests/spawn-request.json', { projectId: 'p', taskIds: ['t'], spawnSource: 'session' })).toBe(false);
    expect(isValid('requests/spawn-request.json', { projectId: 'p', taskIds: ['t'], spawnSource: 'session', spawnedBy: 's' })).toBe(true);
  });
});
