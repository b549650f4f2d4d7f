/**
 * Entity, response, event and manifest schemas describe what the server produces (docs/behaviour.md §1, §3.1, §4,
 * §8.7, §9.3): realistic instances pass, and each kind of deviation (unknown key, missing key, legacy value,
 * wrong variant) fails.
 */
import { describe, expect, it } from 'vitest';
import { isValid } from './schema-kit.js';

const T = 1_700_000_000_000;

const project = { id: 'proj_1_abcdefghi', name: 'P', workingDir: '/w', description: '', createdAt: T, updatedAt: T };
const task = {
  id: 'task_1_abcdefghi', projectId: project.id, parentId: null, title: 'T', description: '', status: 'todo',
  priority: 'medium', createdAt: T, updatedAt: T, startedAt: null, completedAt: null, initialPrompt: '',
  sessionIds: [], skillIds: [], agentIds: [], dependencies: [],
};
const session = {
  id: 'orch-123', projectId: project.id, taskIds: [task.id], name: 'Unnamed Session', env: {}, strategy: 'simple',
  status: 'idle', startedAt: T, lastActivity: T, completedAt: null, hostname: 'h', platform: 'linux', events: [],
  timeline: [
    { id: 'evt_1_abcdefghi', type: 'session_started', timestamp: T, message: 'Session started' },
    { id: 'evt_2_abcdefghi', type: 'task_started', timestamp: T, message: 'Task added to session', taskId: task.id },
  ],
};
const env = {
  MAESTRO_SESSION_ID: 'sess_1_abcdefghi', MAESTRO_MANIFEST_PATH: '/s/sess_1_abcdefghi/manifest.json',
  MAESTRO_SERVER_URL: 'http://127.0.0.1:3000', MAESTRO_STRATEGY: 'simple', DATA_DIR: '/d', SESSION_DIR: '/s',
};
const spawned = {
  ...session, id: 'sess_1_abcdefghi', name: 'Worker for task_1_abcdefghi', status: 'spawning', env,
  metadata: { skills: ['maestro-worker'], spawnedBy: null, spawnSource: 'ui', role: 'worker', strategy: 'simple', context: {} },
};
const manifest = {
  manifestVersion: '1.0',
  role: 'worker',
  tasks: [{
    id: task.id, title: 'T', description: '', acceptanceCriteria: ['Task completion as described'], projectId: project.id,
    createdAt: new Date(T).toISOString(), parentId: null, dependencies: [], priority: 'medium', status: 'todo',
  }],
  session: { model: 'sonnet', permissionMode: 'acceptEdits', thinkingMode: 'auto', workingDirectory: '/w' },
  context: { custom: { reason: 'r', taskIds: [task.id] } },
  skills: ['maestro-worker'],
  templateId: 'tmpl_1_abcdefghi',
};
const item = { taskId: task.id, status: 'processing', addedAt: T, startedAt: T + 1 };
const queue = { sessionId: session.id, strategy: 'queue', items: [item], currentIndex: 0, createdAt: T, updatedAt: T + 1 };
const stats = { total: 1, queued: 0, processing: 1, completed: 0, failed: 0, skipped: 0 };

const clone = <V>(v: V): V => structuredClone(v);
const valid = (rel: string, v: unknown) => expect(isValid(rel, v), `${rel} ${JSON.stringify(v)}`).toBe(true);
const invalid = (rel: string, v: unknown) => expect(isValid(rel, v), `${rel} ${JSON.stringify(v)}`).toBe(false);

