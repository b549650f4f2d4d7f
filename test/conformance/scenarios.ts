/**
 * Hand-derived scenarios: for every operation, requests that provoke each documented status, each with the
 * exact event sequence docs/behaviour.md gives for that concrete request (x-emits with its x-emits-note applied:
 * per-task repetition, queue:created only for the queue strategy, LINK/UNLINK pairs only when a link changed).
 */
import { must } from './harness.js';
import { same, step, type Ctx } from './steps.js';

const json = (body: unknown) => ({ json: body });

export async function projectsAndTasks(ctx: Ctx): Promise<void> {
  const p = (await step(ctx, 'createProject', json({ name: 'Conformance', workingDir: '/tmp/conf', description: 'd' }), { status: 201, events: ['project:created'] }));
  same(p.events[0]!.data, p.body, 'project:created data is the response');
  const proj = p.body.id as string;
  await step(ctx, 'createProject', json({ name: '   ' }), { status: 400, code: 'VALIDATION_ERROR', field: 'name' });
  await step(ctx, 'createProject', { raw: '{"name":', headers: { 'Content-Type': 'application/json' } }, { status: 400, code: 'VALIDATION_ERROR' });
  await step(ctx, 'createProject', { raw: '[1]', headers: { 'Content-Type': 'application/json' } }, { status: 400, code: 'VALIDATION_ERROR' });
  const list = await step(ctx, 'listProjects', {}, { status: 200 });
  must(list.body.some((x: any) => x.id === proj), 'listProjects lists the new project');
  await step(ctx, 'getProject', { params: { id: proj } }, { status: 200 });
  await step(ctx, 'getProject', { params: { id: 'proj_missing' } }, { status: 404, code: 'PROJECT_NOT_FOUND' });
  await step(ctx, 'getProject', { path: '/api/projects/%2E%2E' }, { status: 404, code: 'PROJECT_NOT_FOUND' });
  await step(ctx, 'getProject', { path: '/api/projects/%ZZ' }, { status: 404, code: 'PROJECT_NOT_FOUND' });
  const u = await step(ctx, 'updateProject', { params: { id: proj }, json: { description: 'new' } }, { status: 200, events: ['project:updated'] });
  must(u.body.updatedAt > p.body.updatedAt, 'updatedAt moves forward');
  await step(ctx, 'updateProject', { params: { id: proj } }, { status: 200, events: ['project:updated'] });
  await step(ctx, 'updateProject', { params: { id: proj }, json: { name: '' } }, { status: 400, code: 'VALIDATION_ERROR', field: 'name' });
  await step(ctx, 'updateProject', { params: { id: 'nope' }, json: { name: 1 } }, { status: 404, code: 'PROJECT_NOT_FOUND' });

  // Tasks
  const t1 = (await step(ctx, 'createTask', json({ projectId: proj, title: 'Root' }), { status: 201, events: ['task:created'] })).body;
  const t2 = (await step(ctx, 'createTask', json({ projectId: proj, title: 'Child', parentId: t1.id, dueDate: '2024-02-29', model: 'opus' }), { status: 201, events: ['task:created'] })).body;
  await step(ctx, 'createTask', json({ projectId: proj, title: 'x', dueDate: '2023-02-29' }), { status: 400, code: 'VALIDATION_ERROR', field: 'dueDate' });
  await step(ctx, 'createTask', json({ title: 'x' }), { status: 400, code: 'VALIDATION_ERROR', field: 'projectId' });
  await step(ctx, 'createTask', json({ projectId: 'proj_nope', title: 'x' }), { status: 404, code: 'PROJECT_NOT_FOUND' });
  await step(ctx, 'createTask', json({ projectId: proj, title: 'x', parentId: 'task_nope' }), { status: 404, code: 'TASK_NOT_FOUND' });
  const lt = await step(ctx, 'listTasks', { query: { projectId: proj, parentId: 'null' } }, { status: 200 });
  same(lt.body.map((x: any) => x.id), [t1.id], 'root tasks of the project');
  const lt2 = await step(ctx, 'listTasks', { query: { status: 'pending', projectId: proj } }, { status: 200 });
  same(lt2.body.map((x: any) => x.id), [t1.id, t2.id], 'legacy status filter');
  await step(ctx, 'getTask', { params: { id: t1.id } }, { status: 200 });
  await step(ctx, 'getTask', { params: { id: 'task_nope' } }, { status: 404, code: 'TASK_NOT_FOUND' });
  const ch = await step(ctx, 'listTaskChildren', { params: { id: t1.id } }, { status: 200 });
  same(ch.body.map((x: any) => x.id), [t2.id], 'children');
  await step(ctx, 'listTaskChildren', { params: { id: 'task_nope' } }, { status: 404, code: 'TASK_NOT_FOUND' });
  const up = await step(ctx, 'updateTask', { params: { id: t1.id }, json: { status: 'in_progress', priority: 'high' } }, { status: 200, events: ['task:updated'] });
  must(typeof up.body.startedAt === 'number', 'startedAt set on in_progress');
  await step(ctx, 'updateTask', { params: { id: t1.id }, json: { status: 'done' } }, { status: 400, code: 'VALIDATION_ERROR', field: 'status' });
  await step(ctx, 'updateTask', { params: { id: t1.id }, json: { sessionIds: ['sess_nope'] } }, { status: 404, code: 'SESSION_NOT_FOUND' });
  await step(ctx, 'updateTask', { params: { id: 'task_nope' }, json: {} }, { status: 404, code: 'TASK_NOT_FOUND' });
  const sr = await step(ctx, 'updateTask', { params: { id: t1.id }, json: { updateSource: 'session', sessionStatus: 'working', title: 42, status: 'bogus' } }, { status: 200, events: ['task:updated'] });
  must(sr.body.title === 'Root' && sr.body.status === 'in_progress' && sr.body.sessionStatus === 'working', 'session-sourced update applies sessionStatus only');

  // Project delete: blocked by tasks, then allowed once they are gone.
  await step(ctx, 'deleteProject', { params: { id: proj } }, { status: 400, code: 'PROJECT_HAS_DEPENDENCIES' });
  await step(ctx, 'deleteTask', { params: { id: t2.id } }, { status: 200, events: ['task:deleted'] });
  await step(ctx, 'deleteTask', { params: { id: t2.id } }, { status: 404, code: 'TASK_NOT_FOUND' });
  await step(ctx, 'deleteTask', { params: { id: t1.id } }, { status: 200, events: ['task:deleted'] });
  const del = await step(ctx, 'deleteProject', { params: { id: proj } }, { status: 200, events: ['project:deleted'] });
  same(del.body, { success: true, id: proj }, 'delete result');
  same(del.events[0]!.data, { id: proj }, 'project:deleted payload');
  await step(ctx, 'deleteProject', { params: { id: proj } }, { status: 404, code: 'PROJECT_NOT_FOUND' });
}

