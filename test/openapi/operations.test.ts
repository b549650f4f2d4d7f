/**
 * spec/openapi.yaml against the operation table of docs/spec-conventions.md §3 and the endpoint blocks of
 * docs/behaviour.md §2, §3.2, §3.3, §4.4/§4.5, §8.2 and §9.2/§9.3.
 */
import { describe, expect, it } from 'vitest';
import { deref, exampleValues, isObject, loadSpec, operations, staticOperations, type Json, type JsonObject } from './spec-helpers.js';

type Row = [n: string, operationId: string, method: string, path: string, tag: string, ok: string];

// docs/behaviour.md §2.1 catalogue × spec-conventions §3 table.
const TABLE: Row[] = [
  ['E1', 'listProjects', 'get', '/api/projects', 'projects', '200'],
  ['E2', 'createProject', 'post', '/api/projects', 'projects', '201'],
  ['E3', 'getProject', 'get', '/api/projects/{id}', 'projects', '200'],
  ['E4', 'updateProject', 'put', '/api/projects/{id}', 'projects', '200'],
  ['E5', 'deleteProject', 'delete', '/api/projects/{id}', 'projects', '200'],
  ['E6', 'listTasks', 'get', '/api/tasks', 'tasks', '200'],
  ['E7', 'createTask', 'post', '/api/tasks', 'tasks', '201'],
  ['E8', 'getTask', 'get', '/api/tasks/{id}', 'tasks', '200'],
  ['E9', 'updateTask', 'patch', '/api/tasks/{id}', 'tasks', '200'],
  ['E10', 'addTaskTimelineEntry', 'post', '/api/tasks/{id}/timeline', 'tasks', '200'],
  ['E11', 'listTaskChildren', 'get', '/api/tasks/{id}/children', 'tasks', '200'],
  ['E12', 'deleteTask', 'delete', '/api/tasks/{id}', 'tasks', '200'],
  ['E13', 'listSessions', 'get', '/api/sessions', 'sessions', '200'],
  ['E14', 'createSession', 'post', '/api/sessions', 'sessions', '201'],
  ['E15', 'getSession', 'get', '/api/sessions/{id}', 'sessions', '200'],
  ['E16', 'updateSession', 'patch', '/api/sessions/{id}', 'sessions', '200'],
  ['E17', 'deleteSession', 'delete', '/api/sessions/{id}', 'sessions', '200'],
  ['E18', 'addSessionEvent', 'post', '/api/sessions/{id}/events', 'sessions', '200'],
  ['E19', 'addSessionTimelineEntry', 'post', '/api/sessions/{id}/timeline', 'sessions', '200'],
  ['E20', 'spawnSession', 'post', '/api/sessions/spawn', 'spawn', '201'],
  ['E21', 'addTaskToSession', 'post', '/api/sessions/{id}/tasks/{taskId}', 'sessions', '200'],
  ['E22', 'removeTaskFromSession', 'delete', '/api/sessions/{id}/tasks/{taskId}', 'sessions', '200'],
  ['E23', 'listSkills', 'get', '/api/skills', 'skills', '200'],
  ['E24', 'getSkill', 'get', '/api/skills/{id}', 'skills', '200'],
  ['E25', 'listSkillsForRole', 'get', '/api/skills/role/{role}', 'skills', '200'],
  ['E26', 'reloadSkill', 'post', '/api/skills/{id}/reload', 'skills', '200'],
  ['E27', 'getQueue', 'get', '/api/sessions/{id}/queue', 'queue', '200'],
  ['E28', 'peekQueue', 'get', '/api/sessions/{id}/queue/top', 'queue', '200'],
  ['E29', 'startQueueItem', 'post', '/api/sessions/{id}/queue/start', 'queue', '200'],
  ['E30', 'completeQueueItem', 'post', '/api/sessions/{id}/queue/complete', 'queue', '200'],
  ['E31', 'failQueueItem', 'post', '/api/sessions/{id}/queue/fail', 'queue', '200'],
  ['E32', 'skipQueueItem', 'post', '/api/sessions/{id}/queue/skip', 'queue', '200'],
  ['E33', 'listQueueItems', 'get', '/api/sessions/{id}/queue/items', 'queue', '200'],
  ['E34', 'pushQueueItem', 'post', '/api/sessions/{id}/queue/push', 'queue', '200'],
  ['E35', 'listTemplates', 'get', '/api/templates', 'templates', '200'],
  ['E36', 'getTemplate', 'get', '/api/templates/{id}', 'templates', '200'],
  ['E37', 'getTemplateForRole', 'get', '/api/templates/role/{role}', 'templates', '200'],
  ['E38', 'createTemplate', 'post', '/api/templates', 'templates', '201'],
  ['E39', 'updateTemplate', 'put', '/api/templates/{id}', 'templates', '200'],
  ['E40', 'resetTemplate', 'post', '/api/templates/{id}/reset', 'templates', '200'],
  ['E41', 'deleteTemplate', 'delete', '/api/templates/{id}', 'templates', '200'],
  ['E42', 'getDefaultTemplate', 'get', '/api/templates/default/{role}', 'templates', '200'],
  ['E43', 'getHealth', 'get', '/health', 'health', '200'],
  ['E44', 'getWsStatus', 'get', '/ws-status', 'health', '200'],
];

