/**
 * Stateful model test (issue 5): fast-check generates sequences of commands over projects, tasks, sessions,
 * associations, queues and deletes, some of them sent concurrently (Promise.all). A simple in-memory model
 * predicts each command's status and exact events (names and link payloads); after every step the server's
 * full state (lists, queues) must equal the model, and the invariants must hold on the server's own data:
 * links symmetric, no orphan links, queue items in FIFO order, at most one item processing, currentIndex
 * pointing at it. Concurrent commands must be explainable by some serial order (docs/behaviour.md §0.8), with each
 * request's events contiguous (§4.5 #2).
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { ConformanceError, EventRecorder, must, Target, type Conformance, type Envelope, type Res } from './harness.js';
import { startMain } from './servers.js';

interface MTask {
  projectId: string;
  parentId: string | null;
  sessionIds: string[];
}
interface MSession {
  projectId: string;
  taskIds: string[];
  strategy: 'simple' | 'queue';
}
interface MItem {
  taskId: string;
  status: 'queued' | 'processing' | 'completed' | 'failed' | 'skipped';
}
interface State {
  projects: string[];
  tasks: Record<string, MTask>;
  sessions: Record<string, MSession>;
  queues: Record<string, MItem[]>;
  /** Every id ever created, deleted ones included (commands pick from these, so they also hit 404s). */
  ever: { p: string[]; t: string[]; s: string[] };
}

type Ev = [string, unknown?];
interface Outcome {
  status: number;
  events: Ev[];
}

type Cmd =
  | { t: 'createProject' }
  | { t: 'createTask'; p: number; parent: number | null }
  | { t: 'createSession'; p: number; ks: number[]; queue: boolean }
  | { t: 'link' | 'unlink' | 'qPush'; s: number; k: number }
  | { t: 'patchTask'; k: number; ss: number[] }
  | { t: 'patchSession'; s: number; ks: number[] }
  | { t: 'deleteTask'; k: number }
  | { t: 'deleteSession' | 'qStart' | 'qComplete' | 'qFail' | 'qSkip'; s: number }
  | { t: 'deleteProject'; p: number };

interface Resolved {
  cmd: Cmd;
  op: string;
  params: Record<string, string>;
  json?: unknown;
  /** Ids the request names, fixed before sending. */
  ids: Record<string, any>;
}

const idx = fc.integer({ min: -1, max: 12 });
const single: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ t: 'createProject' as const }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('createTask' as const), p: idx, parent: fc.option(idx, { freq: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('createSession' as const), p: idx, ks: fc.array(idx, { maxLength: 3 }), queue: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constantFrom('link' as const, 'unlink' as const, 'qPush' as const), s: idx, k: idx }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('patchTask' as const), k: idx, ss: fc.array(idx, { maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('patchSession' as const), s: idx, ks: fc.array(idx, { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deleteTask' as const), k: idx }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('deleteSession' as const), s: idx }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constantFrom('qStart' as const, 'qComplete' as const, 'qFail' as const, 'qSkip' as const), s: idx }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deleteProject' as const), p: idx }) },
);
type Step = { one: Cmd } | { all: Cmd[] };
export const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof({ weight: 5, arbitrary: single.map((one) => ({ one })) }, { weight: 1, arbitrary: fc.array(single, { minLength: 2, maxLength: 3 }).map((all) => ({ all })) }),
  { minLength: 5, maxLength: 28 },
);

const pick = (list: string[], i: number) => (i < 0 || list.length === 0 ? 'model-unknown-id' : list[i % list.length]!);
const dedupe = (xs: string[]) => [...new Set(xs)];
const without = (xs: string[], x: string) => xs.filter((y) => y !== x);