export async function sessionsAndLinks(ctx: Ctx): Promise<void> {
  const proj = (await step(ctx, 'createProject', json({ name: 'Sessions' }), { status: 201, events: ['project:created'] })).body.id;
  const a = (await step(ctx, 'createTask', json({ projectId: proj, title: 'A' }), { status: 201, events: ['task:created'] })).body.id;
  const b = (await step(ctx, 'createTask', json({ projectId: proj, title: 'B' }), { status: 201, events: ['task:created'] })).body.id;
  const c = (await step(ctx, 'createTask', json({ projectId: proj, title: 'C' }), { status: 201, events: ['task:created'] })).body.id;

  // E14: created → per-task task:session_added → queue:created (queue only).
  const q = await step(ctx, 'createSession', json({ projectId: proj, taskIds: [a, b, a], strategy: 'queue', status: 'running' }), {
    status: 201,
    events: ['session:created', 'task:session_added', 'task:session_added', 'queue:created'],
  });
  same(q.body.taskIds, [a, b], 'taskIds deduplicated');
  must(q.body.status === 'working', 'running → working');
  same(q.events[0]!.data, q.body, 'session:created data is the response');
  same(q.events.slice(1, 3).map((e) => e.data), [{ taskId: a, sessionId: q.body.id }, { taskId: b, sessionId: q.body.id }], 'task:session_added payloads');
  const s = await step(ctx, 'createSession', json({ projectId: proj, taskIds: [] }), { status: 201, events: ['session:created'] });
  const sid = s.body.id as string;
  await step(ctx, 'createSession', json({ projectId: proj, taskId: c, _suppressCreatedEvent: true, id: 'conf-sess.1' }), { status: 201, events: ['task:session_added'] });
  await step(ctx, 'createSession', json({ projectId: proj, taskIds: [], id: 'conf-sess.1' }), { status: 400, code: 'VALIDATION_ERROR', field: 'id' });
  await step(ctx, 'createSession', json({ projectId: proj, taskIds: [], id: '..' }), { status: 400, code: 'VALIDATION_ERROR', field: 'id' });
  await step(ctx, 'createSession', json({ projectId: proj }), { status: 400, code: 'VALIDATION_ERROR', field: 'taskIds' });
  await step(ctx, 'createSession', json({ projectId: 'proj_nope', taskIds: [] }), { status: 404, code: 'PROJECT_NOT_FOUND' });
  await step(ctx, 'createSession', json({ projectId: proj, taskIds: [a, 'task_nope'] }), { status: 404, code: 'TASK_NOT_FOUND' });
  const ls = await step(ctx, 'listSessions', { query: { taskId: c, active: 'true' } }, { status: 200 });
  same(ls.body.map((x: any) => x.id), ['conf-sess.1'], 'sessions by task');
  await step(ctx, 'getSession', { params: { id: sid } }, { status: 200 });
  await step(ctx, 'getSession', { params: { id: 'spawn' } }, { status: 404, code: 'SESSION_NOT_FOUND' });

  // E16: taskIds diff → session:updated, UNLINK pairs (old order), LINK pairs (new order).
  await step(ctx, 'updateSession', { params: { id: sid }, json: { taskIds: [a, b] } }, {
    status: 200,
    events: ['session:updated', 'session:task_added', 'task:session_added', 'session:task_added', 'task:session_added'],
  });
  const us = await step(ctx, 'updateSession', { params: { id: sid }, json: { taskIds: [c, b], status: 'completed', env: { K: 'v' } } }, {
    status: 200,
    events: ['session:updated', 'session:task_removed', 'task:session_removed', 'session:task_added', 'task:session_added'],
  });
  must(typeof us.body.completedAt === 'number', 'completedAt set on completed');
  same(us.events[1]!.data, { sessionId: sid, taskId: a }, 'session:task_removed payload');
  await step(ctx, 'updateSession', { params: { id: sid }, json: { taskIds: [c, b] } }, { status: 200, events: ['session:updated'] });
  await step(ctx, 'updateSession', { params: { id: sid }, json: { env: { K: 1 } } }, { status: 400, code: 'VALIDATION_ERROR', field: 'env' });
  await step(ctx, 'updateSession', { params: { id: sid }, json: { taskIds: ['task_nope'] } }, { status: 404, code: 'TASK_NOT_FOUND' });
  await step(ctx, 'updateSession', { params: { id: 'nope' }, json: {} }, { status: 404, code: 'SESSION_NOT_FOUND' });

  // E9 with sessionIds: task:updated, then UNLINK, then LINK.
  await step(ctx, 'updateTask', { params: { id: a }, json: { sessionIds: [q.body.id, sid, sid] } }, { status: 200, events: ['task:updated', 'session:task_added', 'task:session_added'] });
  await step(ctx, 'updateTask', { params: { id: a }, json: { sessionIds: [q.body.id] } }, {
    status: 200,
    events: ['task:updated', 'session:task_removed', 'task:session_removed'],
  });

  // E21/E22: events only when the link changes.
  await step(ctx, 'addTaskToSession', { params: { id: sid, taskId: a } }, { status: 200, events: ['session:task_added', 'task:session_added'] });
  await step(ctx, 'addTaskToSession', { params: { id: sid, taskId: a }, json: {} }, { status: 200 });
  await step(ctx, 'addTaskToSession', { params: { id: sid, taskId: 'task_nope' } }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'addTaskToSession', { params: { id: 'nope', taskId: a } }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'addTaskToSession', { params: { id: sid, taskId: a }, raw: 'nope', headers: { 'Content-Type': 'application/json' } }, { status: 400, code: 'VALIDATION_ERROR' });
  await step(ctx, 'removeTaskFromSession', { params: { id: sid, taskId: a } }, { status: 200, events: ['session:task_removed', 'task:session_removed'] });
  await step(ctx, 'removeTaskFromSession', { params: { id: sid, taskId: a } }, { status: 200 });
  await step(ctx, 'removeTaskFromSession', { params: { id: 'nope', taskId: a } }, { status: 404, code: 'NOT_FOUND' });

  // E10, E18, E19
  await step(ctx, 'addTaskTimelineEntry', { params: { id: a }, json: { message: 'hi', sessionId: sid } }, { status: 200, events: ['session:updated'] });
  await step(ctx, 'addTaskTimelineEntry', { params: { id: a }, json: { sessionId: sid } }, { status: 400, code: 'VALIDATION_ERROR', field: 'message' });
  await step(ctx, 'addTaskTimelineEntry', { params: { id: a }, json: { message: 'hi', sessionId: 'nope' } }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'addSessionEvent', { params: { id: sid }, json: { type: 'tool_call', data: null } }, { status: 200, events: ['session:updated'] });
  await step(ctx, 'addSessionEvent', { params: { id: sid }, json: { type: ' ' } }, { status: 400, code: 'VALIDATION_ERROR', field: 'type' });
  await step(ctx, 'addSessionEvent', { params: { id: 'nope' }, json: { type: 'x' } }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'addSessionTimelineEntry', { params: { id: sid }, json: { message: 'm', type: 'milestone', metadata: { k: 1 } } }, { status: 200, events: ['session:updated'] });
  await step(ctx, 'addSessionTimelineEntry', { params: { id: sid }, json: { message: 'm', metadata: [] } }, { status: 400, code: 'VALIDATION_ERROR', field: 'metadata' });
  await step(ctx, 'addSessionTimelineEntry', { params: { id: 'nope' }, json: { message: 'm' } }, { status: 404, code: 'NOT_FOUND' });

  // E5 blocked by sessions after tasks are gone? Tasks first: still has tasks here.
  await step(ctx, 'deleteProject', { params: { id: proj } }, { status: 400, code: 'PROJECT_HAS_DEPENDENCIES' });

  // E17: per existing task (taskIds order) task:session_removed, session:task_removed; session:deleted last.
  const cur = (await step(ctx, 'getSession', { params: { id: sid } }, { status: 200 })).body;
  same(cur.taskIds, [c, b], 'taskIds before delete');
  await step(ctx, 'deleteTask', { params: { id: b } }, { status: 200, events: ['task:deleted'] });
  const sd = await step(ctx, 'deleteSession', { params: { id: sid } }, { status: 200, events: ['task:session_removed', 'session:task_removed', 'session:deleted'] });
  same(sd.events[0]!.data, { taskId: c, sessionId: sid }, 'task:session_removed payload');
  await step(ctx, 'deleteSession', { params: { id: sid } }, { status: 404, code: 'SESSION_NOT_FOUND' });
}

