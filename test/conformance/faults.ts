/**
 * 401 and 500 responses. 401: a second server with MAESTRO_API_TOKEN. 500 on mutations: real write failures on
 * the main server (a target path replaced by a directory, a folder replaced by a file), checking the rollback
 * of docs/behaviour.md §0.8 (no trace, no event). 500 on everything: a server whose handlers all throw. Spawn's own
 * 500 codes: a write failure (spawn_error) and cli mode with a missing executable (manifest_generation_failed).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { must, Target, type Conformance } from './harness.js';
import type { Started } from './servers.js';
import { same, step, type Ctx } from './steps.js';

function pathParams(c: Conformance, operationId: string): Record<string, string> {
  const p: Record<string, string> = {};
  for (const prm of c.op(operationId).params) if (prm.in === 'path') p[prm.name] = prm.name === 'role' ? 'worker' : 'conformance-id';
  return p;
}

/** Every operation but getHealth answers 401 without the token; with it, requests work. */
export async function unauthorized(c: Conformance, token: Started, secret: string): Promise<void> {
  const anon = new Target('token-anon', token.server.port);
  const wrong = new Target('token-wrong', token.server.port, 'not-the-token');
  const right = new Target('token-right', token.server.port, secret);
  try {
    for (const op of c.spec.operations) {
      const p = c.pathOf(op.operationId, pathParams(c, op.operationId));
      const sent = await c.send(op.operationId === 'getHealth' ? right : anon, op.operationId, { path: p, ...(op.operationId === 'getHealth' ? {} : { expectReject: 'expected 401 UNAUTHORIZED (no token)' }) });
      if (op.operationId === 'getHealth') must(sent.res.status === 200, 'GET /health needs no token', sent);
      else {
        must(sent.res.status === 401 && sent.res.json.code === 'UNAUTHORIZED', `${op.operationId} without a token`, sent);
        const w = await c.send(wrong, op.operationId, { path: p, expectReject: 'expected 401 UNAUTHORIZED (wrong token)' });
        must(w.res.status === 401, `${op.operationId} with a wrong token`, w);
      }
    }
    const ok = await c.send(right, 'listProjects');
    must(ok.res.status === 200, 'the right token is accepted', ok);
  } finally {
    anon.close();
    wrong.close();
    right.close();
  }
}

/** A server whose handlers all throw: every operation answers a documented 500 in the format of docs/behaviour.md. */
export async function injectedFaults(c: Conformance, fault: Started): Promise<void> {
  const t = new Target('fault', fault.server.port);
  try {
    for (const op of c.spec.operations) {
      const example = op.requestExamples[0]?.value;
      const sent = await c.send(t, op.operationId, {
        path: c.pathOf(op.operationId, pathParams(c, op.operationId)),
        ...(example !== undefined ? { json: example } : {}),
      });
      must(sent.res.status === 500 && sent.res.json.code === 'INTERNAL_ERROR', `${op.operationId}: an unexpected handler failure is 500 INTERNAL_ERROR`, sent);
      must(!/at .*\.ts:\d+/.test(sent.res.text), 'no stack trace in a 500', sent);
    }
  } finally {
    t.close();
  }
}

/** Replaces `p` with a directory (or a file when `asFile`), runs `fn`, then restores `p`. */
async function withBlocked<T>(p: string, asFile: boolean, fn: () => Promise<T>): Promise<T> {
  const aside = `${p}.conformance-aside`;
  let moved = false;
  try {
    renameSync(p, aside);
    moved = true;
  } catch {
    /* nothing there yet */
  }
  if (asFile) writeFileSync(p, 'blocked');
  else mkdirSync(p);
  try {
    return await fn();
  } finally {
    rmSync(p, { recursive: true, force: true });
    if (moved) renameSync(aside, p);
  }
}