function resolve(st: State, cmd: Cmd): Resolved {
  switch (cmd.t) {
    case 'createProject':
      return { cmd, op: 'createProject', params: {}, json: { name: 'model' }, ids: {} };
    case 'createTask': {
      const p = pick(st.ever.p, cmd.p);
      const parent = cmd.parent === null ? undefined : pick(st.ever.t, cmd.parent);
      return { cmd, op: 'createTask', params: {}, json: { projectId: p, title: 'model', ...(parent ? { parentId: parent } : {}) }, ids: { p, parent } };
    }
    case 'createSession': {
      const p = pick(st.ever.p, cmd.p);
      const ks = cmd.ks.map((i) => pick(st.ever.t, i));
      return { cmd, op: 'createSession', params: {}, json: { projectId: p, taskIds: ks, strategy: cmd.queue ? 'queue' : 'simple' }, ids: { p, ks } };
    }
    case 'link':
    case 'unlink': {
      const s = pick(st.ever.s, cmd.s);
      const k = pick(st.ever.t, cmd.k);
      return { cmd, op: cmd.t === 'link' ? 'addTaskToSession' : 'removeTaskFromSession', params: { id: s, taskId: k }, ids: { s, k } };
    }
    case 'qPush': {
      const s = pick(st.ever.s, cmd.s);
      const k = pick(st.ever.t, cmd.k);
      return { cmd, op: 'pushQueueItem', params: { id: s }, json: { taskId: k }, ids: { s, k } };
    }
    case 'patchTask': {
      const k = pick(st.ever.t, cmd.k);
      const ss = cmd.ss.map((i) => pick(st.ever.s, i));
      return { cmd, op: 'updateTask', params: { id: k }, json: { sessionIds: ss }, ids: { k, ss } };
    }
    case 'patchSession': {
      const s = pick(st.ever.s, cmd.s);
      const ks = cmd.ks.map((i) => pick(st.ever.t, i));
      return { cmd, op: 'updateSession', params: { id: s }, json: { taskIds: ks }, ids: { s, ks } };
    }
    case 'deleteTask': {
      const k = pick(st.ever.t, cmd.k);
      return { cmd, op: 'deleteTask', params: { id: k }, ids: { k } };
    }
    case 'deleteProject': {
      const p = pick(st.ever.p, cmd.p);
      return { cmd, op: 'deleteProject', params: { id: p }, ids: { p } };
    }
    default: {
      const s = pick(st.ever.s, cmd.s);
      const op = { deleteSession: 'deleteSession', qStart: 'startQueueItem', qComplete: 'completeQueueItem', qFail: 'failQueueItem', qSkip: 'skipQueueItem' }[cmd.t];
      return { cmd, op, params: { id: s }, ...(cmd.t === 'qFail' ? { json: {} } : {}), ids: { s } };
    }
  }
}

const linkEvents = (s: string, k: string): Ev[] => [['session:task_added', { sessionId: s, taskId: k }], ['task:session_added', { taskId: k, sessionId: s }]];
const unlinkEvents = (s: string, k: string): Ev[] => [['session:task_removed', { sessionId: s, taskId: k }], ['task:session_removed', { taskId: k, sessionId: s }]];

/** LINK(S, T) of docs/behaviour.md §2.0.2 on the model; returns its events. */
function link(st: State, s: string, k: string): Ev[] {
  const S = st.sessions[s]!;
  const T = st.tasks[k]!;
  let changed = false;
  if (!S.taskIds.includes(k)) (S.taskIds.push(k), (changed = true));
  if (!T.sessionIds.includes(s)) (T.sessionIds.push(s), (changed = true));
  return changed ? linkEvents(s, k) : [];
}

function unlink(st: State, s: string, k: string): Ev[] {
  const S = st.sessions[s]!;
  const T = st.tasks[k];
  let changed = false;
  if (S.taskIds.includes(k)) (S.taskIds = without(S.taskIds, k), (changed = true));
  if (T && T.sessionIds.includes(s)) (T.sessionIds = without(T.sessionIds, s), (changed = true));
  return changed ? unlinkEvents(s, k) : [];
}