export async function spawnAndQueue(ctx: Ctx): Promise<{ proj: string }> {
  const proj = (await step(ctx, 'createProject', json({ name: 'Queue', workingDir: '/tmp/q' }), { status: 201, events: ['project:created'] })).body.id;
  const t = [];
  for (const title of ['Q1', 'Q2', 'Q3', 'Q4']) t.push((await step(ctx, 'createTask', json({ projectId: proj, title }), { status: 201, events: ['task:created'] })).body.id as string);
  const [t1, t2, t3, t4] = t as [string, string, string, string];

  // E20
  const sp = await step(ctx, 'spawnSession', json({ projectId: proj, taskIds: [t1, t2, t1], strategy: 'queue', role: 'orchestrator', skills: ['a', ' ', 'a'] }), {
    status: 201,
    events: ['session:spawn', 'task:session_added', 'task:session_added', 'queue:created'],
  });
  const qs = sp.body.sessionId as string;
  same(sp.events[0]!.data.session, sp.body.session, 'session:spawn session is the response session');
  same(sp.body.session.metadata.skills, ['a'], 'skills normalised');
  const child = await step(ctx, 'spawnSession', json({ projectId: proj, taskIds: [t3], spawnSource: 'session', sessionId: qs }), {
    status: 201,
    events: ['session:spawn', 'task:session_added'],
  });
  must(child.body.session.metadata.spawnedBy === qs, 'spawnedBy is the parent');
  const bad: Array<[unknown, number, string]> = [
    [{ taskIds: [t1] }, 400, 'missing_project_id'],
    [{ projectId: proj, taskIds: [] }, 400, 'invalid_task_ids'],
    [{ projectId: proj, taskIds: [t1], spawnSource: 'cli' }, 400, 'invalid_spawn_source'],
    [{ projectId: proj, taskIds: [t1], spawnSource: 'session' }, 400, 'missing_session_id'],
    [{ projectId: proj, taskIds: [t1], role: 'boss' }, 400, 'invalid_role'],
    [{ projectId: proj, taskIds: [t1], strategy: 'fifo' }, 400, 'invalid_strategy'],
    [{ projectId: proj, taskIds: [t1], context: [] }, 400, 'VALIDATION_ERROR'],
    [{ projectId: proj, taskIds: [t1, 'task_nope'] }, 404, 'task_not_found'],
    [{ projectId: 'proj_nope', taskIds: [t1] }, 404, 'project_not_found'],
    [{ projectId: proj, taskIds: [t1], spawnSource: 'session', sessionId: 'sess_nope' }, 404, 'parent_session_not_found'],
  ];
  for (const [body, status, code] of bad) await step(ctx, 'spawnSession', json(body), { status, code });

  // Queue common checks
  const simple = (await step(ctx, 'createSession', json({ projectId: proj, taskIds: [] }), { status: 201, events: ['session:created'] })).body.id;
  for (const op of ['getQueue', 'peekQueue', 'listQueueItems', 'startQueueItem', 'completeQueueItem', 'failQueueItem', 'skipQueueItem']) {
    await step(ctx, op, { params: { id: simple } }, { status: 400, code: 'VALIDATION_ERROR' });
    await step(ctx, op, { params: { id: 'nope' } }, { status: 404, code: 'NOT_FOUND' });
  }
  await step(ctx, 'pushQueueItem', { params: { id: simple }, json: { taskId: t1 } }, { status: 400, code: 'VALIDATION_ERROR' });
  await step(ctx, 'pushQueueItem', { params: { id: 'nope' }, json: { taskId: t1 } }, { status: 404, code: 'NOT_FOUND' });

  const top = await step(ctx, 'peekQueue', { params: { id: qs } }, { status: 200 });
  must(top.body.hasMore === true && top.body.item.taskId === t1, 'top is the first queued item');
  await step(ctx, 'completeQueueItem', { params: { id: qs } }, { status: 400, code: 'VALIDATION_ERROR' });
  await step(ctx, 'failQueueItem', { params: { id: qs }, json: {} }, { status: 400, code: 'VALIDATION_ERROR' });
  const st = await step(ctx, 'startQueueItem', { params: { id: qs }, json: {} }, { status: 200, events: ['queue:item_started', 'queue:updated', 'task:updated'] });
  must(st.events[2]!.data.sessionStatus === 'working', 'start sets sessionStatus working');
  await step(ctx, 'startQueueItem', { params: { id: qs } }, { status: 400, code: 'VALIDATION_ERROR' });
  await step(ctx, 'failQueueItem', { params: { id: qs }, json: { reason: 5 } }, { status: 400, code: 'VALIDATION_ERROR', field: 'reason' });
  const fl = await step(ctx, 'failQueueItem', { params: { id: qs }, json: { reason: 'flaky' } }, { status: 200, events: ['queue:item_failed', 'queue:updated', 'task:updated'] });
  must(fl.events[0]!.data.reason === 'flaky' && fl.body.failedItem.failReason === 'flaky', 'fail reason');
  await step(ctx, 'startQueueItem', { params: { id: qs } }, { status: 200, events: ['queue:item_started', 'queue:updated', 'task:updated'] });
  const cp = await step(ctx, 'completeQueueItem', { params: { id: qs } }, { status: 200, events: ['queue:item_completed', 'queue:updated', 'task:updated'] });
  must(cp.body.hasMore === false && cp.body.nextItem === null, 'queue drained');
  // Push: queue:updated, then LINK only if the task was not linked yet.
  await step(ctx, 'pushQueueItem', { params: { id: qs }, json: { taskId: t4 } }, { status: 200, events: ['queue:updated', 'session:task_added', 'task:session_added'] });
  await step(ctx, 'pushQueueItem', { params: { id: qs }, json: { taskId: t4 } }, { status: 400, code: 'VALIDATION_ERROR' });
  await step(ctx, 'pushQueueItem', { params: { id: qs }, json: {} }, { status: 400, code: 'VALIDATION_ERROR', field: 'taskId' });
  await step(ctx, 'pushQueueItem', { params: { id: qs }, json: { taskId: 'task_nope' } }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'removeTaskFromSession', { params: { id: qs, taskId: t3 } }, { status: 200 });
  await step(ctx, 'updateTask', { params: { id: t3 }, json: { sessionIds: [child.body.sessionId, qs] } }, { status: 200, events: ['task:updated', 'session:task_added', 'task:session_added'] });
  await step(ctx, 'pushQueueItem', { params: { id: qs }, json: { taskId: t3 } }, { status: 200, events: ['queue:updated'] });
  // Skip: the first queued item (t4) while nothing is processing; then with the task deleted, no task:updated.
  const sk = await step(ctx, 'skipQueueItem', { params: { id: qs }, json: {} }, { status: 200, events: ['queue:item_skipped', 'queue:updated', 'task:updated'] });
  must(sk.body.skippedItem.taskId === t4 && sk.body.nextItem.taskId === t3, 'skip takes the first queued item');
  await step(ctx, 'startQueueItem', { params: { id: qs } }, { status: 200, events: ['queue:item_started', 'queue:updated', 'task:updated'] });
  await step(ctx, 'deleteTask', { params: { id: t3 } }, { status: 200, events: ['task:deleted'] });
  await step(ctx, 'skipQueueItem', { params: { id: qs } }, { status: 200, events: ['queue:item_skipped', 'queue:updated'] });
  await step(ctx, 'skipQueueItem', { params: { id: qs } }, { status: 400, code: 'VALIDATION_ERROR' });
  const empty = await step(ctx, 'startQueueItem', { params: { id: qs } }, { status: 200 });
  must(empty.body.item === null && empty.body.empty === true, 'empty start answer');
  const items = await step(ctx, 'listQueueItems', { params: { id: qs } }, { status: 200 });
  same(items.body.items.map((i: any) => [i.taskId, i.status]), [[t1, 'failed'], [t2, 'completed'], [t4, 'skipped'], [t3, 'skipped']], 'queue history');
  const state = await step(ctx, 'getQueue', { params: { id: qs } }, { status: 200 });
  same(state.body.stats, { total: 4, queued: 0, processing: 0, completed: 1, failed: 1, skipped: 2 }, 'stats');
  const top2 = await step(ctx, 'peekQueue', { params: { id: qs } }, { status: 200 });
  must(top2.body.hasMore === false && top2.body.item === null, 'empty top');
  // Deleting a queue session: per-task events, then session:deleted; no queue event.
  const qsTasks = (await step(ctx, 'getSession', { params: { id: qs } }, { status: 200 })).body.taskIds as string[];
  same(qsTasks, [t1, t2, t4], 'queue session tasks (t3 deleted)');
  await step(ctx, 'deleteSession', { params: { id: qs } }, {
    status: 200,
    events: ['task:session_removed', 'session:task_removed', 'task:session_removed', 'session:task_removed', 'task:session_removed', 'session:task_removed', 'session:deleted'],
  });
  await step(ctx, 'getQueue', { params: { id: qs } }, { status: 404, code: 'NOT_FOUND' });
  return { proj };
}