// Events per operation, in order (docs/behaviour.md §2 endpoint blocks, §4.4, §4.5); repeated groups written once.
const LINK = ['session:task_added', 'task:session_added'];
const UNLINK = ['session:task_removed', 'task:session_removed'];
const EMITS: Record<string, string[]> = {
  createProject: ['project:created'],
  updateProject: ['project:updated'],
  deleteProject: ['project:deleted'],
  createTask: ['task:created'],
  updateTask: ['task:updated', ...UNLINK, ...LINK],
  addTaskTimelineEntry: ['session:updated'],
  deleteTask: ['task:deleted'],
  createSession: ['session:created', 'task:session_added', 'queue:created'],
  updateSession: ['session:updated', ...UNLINK, ...LINK],
  deleteSession: ['task:session_removed', 'session:task_removed', 'session:deleted'],
  addSessionEvent: ['session:updated'],
  addSessionTimelineEntry: ['session:updated'],
  spawnSession: ['session:spawn', 'task:session_added', 'queue:created'],
  addTaskToSession: LINK,
  removeTaskFromSession: UNLINK,
  startQueueItem: ['queue:item_started', 'queue:updated', 'task:updated'],
  completeQueueItem: ['queue:item_completed', 'queue:updated', 'task:updated'],
  failQueueItem: ['queue:item_failed', 'queue:updated', 'task:updated'],
  skipQueueItem: ['queue:item_skipped', 'queue:updated', 'task:updated'],
  pushQueueItem: ['queue:updated', ...LINK],
  createTemplate: ['template:created'],
  updateTemplate: ['template:updated'],
  resetTemplate: ['template:updated'],
  deleteTemplate: ['template:deleted'],
};
// Operations whose events repeat or depend on the outcome: they must explain it in x-emits-note.
const NEEDS_NOTE = [
  'updateTask', 'createSession', 'updateSession', 'deleteSession', 'spawnSession', 'addTaskToSession', 'removeTaskFromSession',
  'startQueueItem', 'completeQueueItem', 'failQueueItem', 'skipQueueItem', 'pushQueueItem',
];

const AFTER_LOOKUP = ['updateProject', 'updateTask', 'updateSession', 'failQueueItem', 'pushQueueItem', 'updateTemplate'];

// Request body schema per operation (spec-conventions §1, schemas/requests/).
const BODIES: Record<string, string> = {
  createProject: 'project-create', updateProject: 'project-update', createTask: 'task-create', updateTask: 'task-update',
  addTaskTimelineEntry: 'task-timeline-create', createSession: 'session-create', updateSession: 'session-update',
  addSessionEvent: 'session-event-create', addSessionTimelineEntry: 'session-timeline-create', spawnSession: 'spawn-request',
  failQueueItem: 'queue-fail', pushQueueItem: 'queue-push', createTemplate: 'template-create', updateTemplate: 'template-update',
  // docs/behaviour.md §14.5: the optional `{}` the maestro CLI sends
  startQueueItem: 'empty-object', completeQueueItem: 'empty-object', skipQueueItem: 'empty-object',
};