/** Applies a resolved command to the model (mutating it) and returns the predicted outcome. */
function apply(st: State, r: Resolved, res: Res): Outcome {
  const { ids } = r;
  const ok = (status: number, events: Ev[]): Outcome => ({ status, events });
  const queueCheck = (s: string): Outcome | undefined => {
    if (!st.sessions[s]) return ok(404, []);
    if (st.sessions[s]!.strategy !== 'queue') return ok(400, []);
    return undefined;
  };
  const taskUpdated = (k: string): Ev[] => (st.tasks[k] ? [['task:updated']] : []);
  switch (r.cmd.t) {
    case 'createProject': {
      const id = res.json?.id;
      if (res.status === 201 && typeof id === 'string') (st.projects.push(id), st.ever.p.push(id));
      return ok(201, [['project:created']]);
    }
    case 'createTask': {
      if (!st.projects.includes(ids.p)) return ok(404, []);
      if (ids.parent !== undefined && !st.tasks[ids.parent]) return ok(404, []);
      const id = res.json?.id;
      if (res.status === 201 && typeof id === 'string') {
        st.tasks[id] = { projectId: ids.p, parentId: ids.parent ?? null, sessionIds: [] };
        st.ever.t.push(id);
      }
      return ok(201, [['task:created']]);
    }
    case 'createSession': {
      if (!st.projects.includes(ids.p)) return ok(404, []);
      const ks = dedupe(ids.ks);
      if (ks.some((k) => !st.tasks[k])) return ok(404, []);
      const id = res.json?.id;
      if (res.status !== 201 || typeof id !== 'string') return ok(201, []);
      const queue = r.cmd.queue;
      st.sessions[id] = { projectId: ids.p, taskIds: [...ks], strategy: queue ? 'queue' : 'simple' };
      st.ever.s.push(id);
      const events: Ev[] = [['session:created']];
      for (const k of ks) {
        const T = st.tasks[k]!;
        if (!T.sessionIds.includes(id)) T.sessionIds.push(id);
        events.push(['task:session_added', { taskId: k, sessionId: id }]);
      }
      if (queue) {
        st.queues[id] = ks.map((taskId) => ({ taskId, status: 'queued' }));
        events.push(['queue:created']);
      }
      return ok(201, events);
    }
    case 'link':
    case 'unlink': {
      if (!st.sessions[ids.s] || !st.tasks[ids.k]) return ok(404, []);
      return ok(200, r.cmd.t === 'link' ? link(st, ids.s, ids.k) : unlink(st, ids.s, ids.k));
    }
    case 'patchTask': {
      const T = st.tasks[ids.k];
      if (!T) return ok(404, []);
      const next = dedupe(ids.ss);
      const added = next.filter((s) => !T.sessionIds.includes(s));
      if (added.some((s) => !st.sessions[s])) return ok(404, []);
      const events: Ev[] = [['task:updated']];
      for (const s of T.sessionIds.filter((x) => !next.includes(x))) events.push(...unlink(st, s, ids.k));
      for (const s of added) events.push(...link(st, s, ids.k));
      T.sessionIds = next;
      return ok(200, events);
    }
    case 'patchSession': {
      const S = st.sessions[ids.s];
      if (!S) return ok(404, []);
      const next = dedupe(ids.ks);
      const added = next.filter((k) => !S.taskIds.includes(k));
      if (added.some((k) => !st.tasks[k])) return ok(404, []);
      const events: Ev[] = [['session:updated']];
      for (const k of S.taskIds.filter((x) => !next.includes(x))) events.push(...unlink(st, ids.s, k));
      for (const k of added) events.push(...link(st, ids.s, k));
      S.taskIds = next;
      return ok(200, events);
    }
    case 'deleteTask': {
      if (!st.tasks[ids.k]) return ok(404, []);
      for (const S of Object.values(st.sessions)) S.taskIds = without(S.taskIds, ids.k);
      delete st.tasks[ids.k];
      return ok(200, [['task:deleted', { id: ids.k }]]);
    }
    case 'deleteSession': {
      const S = st.sessions[ids.s];
      if (!S) return ok(404, []);
      const events: Ev[] = [];
      for (const k of S.taskIds) {
        const T = st.tasks[k];
        if (!T) continue;
        T.sessionIds = without(T.sessionIds, ids.s);
        events.push(['task:session_removed', { taskId: k, sessionId: ids.s }], ['session:task_removed', { sessionId: ids.s, taskId: k }]);
      }
      delete st.sessions[ids.s];
      delete st.queues[ids.s];
      events.push(['session:deleted', { id: ids.s }]);
      return ok(200, events);
    }
    case 'deleteProject': {
      if (!st.projects.includes(ids.p)) return ok(404, []);
      if (Object.values(st.tasks).some((t) => t.projectId === ids.p)) return ok(400, []);
      if (Object.values(st.sessions).some((s) => s.projectId === ids.p)) return ok(400, []);
      st.projects = without(st.projects, ids.p);
      return ok(200, [['project:deleted', { id: ids.p }]]);
    }
    case 'qPush': {
      const bad = queueCheck(ids.s);
      if (bad) return bad;
      if (!st.tasks[ids.k]) return ok(404, []);
      const items = st.queues[ids.s]!;
      if (items.some((i) => i.taskId === ids.k)) return ok(400, []);
      items.push({ taskId: ids.k, status: 'queued' });
      return ok(200, [['queue:updated'], ...link(st, ids.s, ids.k)]);
    }
    case 'qStart': {
      const bad = queueCheck(ids.s);
      if (bad) return bad;
      const items = st.queues[ids.s]!;
      if (items.some((i) => i.status === 'processing')) return ok(400, []);
      const next = items.find((i) => i.status === 'queued');
      if (!next) return ok(200, []);
      next.status = 'processing';
      return ok(200, [['queue:item_started'], ['queue:updated'], ...taskUpdated(next.taskId)]);
    }
    case 'qComplete':
    case 'qFail': {
      const bad = queueCheck(ids.s);
      if (bad) return bad;
      const cur = st.queues[ids.s]!.find((i) => i.status === 'processing');
      if (!cur) return ok(400, []);
      cur.status = r.cmd.t === 'qComplete' ? 'completed' : 'failed';
      return ok(200, [[r.cmd.t === 'qComplete' ? 'queue:item_completed' : 'queue:item_failed'], ['queue:updated'], ...taskUpdated(cur.taskId)]);
    }
    case 'qSkip': {
      const bad = queueCheck(ids.s);
      if (bad) return bad;
      const items = st.queues[ids.s]!;
      const cur = items.find((i) => i.status === 'processing') ?? items.find((i) => i.status === 'queued');
      if (!cur) return ok(400, []);
      cur.status = 'skipped';
      return ok(200, [['queue:item_skipped'], ['queue:updated'], ...taskUpdated(cur.taskId)]);
    }
  }
}