/** Real write failures on the main server: 500, state unchanged, no event (docs/behaviour.md §0.8, §5.4, §8.6). */
export async function writeFailures(ctx: Ctx): Promise<void> {
  const data = ctx.main.config.dataDir;
  const json = (body: unknown) => ({ json: body });
  const projectsBefore = (await step(ctx, 'listProjects', {}, { status: 200 })).body;
  await withBlocked(path.join(data, 'projects'), true, () =>
    step(ctx, 'createProject', json({ name: 'never stored' }), { status: 500, code: 'INTERNAL_ERROR' }),
  );
  same((await step(ctx, 'listProjects', {}, { status: 200 })).body, projectsBefore, 'projects after a failed create');

  const proj = (await step(ctx, 'createProject', json({ name: 'Faults' }), { status: 201, events: ['project:created'] })).body.id as string;
  const task = (await step(ctx, 'createTask', json({ projectId: proj, title: 'F' }), { status: 201, events: ['task:created'] })).body;
  const sess = (await step(ctx, 'createSession', json({ projectId: proj, taskIds: [], strategy: 'queue' }), { status: 201, events: ['session:created', 'queue:created'] })).body;

  // updateTask: the task file is a directory → 500; the task is unchanged.
  await withBlocked(path.join(data, 'tasks', proj, `${task.id}.json`), false, () =>
    step(ctx, 'updateTask', { params: { id: task.id }, json: { title: 'changed', sessionIds: [sess.id] } }, { status: 500, code: 'INTERNAL_ERROR' }),
  );
  same((await step(ctx, 'getTask', { params: { id: task.id } }, { status: 200 })).body, task, 'task after a failed update');
  same((await step(ctx, 'getSession', { params: { id: sess.id } }, { status: 200 })).body, sess, 'session after a failed link');

  // pushQueueItem: the queue file is a directory → 500; queue and links unchanged.
  const queueBefore = (await step(ctx, 'getQueue', { params: { id: sess.id } }, { status: 200 })).body;
  await withBlocked(path.join(data, 'queues', `${sess.id}.json`), false, () =>
    step(ctx, 'pushQueueItem', { params: { id: sess.id }, json: { taskId: task.id } }, { status: 500, code: 'INTERNAL_ERROR' }),
  );
  same((await step(ctx, 'getQueue', { params: { id: sess.id } }, { status: 200 })).body, queueBefore, 'queue after a failed push');

  // Spawn: SESSION_DIR replaced by a file → the manifest cannot be written → 500, full rollback (§8.6).
  await withBlocked(ctx.main.config.sessionDir, true, async () => {
    const r = await step(ctx, 'spawnSession', json({ projectId: proj, taskIds: [task.id], strategy: 'queue' }), { status: 500 });
    must(['spawn_error', 'manifest_generation_failed'].includes(r.body.code), 'spawn failure code', r.sent);
  });
  same((await step(ctx, 'getTask', { params: { id: task.id } }, { status: 200 })).body, task, 'task after a failed spawn');
  const sessions = (await step(ctx, 'listSessions', { query: { projectId: proj } }, { status: 200 })).body;
  must(sessions.every((s: any) => s.status !== 'spawning'), 'no spawning session left behind');
}

/** cli mode with a missing executable: 500 manifest_generation_failed and nothing left behind. */
export async function cliSpawnFailure(c: Conformance, cli: Started): Promise<void> {
  const t = new Target('cli', cli.server.port);
  try {
    const p = await c.send(t, 'createProject', { json: { name: 'cli' } });
    const task = await c.send(t, 'createTask', { json: { projectId: p.res.json.id, title: 't' } });
    const r = await c.send(t, 'spawnSession', { json: { projectId: p.res.json.id, taskIds: [task.res.json.id] } });
    must(r.res.status === 500 && r.res.json.code === 'manifest_generation_failed', 'missing CLI → manifest_generation_failed', r);
    const list = await c.send(t, 'listSessions');
    must(Array.isArray(list.res.json) && list.res.json.length === 0, 'spawn rolled back', list);
  } finally {
    t.close();
  }
}