// Success schema per operation: entity, [entity] for a list, or a schemas/responses file.
const SUCCESS: Record<string, string> = {
  listProjects: '[entities/project]', createProject: 'entities/project', getProject: 'entities/project',
  updateProject: 'entities/project', deleteProject: 'responses/delete-result',
  listTasks: '[entities/task]', createTask: 'entities/task', getTask: 'entities/task', updateTask: 'entities/task',
  addTaskTimelineEntry: 'responses/task-timeline-result', listTaskChildren: '[entities/task]', deleteTask: 'responses/delete-result',
  listSessions: '[entities/session]', createSession: 'entities/session', getSession: 'entities/session',
  updateSession: 'entities/session', deleteSession: 'responses/delete-result', addSessionEvent: 'entities/session',
  addSessionTimelineEntry: 'entities/session', spawnSession: 'responses/spawn-response', addTaskToSession: 'entities/session',
  removeTaskFromSession: 'entities/session',
  listSkills: '[entities/skill-summary]', getSkill: 'entities/skill-detail', listSkillsForRole: '[entities/skill-summary]',
  reloadSkill: 'entities/skill-reloaded',
  getQueue: 'responses/queue-state-response', peekQueue: 'responses/queue-top-response', startQueueItem: 'responses/queue-start-response',
  completeQueueItem: 'responses/queue-complete-response', failQueueItem: 'responses/queue-fail-response',
  skipQueueItem: 'responses/queue-skip-response', listQueueItems: 'responses/queue-items-response', pushQueueItem: 'responses/queue-push-response',
  listTemplates: '[entities/template]', getTemplate: 'entities/template', getTemplateForRole: 'entities/template',
  createTemplate: 'entities/template', updateTemplate: 'entities/template', resetTemplate: 'entities/template',
  deleteTemplate: 'responses/delete-result', getDefaultTemplate: 'responses/default-template-response',
  getHealth: 'responses/health', getWsStatus: 'responses/ws-status',
};

// Error codes per status and operation. 401/403/413/415 and the plain 500 are checked separately.
const SPAWN_400 = ['VALIDATION_ERROR', 'missing_project_id', 'invalid_task_ids', 'invalid_spawn_source', 'missing_session_id', 'invalid_role', 'invalid_strategy'];
const V = ['VALIDATION_ERROR'];
const NF = ['NOT_FOUND'];
const ERRORS_400: Record<string, string[]> = {
  createProject: V, updateProject: V, deleteProject: ['PROJECT_HAS_DEPENDENCIES'], createTask: V, updateTask: V,
  addTaskTimelineEntry: V, createSession: V, updateSession: V, addSessionEvent: V, addSessionTimelineEntry: V,
  spawnSession: SPAWN_400, addTaskToSession: V, listSkillsForRole: V, reloadSkill: V,
  getQueue: V, peekQueue: V, startQueueItem: V, completeQueueItem: V, failQueueItem: V, skipQueueItem: V,
  listQueueItems: V, pushQueueItem: V, getTemplateForRole: V, createTemplate: V, updateTemplate: V, resetTemplate: V,
  getDefaultTemplate: V,
};
const ERRORS_404: Record<string, string[]> = {
  getProject: ['PROJECT_NOT_FOUND'], updateProject: ['PROJECT_NOT_FOUND'], deleteProject: ['PROJECT_NOT_FOUND'],
  createTask: ['PROJECT_NOT_FOUND', 'TASK_NOT_FOUND'], getTask: ['TASK_NOT_FOUND'], updateTask: ['TASK_NOT_FOUND', 'SESSION_NOT_FOUND'],
  addTaskTimelineEntry: NF, listTaskChildren: ['TASK_NOT_FOUND'], deleteTask: ['TASK_NOT_FOUND'],
  createSession: ['PROJECT_NOT_FOUND', 'TASK_NOT_FOUND'], getSession: ['SESSION_NOT_FOUND'],
  updateSession: ['SESSION_NOT_FOUND', 'TASK_NOT_FOUND'], deleteSession: ['SESSION_NOT_FOUND'], addSessionEvent: NF,
  addSessionTimelineEntry: NF, spawnSession: ['task_not_found', 'project_not_found', 'parent_session_not_found'],
  addTaskToSession: NF, removeTaskFromSession: NF, getSkill: NF, reloadSkill: NF,
  getQueue: NF, peekQueue: NF, startQueueItem: NF, completeQueueItem: NF, failQueueItem: NF, skipQueueItem: NF,
  listQueueItems: NF, pushQueueItem: NF, getTemplate: NF, getTemplateForRole: NF, updateTemplate: NF, resetTemplate: NF,
  deleteTemplate: NF,
};
const ERRORS_500: Record<string, string[]> = { spawnSession: ['manifest_generation_failed', 'spawn_error', 'INTERNAL_ERROR'] };

const doc = loadSpec();
const ops = operations(doc);
const byId = new Map(ops.map((o) => [o.op.operationId as string, o]));

function errorCodes(response: JsonObject): string[] {
  const schema = (response.content as JsonObject)['application/json'] as JsonObject;
  const s = schema.schema as JsonObject;
  const allOf = s.allOf as JsonObject[];
  expect(allOf[0]).toEqual({ $ref: '../schemas/responses/error.json' });
  const code = (allOf[1]!.properties as JsonObject).code as JsonObject;
  return code.enum as string[];
}