function eventsMatch(got: Envelope[], want: Ev[]): boolean {
  if (got.length !== want.length) return false;
  return want.every(([name, data], i) => got[i]!.event === name && (data === undefined || isDeepStrictEqual(got[i]!.data, data)));
}

function* permutations<T>(xs: T[]): Generator<T[]> {
  if (xs.length <= 1) {
    yield xs;
    return;
  }
  for (let i = 0; i < xs.length; i++) for (const rest of permutations([...xs.slice(0, i), ...xs.slice(i + 1)])) yield [xs[i]!, ...rest];
}

const describeEv = (evs: Ev[]) => evs.map(([n]) => n).join(',');

/** Compares the server's whole state with the model and checks the invariants on the server's data. */
async function verify(c: Conformance, t: Target, st: State, history: string[]): Promise<void> {
  const fail = (why: string): never => {
    throw new ConformanceError(`model: ${why}\n  after: ${history.join(' | ')}`);
  };
  const projects = (await c.send(t, 'listProjects')).res.json as any[];
  const tasks = (await c.send(t, 'listTasks')).res.json as any[];
  const sessions = (await c.send(t, 'listSessions')).res.json as any[];
  const sorted = (xs: any[], key: string) => xs.every((x, i) => i === 0 || xs[i - 1][key] < x[key] || (xs[i - 1][key] === x[key] && xs[i - 1].id < x.id));
  if (!sorted(projects, 'createdAt') || !sorted(tasks, 'createdAt') || !sorted(sessions, 'startedAt')) fail('a list is not sorted (docs/behaviour.md §0.4)');
  if (!isDeepStrictEqual(projects.map((p) => p.id).sort(), [...st.projects].sort())) fail(`projects ${JSON.stringify(projects.map((p) => p.id))} != model ${JSON.stringify(st.projects)}`);
  if (!isDeepStrictEqual(tasks.map((x) => x.id).sort(), Object.keys(st.tasks).sort())) fail('task ids differ from the model');
  if (!isDeepStrictEqual(sessions.map((x) => x.id).sort(), Object.keys(st.sessions).sort())) fail('session ids differ from the model');
  const taskById = new Map(tasks.map((x) => [x.id, x]));
  const sessionById = new Map(sessions.map((x) => [x.id, x]));
  for (const x of tasks) {
    const m = st.tasks[x.id]!;
    if (x.projectId !== m.projectId || x.parentId !== m.parentId || !isDeepStrictEqual(x.sessionIds, m.sessionIds)) {
      fail(`task ${x.id}: server ${JSON.stringify({ p: x.projectId, parent: x.parentId, s: x.sessionIds })} model ${JSON.stringify(m)}`);
    }
    for (const s of x.sessionIds) {
      if (!sessionById.has(s)) fail(`orphan link: task ${x.id} names missing session ${s}`);
      if (!sessionById.get(s).taskIds.includes(x.id)) fail(`asymmetric link: task ${x.id} → session ${s}`);
    }
  }
  for (const x of sessions) {
    const m = st.sessions[x.id]!;
    if (x.projectId !== m.projectId || x.strategy !== m.strategy || !isDeepStrictEqual(x.taskIds, m.taskIds)) {
      fail(`session ${x.id}: server ${JSON.stringify({ p: x.projectId, k: x.taskIds, st: x.strategy })} model ${JSON.stringify(m)}`);
    }
    for (const k of x.taskIds) {
      if (!taskById.has(k)) fail(`orphan link: session ${x.id} names missing task ${k}`);
      if (!taskById.get(k).sessionIds.includes(x.id)) fail(`asymmetric link: session ${x.id} → task ${k}`);
    }
    if (x.strategy === 'queue') {
      const q = (await c.send(t, 'getQueue', { path: c.pathOf('getQueue', { id: x.id }) })).res.json;
      const items = q.queue.items.map((i: any) => ({ taskId: i.taskId, status: i.status }));
      if (!isDeepStrictEqual(items, st.queues[x.id])) fail(`queue ${x.id}: server ${JSON.stringify(items)} model ${JSON.stringify(st.queues[x.id])}`);
      const processing = items.map((i: any, n: number) => (i.status === 'processing' ? n : -1)).filter((n: number) => n >= 0);
      if (processing.length > 1) fail(`queue ${x.id}: ${processing.length} items processing`);
      if (q.queue.currentIndex !== (processing[0] ?? -1)) fail(`queue ${x.id}: currentIndex ${q.queue.currentIndex}, processing at ${processing[0] ?? -1}`);
      const added = q.queue.items.map((i: any) => i.addedAt);
      if (added.some((a: number, n: number) => n > 0 && a < added[n - 1])) fail(`queue ${x.id}: items not in FIFO (addedAt) order`);
    }
  }
}