describe('entities', () => {
  it('Project and Template are closed objects with integer ms stamps', () => {
    valid('entities/project.json', project);
    invalid('entities/project.json', { ...project, extra: 1 });
    invalid('entities/project.json', { ...project, createdAt: T + 0.5 });
    invalid('entities/project.json', { ...project, updatedAt: -1 });
    const { description: _d, ...noDescription } = project;
    invalid('entities/project.json', noDescription);
    const template = { id: 'tmpl_1', name: 'n', role: 'worker', content: 'c', isDefault: true, createdAt: T, updatedAt: T };
    valid('entities/template.json', template);
    invalid('entities/template.json', { ...template, role: 'admin' });
  });

  it('Task: nullable stamps, optional sessionStatus/model/dueDate, no legacy status, no timeline', () => {
    valid('entities/task.json', task);
    valid('entities/task.json', { ...task, sessionStatus: 'needs_input', model: 'haiku', dueDate: '2024-02-29', startedAt: T });
    valid('entities/task.json', { ...task, dueDate: null });
    invalid('entities/task.json', { ...task, dueDate: '2024-02-30' });
    invalid('entities/task.json', { ...task, status: 'pending' });
    invalid('entities/task.json', { ...task, timeline: [] });
    invalid('entities/task.json', { ...task, model: null });
    const { parentId: _p, ...noParent } = task;
    invalid('entities/task.json', noParent);
  });

  it('Session: free-form metadata, closed events and timeline entries, no legacy status', () => {
    valid('entities/session.json', session);
    valid('entities/session.json', { ...session, agentId: 'a', metadata: { role: 'anything', nested: { x: [1] } } });
    valid('entities/session.json', {
      ...session, events: [{ id: 'e', timestamp: T, type: 'file_modified', data: null }, { id: 'f', timestamp: T, type: 't' }],
    });
    invalid('entities/session.json', { ...session, status: 'running' });
    invalid('entities/session.json', { ...session, env: { A: 1 } });
    invalid('entities/session.json', { ...session, metadata: [] });
    invalid('entities/session.json', { ...session, events: [{ id: 'e', timestamp: T, type: 't', extra: 1 }] });
    invalid('entities/session.json', { ...session, timeline: [{ id: 'e', timestamp: T, type: 't', message: null }] });
    invalid('entities/session.json', { ...session, completedAt: undefined });
  });

  it('Queue entities and skills', () => {
    valid('entities/queue-state.json', queue);
    valid('entities/queue-state.json', { ...queue, items: [], currentIndex: -1 });
    invalid('entities/queue-state.json', { ...queue, strategy: 'simple' });
    invalid('entities/queue-state.json', { ...queue, currentIndex: -2 });
    valid('entities/queue-item.json', { taskId: 't', status: 'failed', addedAt: T, startedAt: T, completedAt: T, failReason: 'x' });
    invalid('entities/queue-item.json', { ...item, status: 'done' });
    valid('entities/queue-stats.json', stats);
    invalid('entities/queue-stats.json', { ...stats, total: undefined });
    const summary = { id: 'maestro-cli', name: 'maestro-cli', description: '', type: 'custom-x', version: '1.0.0' };
    valid('entities/skill-summary.json', summary);
    valid('entities/skill-detail.json', { ...summary, instructions: '' });
    invalid('entities/skill-summary.json', { ...summary, instructions: '' });
    valid('entities/skill-reloaded.json', { ...summary, reloaded: true });
    invalid('entities/skill-reloaded.json', { ...summary, reloaded: false });
  });
});