export async function skillsAndTemplates(ctx: Ctx): Promise<void> {
  const ls = await step(ctx, 'listSkills', {}, { status: 200 });
  same(ls.body.map((s: any) => s.id), ['code-review', 'maestro-cli', 'maestro-orchestrator', 'maestro-worker'], 'skills sorted by id');
  const sk = await step(ctx, 'getSkill', { params: { id: 'code-review' } }, { status: 200 });
  must(sk.body.instructions.includes('code-review'), 'instructions are skill.md');
  await step(ctx, 'getSkill', { params: { id: 'nope' } }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'getSkill', { path: '/api/skills/..%2Fdata' }, { status: 404, code: 'NOT_FOUND' });
  const role = await step(ctx, 'listSkillsForRole', { params: { role: 'worker' } }, { status: 200 });
  same(role.body.map((s: any) => s.id), ['maestro-cli', 'maestro-worker'], 'worker skills');
  await step(ctx, 'listSkillsForRole', { params: { role: 'admin' } }, { status: 400, code: 'VALIDATION_ERROR' });
  const rl = await step(ctx, 'reloadSkill', { params: { id: 'maestro-cli' } }, { status: 200 });
  must(rl.body.reloaded === true, 'reloaded: true');
  await step(ctx, 'reloadSkill', { params: { id: 'nope' }, json: {} }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'reloadSkill', { params: { id: 'maestro-cli' }, raw: '"x"', headers: { 'Content-Type': 'application/json' } }, { status: 400, code: 'VALIDATION_ERROR' });

  const lt = await step(ctx, 'listTemplates', {}, { status: 200 });
  const defaults = lt.body.filter((x: any) => x.isDefault);
  must(defaults.length >= 2, 'seeded default templates');
  const created = await step(ctx, 'createTemplate', json({ name: 'Mine', role: 'orchestrator', content: '# Plan\n' }), { status: 201, events: ['template:created'] });
  const tid = created.body.id as string;
  must(created.body.isDefault === false, 'client templates are not default');
  await step(ctx, 'createTemplate', json({ name: 'x', content: 'y' }), { status: 400, code: 'VALIDATION_ERROR', field: 'role' });
  await step(ctx, 'createTemplate', json({ name: 'x', role: 'boss', content: 'y' }), { status: 400, code: 'VALIDATION_ERROR' });
  await step(ctx, 'getTemplate', { params: { id: tid } }, { status: 200 });
  await step(ctx, 'getTemplate', { params: { id: 'nope' } }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'updateTemplate', { params: { id: tid }, json: { name: 'Mine 2', role: 'worker' } }, { status: 200, events: ['template:updated'] });
  await step(ctx, 'updateTemplate', { params: { id: tid }, json: {} }, { status: 400, code: 'VALIDATION_ERROR' });
  await step(ctx, 'updateTemplate', { params: { id: 'nope' }, json: { name: 'x' } }, { status: 404, code: 'NOT_FOUND' });
  const dflt = await step(ctx, 'getDefaultTemplate', { params: { role: 'orchestrator' } }, { status: 200 });
  await step(ctx, 'getDefaultTemplate', { params: { role: 'Worker' } }, { status: 400, code: 'VALIDATION_ERROR' });
  const reset = await step(ctx, 'resetTemplate', { params: { id: tid } }, { status: 200, events: ['template:updated'] });
  must(reset.body.content === dflt.body.content && reset.body.role === 'orchestrator', 'reset = E42 text');
  await step(ctx, 'resetTemplate', { params: { id: 'nope' } }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'resetTemplate', { params: { id: tid }, raw: '{', headers: { 'Content-Type': 'application/json' } }, { status: 400, code: 'VALIDATION_ERROR' });
  await step(ctx, 'getTemplateForRole', { params: { role: 'orchestrator' } }, { status: 200 });
  await step(ctx, 'getTemplateForRole', { params: { role: 'x' } }, { status: 400, code: 'VALIDATION_ERROR' });
  // Remove every orchestrator template → 404, then put one back.
  const all = (await step(ctx, 'listTemplates', {}, { status: 200 })).body.filter((x: any) => x.role === 'orchestrator');
  for (const tpl of all) await step(ctx, 'deleteTemplate', { params: { id: tpl.id } }, { status: 200, events: ['template:deleted'] });
  await step(ctx, 'deleteTemplate', { params: { id: tid } }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'getTemplateForRole', { params: { role: 'orchestrator' } }, { status: 404, code: 'NOT_FOUND' });
  await step(ctx, 'createTemplate', json({ name: 'Back', role: 'orchestrator', content: dflt.body.content }), { status: 201, events: ['template:created'] });

  const h = await step(ctx, 'getHealth', {}, { status: 200 });
  must(h.body.status === 'ok', 'health ok');
  const ws = await step(ctx, 'getWsStatus', {}, { status: 200 });
  must(ws.body.connectedClients >= 1, 'our recorder is connected');
}