/** One property run: a fresh server, the steps, verification after each. */
export async function runModel(c: Conformance, plan: Step[]): Promise<void> {
  const started = await startMain();
  const t = new Target('model', started.server.port);
  const rec = await EventRecorder.open(started.server.port, c.spec, c.coverage);
  const st: State = { projects: [], tasks: {}, sessions: {}, queues: {}, ever: { p: [], t: [], s: [] } };
  const history: string[] = [];
  try {
    for (const stepPlan of plan) {
      const cmds = 'one' in stepPlan ? [stepPlan.one] : stepPlan.all;
      const resolved = cmds.map((cmd) => resolve(st, cmd));
      const label = resolved.map((r) => `${r.op}${JSON.stringify(r.params)}${r.json ? JSON.stringify(r.json) : ''}`).join(' ‖ ');
      history.push(label);
      const sent = await Promise.all(
        resolved.map((r) => c.send(t, r.op, { path: c.pathOf(r.op, r.params), ...(r.json !== undefined ? { json: r.json } : {}) }, 'model')),
      );
      const got = await rec.fence();
      let explained: State | undefined;
      const tried: string[] = [];
      for (const order of permutations(resolved.map((_, i) => i))) {
        const trial = structuredClone(st);
        const outcomes = order.map((i) => apply(trial, resolved[i]!, sent[i]!.res));
        const want = outcomes.flatMap((o) => o.events);
        const statuses = order.every((i, n) => sent[i]!.res.status === outcomes[n]!.status);
        if (statuses && eventsMatch(got, want)) {
          explained = trial;
          break;
        }
        tried.push(`order ${order.join(',')}: statuses ${order.map((i, n) => `${sent[i]!.res.status}/${outcomes[n]!.status}`).join(' ')} events ${describeEv(want)}`);
      }
      if (!explained) {
        must(false, `model: no serial order explains ${label}\n  got statuses ${sent.map((s) => s.res.status).join(' ')} events ${got.map((e) => e.event).join(',')}\n  ${tried.join('\n  ')}\n  history: ${history.join(' | ')}`, sent[0]);
      }
      Object.assign(st, explained);
      await verify(c, t, st, history);
    }
  } finally {
    rec.close();
    t.close();
    await started.close();
  }
}

export async function modelTest(c: Conformance, seed: number, runs: number): Promise<void> {
  await fc.assert(fc.asyncProperty(steps, (plan) => runModel(c, plan)), { seed, numRuns: runs });
}