describe('responses', () => {
  it('ErrorResponse: error true, non-empty code and message, optional details, nothing else', () => {
    valid('responses/error.json', { error: true, code: 'VALIDATION_ERROR', message: 'name is required', details: { field: 'name' } });
    valid('responses/error.json', { error: true, code: 'task_not_found', message: 'Task t not found', details: { taskId: 't' } });
    invalid('responses/error.json', { error: true, code: 'X', message: 'm', statusCode: 400 });
    invalid('responses/error.json', { error: false, code: 'X', message: 'm' });
    invalid('responses/error.json', { error: true, code: '', message: 'm' });
    invalid('responses/error.json', { error: true, code: 'X', message: '' });
  });

  it('Health and WsStatus (§1.12)', () => {
    valid('responses/health.json', { status: 'ok', timestamp: T, uptime: 12.345, storage: { quarantined: 0 } });
    invalid('responses/health.json', { status: 'ok', timestamp: T, uptime: 1 });
    invalid('responses/health.json', { status: 'ok', timestamp: T, uptime: 1, storage: { quarantined: 0, x: 1 } });
    valid('responses/ws-status.json', { connectedClients: 0, clients: [] });
    valid('responses/ws-status.json', { connectedClients: 1, clients: [{ readyState: 1, readyStateText: 'OPEN' }] });
    invalid('responses/ws-status.json', { connectedClients: 1, clients: [{ readyState: 4, readyStateText: 'OPEN' }] });
  });

  it('SpawnResponse narrows the session to a spawned one (§8.7)', () => {
    const response = {
      success: true, sessionId: spawned.id, manifestPath: env.MAESTRO_MANIFEST_PATH,
      message: 'Spawn request sent to Agent Maestro', session: spawned, envVars: env,
      initialCommand: 'maestro worker init', cwd: '/w',
    };
    valid('responses/spawn-response.json', response);
    invalid('responses/spawn-response.json', { ...response, session: { ...spawned, status: 'idle' } });
    const { metadata: _m, ...noMetadata } = spawned;
    invalid('responses/spawn-response.json', { ...response, session: noMetadata });
    invalid('responses/spawn-response.json', { ...response, session: { ...spawned, metadata: { ...spawned.metadata, extra: 1 } } });
    invalid('responses/spawn-response.json', { ...response, session: { ...spawned, extra: 1 } });
    invalid('responses/spawn-response.json', { ...response, initialCommand: 'maestro admin init' });
  });

  it('queue responses (§9.3), with the empty variants of top and start', () => {
    valid('responses/queue-state-response.json', { queue, stats });
    valid('responses/queue-items-response.json', { items: [item], stats });
    valid('responses/queue-top-response.json', { hasMore: true, item: { ...item, status: 'queued' } });
    valid('responses/queue-top-response.json', { hasMore: false, item: null, message: 'Queue is empty - all tasks processed' });
    invalid('responses/queue-top-response.json', { hasMore: true, item: null, message: 'Queue is empty - all tasks processed' });
    invalid('responses/queue-top-response.json', { hasMore: false, item: null });
    valid('responses/queue-start-response.json', { success: true, item, message: `Started processing task ${item.taskId}` });
    valid('responses/queue-start-response.json', { success: true, item: null, empty: true, message: 'Queue is empty — no items to process' });
    invalid('responses/queue-start-response.json', { success: true, item: null, message: 'Queue is empty — no items to process' });
    invalid('responses/queue-start-response.json', { success: true, item, empty: true, message: 'x' });
    const done = { ...item, status: 'completed', completedAt: T + 2 };
    valid('responses/queue-complete-response.json', { success: true, completedItem: done, nextItem: null, hasMore: false, message: 'Completed t. Queue is empty.' });
    valid('responses/queue-fail-response.json', { success: true, failedItem: { ...done, status: 'failed' }, nextItem: { ...item, status: 'queued' }, hasMore: true, message: 'Failed t. Next: u' });
    invalid('responses/queue-skip-response.json', { success: true, skippedItem: done, hasMore: false, message: 'm' });
    valid('responses/queue-push-response.json', { success: true, item: { taskId: 't', status: 'queued', addedAt: T } });
  });

  it('small results', () => {
    valid('responses/delete-result.json', { success: true, id: 'x' });
    invalid('responses/delete-result.json', { success: true });
    valid('responses/task-timeline-result.json', { success: true, taskId: 't', sessionId: 's', message: 'm', type: 'progress' });
    valid('responses/default-template-response.json', { role: 'orchestrator', content: '# x' });
    invalid('responses/default-template-response.json', { role: 'orchestrator', content: '# x', id: 'x' });
  });
});

describe('events', () => {
  it('envelope, ping and pong (§4.2, §4.3)', () => {
    valid('events/envelope.json', { type: 'task:updated', event: 'task:updated', data: task, timestamp: T });
    valid('events/envelope.json', { type: 'x', event: 'x', data: null, timestamp: T });
    invalid('events/envelope.json', { type: 'x', data: {}, timestamp: T });
    invalid('events/envelope.json', { type: 'x', event: 'x', data: {}, timestamp: T, extra: 1 });
    valid('events/ping.json', { type: 'ping' });
    valid('events/ping.json', { type: 'ping', id: 7 });
    invalid('events/ping.json', { type: 'heartbeat' });
    valid('events/pong.json', { type: 'pong', timestamp: T });
    invalid('events/pong.json', { type: 'pong', timestamp: T, event: 'pong' });
    invalid('events/pong.json', { type: 'pong' });
  });

  it('payloads of §4.4', () => {
    valid('events/id-payload.json', { id: 'x' });
    valid('events/task-session-link.json', { taskId: 't', sessionId: 's' });
    valid('events/session-task-link.json', { sessionId: 's', taskId: 't' });
    invalid('events/session-task-link.json', { sessionId: 's' });
    valid('events/queue-payload.json', { sessionId: 's', queue });
    valid('events/queue-item-payload.json', { sessionId: 's', item });
    valid('events/queue-item-failed-payload.json', { sessionId: 's', item, reason: null });
    valid('events/queue-item-failed-payload.json', { sessionId: 's', item, reason: 'r' });
    invalid('events/queue-item-failed-payload.json', { sessionId: 's', item });
  });

  it('SpawnRequestEvent (§1.11)', () => {
    const event = {
      session: { ...spawned, metadata: { ...spawned.metadata, spawnedBy: 'sess_p', spawnSource: 'session' } },
      command: 'maestro worker init', cwd: '/w', envVars: env, manifest, projectId: project.id, taskIds: [task.id],
      spawnSource: 'session', parentSessionId: 'sess_p', _isSpawnCreated: true,
    };
    valid('events/spawn-request-event.json', event);
    valid('events/spawn-request-event.json', { ...event, parentSessionId: null, spawnSource: 'ui' });
    invalid('events/spawn-request-event.json', { ...event, _isSpawnCreated: false });
    const { parentSessionId: _p, ...noParent } = event;
    invalid('events/spawn-request-event.json', noParent);
  });
});