function responsesOf(operationId: string): Record<string, JsonObject> {
  const { op } = byId.get(operationId)!;
  return Object.fromEntries(Object.entries(op.responses as JsonObject).map(([s, r]) => [s, deref(doc, r)]));
}

describe('spec/openapi.yaml: document', () => {
  it('is OpenAPI 3.1.0, API version 1.x.y, one server on 127.0.0.1:3000', () => {
    expect(doc.openapi).toBe('3.1.0');
    // Additions bump the minor version (CONTRIBUTING.md); a major bump is a deliberate break and changes this line.
    expect((doc.info as JsonObject).version).toMatch(/^1\.\d+\.\d+$/);
    expect(doc.servers).toEqual([expect.objectContaining({ url: 'http://127.0.0.1:3000' })]);
  });

  it('models bearer security globally, with anonymous access allowed (default setup needs no token)', () => {
    expect(doc.security).toEqual([{}, { bearerAuth: [] }]);
    const schemes = (doc.components as JsonObject).securitySchemes as JsonObject;
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(byId.get('getHealth')?.op.security).toEqual([]);
    for (const { op } of ops) if (op.operationId !== 'getHealth') expect(op.security, String(op.operationId)).toBeUndefined();
  });

  it('has exactly the 44 operations of the table, with their method, path, tag and number of docs/behaviour.md', () => {
    expect(ops).toHaveLength(44);
    expect([...byId.keys()].sort()).toEqual(TABLE.map((r) => r[1]).sort());
    for (const [n, id, method, p, tag] of TABLE) {
      const o = byId.get(id);
      if (!o) continue; // reported by the sorted list comparison above
      expect({ id, method: o.method, path: o.path, tags: o.op.tags }).toEqual({ id, method, path: p, tags: [tag] });
      expect(String(o.op.summary)).toMatch(new RegExp(`^${n}\\b`));
    }
  });

  it('declares every tag it uses', () => {
    const declared = (doc.tags as JsonObject[]).map((t) => t.name);
    expect(declared.sort()).toEqual(['board', 'health', 'projects', 'queue', 'reference', 'sessions', 'skills', 'spawn', 'tasks', 'templates']);
  });
});

describe('spec/openapi.yaml: the static file routes (x-static, docs/behaviour.md §14.3)', () => {
  const statics = staticOperations(doc);
  it('are GET /docs, /docs/openapi.yaml, /docs/asyncapi.yaml, /docs/{asset}, /ui, /ui/{asset}, tagged reference / board', () => {
    expect(statics.map((o) => `${o.method} ${o.path} ${String((o.op.tags as string[])[0])}`).sort()).toEqual([
      'get /docs reference',
      'get /docs/asyncapi.yaml reference',
      'get /docs/openapi.yaml reference',
      'get /docs/{asset} reference',
      'get /ui board',
      'get /ui/{asset} board',
    ]);
  });
  it.each(statics.map((o) => [String(o.op.operationId), o] as const))('%s: no token, no events, a 200 with non-JSON media types, 403, and 404 only for {asset}', (_id, o) => {
    expect(o.op.security).toEqual([]);
    expect(o.op['x-emits']).toEqual([]);
    const statuses = Object.keys(o.op.responses as JsonObject).sort();
    expect(statuses).toEqual(o.path.includes('{asset}') ? ['200', '403', '404'] : ['200', '403']);
    const ok = (o.op.responses as JsonObject)['200'] as JsonObject;
    const types = Object.keys(ok.content as JsonObject);
    expect(types.length).toBeGreaterThan(0);
    for (const t of types) expect(['text/html', 'application/yaml', 'text/javascript', 'text/css']).toContain(t);
  });
});