/** Protocol cases for every operation: 403 Host guard, 415, 413 (docs/behaviour.md §3.3). */
export async function protocolCases(ctx: Ctx): Promise<void> {
  const { c } = ctx;
  const params = (op: string) => {
    const p: Record<string, string> = {};
    for (const prm of c.op(op).params) if (prm.in === 'path') p[prm.name] = prm.name === 'role' ? 'worker' : 'conformance-unknown';
    return p;
  };
  const big = Buffer.alloc(ctx.main.config.maxBodyBytes + 1, 'x');
  big[0] = '"'.charCodeAt(0);
  big[big.length - 1] = '"'.charCodeAt(0);
  for (const op of c.spec.operations) {
    const path = c.pathOf(op.operationId, params(op.operationId));
    if (op.responses.has('403')) {
      await step(ctx, op.operationId, { path, headers: { Host: 'evil.example:3000' } }, { status: 403, code: 'FORBIDDEN' });
    }
    if (op.responses.has('415')) {
      await step(ctx, op.operationId, { path, raw: 'hello', headers: { 'Content-Type': 'text/plain' } }, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
    if (op.responses.has('413')) {
      await step(ctx, op.operationId, { path, raw: big, headers: { 'Content-Type': 'application/json' } }, { status: 413, code: 'PAYLOAD_TOO_LARGE' });
    }
  }
}