describe('SpawnRequestEvent.manifest in cli mode (§1.11, §8.5: the CLI\'s manifest after the checks)', () => {
  const rel = 'events/spawn-request-event.json';
  const eventWith = (m: unknown) => ({
    session: { ...spawned, metadata: { ...spawned.metadata } },
    command: 'maestro worker init', cwd: '/w', envVars: env, manifest: m, projectId: project.id, taskIds: [task.id],
    spawnSource: 'ui', parentSessionId: null, _isSpawnCreated: true,
  });
  it('accepts what §8.5 lets through: no or empty tasks, a legacy single task, keys the server never writes', () => {
    valid(rel, eventWith({ ...manifest, tasks: [] }));
    const { tasks: _t, session: _s, context: _c, ...bare } = manifest as Record<string, unknown>;
    valid(rel, eventWith(bare));
    valid(rel, eventWith({ ...bare, task: { id: task.id } }));
    valid(rel, eventWith({ ...manifest, project: {} }));
    valid(rel, eventWith({ ...bare, manifestVersion: 2, role: 'custom-role', strategy: 'queue' }));
  });
  it('rejects what the checks and the finalisation never let through', () => {
    const { manifestVersion: _v, ...noVersion } = manifest as Record<string, unknown>;
    invalid(rel, eventWith(noVersion));
    invalid(rel, eventWith({ ...manifest, manifestVersion: null }));
    const { role: _r, ...noRole } = manifest as Record<string, unknown>;
    invalid(rel, eventWith(noRole));
    invalid(rel, eventWith({ ...manifest, role: null }));
    const { skills: _k, ...noSkills } = manifest as Record<string, unknown>;
    invalid(rel, eventWith(noSkills));
    invalid(rel, eventWith({ ...manifest, skills: [1] }));
    invalid(rel, eventWith({ ...manifest, strategy: 'simple' }));
    invalid(rel, eventWith({ ...manifest, templateId: 7 }));
    invalid(rel, eventWith([manifest]));
  });
});

describe('SpawnManifest (§1.10)', () => {
  const rel = 'manifest/spawn-manifest.json';
  it('accepts what the server writes, with or without strategy/templateId, and the CLI-only keys', () => {
    valid(rel, manifest);
    valid(rel, { ...manifest, strategy: 'queue' });
    const { templateId: _t, ...noTemplate } = manifest;
    valid(rel, noTemplate);
    const full = clone(manifest) as any;
    Object.assign(full.tasks[0], { metadata: { a: 1 }, sessionIds: ['s'], activeSessionId: 's' });
    Object.assign(full.session, { maxTurns: 10, timeout: 60000, allowedCommands: ['ls'] });
    Object.assign(full.context, { codebaseContext: {}, relatedTasks: [], projectStandards: {} });
    valid(rel, full);
  });

  it('rejects an unknown key at the top level and in tasks[], session and context', () => {
    invalid(rel, { ...manifest, project: {} });
    for (const part of ['tasks.0', 'session', 'context'] as const) {
      const m = clone(manifest) as any;
      const target = part === 'tasks.0' ? m.tasks[0] : m[part];
      target.unknownKey = 1;
      invalid(rel, m);
    }
    const custom = clone(manifest) as any;
    custom.context.custom.anything = { goes: true };
    valid(rel, custom);
  });

  it('enforces version, strategy, task and session rules of the CLI schema', () => {
    invalid(rel, { ...manifest, manifestVersion: '1.0.0' });
    invalid(rel, { ...manifest, strategy: 'simple' });
    invalid(rel, { ...manifest, tasks: [] });
    invalid(rel, { ...manifest, role: 'admin' });
    const noCriteria = clone(manifest) as any;
    noCriteria.tasks[0].acceptanceCriteria = [];
    invalid(rel, noCriteria);
    const numericDate = clone(manifest) as any;
    numericDate.tasks[0].createdAt = T;
    invalid(rel, numericDate);
    const badModel = clone(manifest) as any;
    badModel.session.model = 'gpt-4';
    invalid(rel, badModel);
    const noPermission = clone(manifest) as any;
    delete noPermission.session.permissionMode;
    invalid(rel, noPermission);
    const noCustom = clone(manifest) as any;
    noCustom.context = {};
    invalid(rel, noCustom);
  });
});