describe.each(TABLE)('%s %s', (_n, operationId, method, _path, _tag, ok) => {
  const entry = byId.get(operationId);
  if (!entry) {
    it('exists', () => expect(entry, `operationId ${operationId}`).toBeDefined());
    return;
  }
  const { op } = entry;
  const responses = responsesOf(operationId);
  const readsBody = ['post', 'put', 'patch'].includes(method);

  it('lists its events in x-emits (empty for reads), with a note when they repeat or depend on the outcome', () => {
    expect(op['x-emits']).toEqual(EMITS[operationId] ?? []);
    if (NEEDS_NOTE.includes(operationId)) expect(String(op['x-emits-note'] ?? '')).not.toBe('');
    else expect(op['x-emits-note']).toBeUndefined();
  });

  it('marks body validation after lookup exactly where docs/behaviour.md looks up first', () => {
    expect(op['x-validate-body']).toBe(AFTER_LOOKUP.includes(operationId) ? 'after-lookup' : undefined);
  });

  it('has its documented success status with the right schema and an example', () => {
    const successes = Object.keys(responses).filter((s) => s.startsWith('2'));
    expect(successes).toEqual([ok]);
    const media = (responses[ok]!.content as JsonObject)['application/json'] as JsonObject;
    const expected = SUCCESS[operationId]!;
    const schema = expected.startsWith('[')
      ? { type: 'array', items: { $ref: `../schemas/${expected.slice(1, -1)}.json` } }
      : { $ref: `../schemas/${expected}.json` };
    expect(media.schema).toEqual(schema);
    expect(exampleValues(media).length).toBeGreaterThan(0);
  });

  it('reads its request body through the request schema, never as required', () => {
    const body = op.requestBody as JsonObject | undefined;
    if (!BODIES[operationId]) {
      expect(body).toBeUndefined();
      return;
    }
    expect(body!.required).toBe(false);
    const media = (body!.content as JsonObject)['application/json'] as JsonObject;
    expect(media.schema).toEqual({ $ref: `../schemas/requests/${BODIES[operationId]}.json` });
    expect(exampleValues(media).length).toBeGreaterThan(0);
  });

  it('documents exactly the error statuses it can give, each with its codes and an example', () => {
    const expected = new Set<string>(['403', '500']);
    if (operationId !== 'getHealth') expected.add('401');
    if (readsBody) {
      expected.add('413');
      expected.add('415');
    }
    if (ERRORS_400[operationId]) expected.add('400');
    if (ERRORS_404[operationId]) expected.add('404');
    const errors = Object.keys(responses).filter((s) => !s.startsWith('2'));
    expect(errors.sort()).toEqual([...expected].sort());

    const want: Record<string, string[]> = {
      '401': ['UNAUTHORIZED'], '403': ['FORBIDDEN'], '413': ['PAYLOAD_TOO_LARGE'], '415': ['UNSUPPORTED_MEDIA_TYPE'],
      '500': ERRORS_500[operationId] ?? ['INTERNAL_ERROR'],
    };
    if (ERRORS_400[operationId]) want['400'] = ERRORS_400[operationId];
    if (ERRORS_404[operationId]) want['404'] = ERRORS_404[operationId];
    for (const status of errors) {
      expect(errorCodes(responses[status]!).sort(), status).toEqual([...want[status]!].sort());
      const media = (responses[status]!.content as JsonObject)['application/json'] as JsonObject;
      expect(exampleValues(media).length, status).toBeGreaterThan(0);
    }
  });

  it('types path parameters as plain strings, roles through Role with the message of docs/behaviour.md, queries as strings', () => {
    const params = ((op.parameters ?? []) as JsonObject[]).map((p) => deref(doc, p));
    const names = [...String(_path).matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    expect(params.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(names);
    for (const p of params) {
      if (p.in === 'path' && p.name === 'role') {
        expect(p.schema).toEqual({ $ref: '../schemas/common/role.json' });
        expect(p['x-error-message']).toBe(operationId === 'listSkillsForRole' ? "Role must be 'worker' or 'orchestrator'" : 'Invalid role');
      } else {
        expect(p.schema, String(p.name)).toEqual({ type: 'string' });
        expect(p['x-error-message']).toBeUndefined();
      }
      if (p.in === 'path') expect(p.required).toBe(true);
      else expect(p.required).toBe(false);
    }
    const query = params.filter((p) => p.in === 'query').map((p) => p.name);
    const wantQuery: Record<string, string[]> = { listTasks: ['projectId', 'status', 'parentId'], listSessions: ['projectId', 'taskId', 'status', 'active'] };
    expect(query).toEqual(wantQuery[operationId] ?? []);
  });
});

describe('shared error responses', () => {
  it('401 tells the client to use a bearer token', () => {
    const unauthorized = deref(doc, { $ref: '#/components/responses/Unauthorized' } as Json);
    expect(isObject(unauthorized.headers) && Object.keys(unauthorized.headers)).toEqual(['WWW-Authenticate']);
  });

  it('every error example carries error: true and one of the codes its response lists', () => {
    for (const { op } of ops) {
      for (const [status, r] of Object.entries(op.responses as JsonObject)) {
        if (status.startsWith('2')) continue;
        const response = deref(doc, r);
        const codes = errorCodes(response);
        for (const { name, value } of exampleValues((response.content as JsonObject)['application/json'] as JsonObject)) {
          expect(value, `${String(op.operationId)} ${status} ${name}`).toMatchObject({ error: true });
          expect(codes, `${String(op.operationId)} ${status} ${name}`).toContain((value as JsonObject).code);
        }
      }
    }
  });
});
