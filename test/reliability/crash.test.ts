/**
 * End-to-end crash test (issue 6; docs/behaviour.md §0.8, §5.4, §5.3 link repair): the real server as a child process
 * is SIGKILLed at random, seeded moments while 16 concurrent clients send mixed writes. After every restart:
 *  - every acknowledged write is there and every acknowledged delete is gone;
 *  - a write that was in flight at the kill is either fully there or not at all, file by file (each entity
 *    equals its state before or after that request; each task ⟷ session link likewise);
 *  - every file in DATA_DIR parses, is an entity file in its place, and equals what the API serves;
 *  - no temporary file survived the start and nothing was quarantined;
 *  - task.sessionIds ⟷ session.taskIds are symmetric.
 *
 * Every client owns its entities (names, titles and session ids start with `c{client}-`), so the writes to one
 * entity come from one client, one at a time, and "the last acknowledged state" of each entity is exact. The
 * clients still run concurrently against the one server, whose mutations are serialised.
 *
 * The store's own crash test (test/store/crash.test.ts) kills at every file operation of single mutations; this
 * one checks the whole stack (HTTP → handlers → store → disk) under concurrency.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, freePort } from '../support/http.js';
import { type ChildServer, killAllChildren, startChild } from '../support/server.js';
import { listFiles, tempDir } from '../support/temp.js';
import { SOAK, checkDisk, figure, prng, snapshot, type Snapshot } from './helpers.js';

const SEED = Number(process.env.MAESTRO_CRASH_SEED ?? 20240611);
const KILLS = Number(process.env.MAESTRO_CRASH_KILLS ?? (SOAK ? 200 : 22));
const MIN_ACKS = SOAK ? 20_000 : 2000;
const CLIENTS = 16;
/** Traffic time before the kill, in ms: uniform in [MIN, MIN + SPREAD). */
const KILL_MIN_MS = 250;
const KILL_SPREAD_MS = SOAK ? 2000 : 700;

afterAll(killAllChildren);

// ---------------------------------------------------------------------------------------------------------------
// The model: per client, the tracked fields of each entity it owns.

interface ProjectView {
  id?: string;
  description: string;
}
interface TaskView {
  id?: string;
  project: string;
  status: string;
  priority: string;
  description: string;
  sessionStatus?: string;
}
interface SessionView {
  project: string;
  status: string;
  strategy: string;
}
interface QueueItemView {
  taskId: string;
  status: string;
}

/** One client's part of the state. Keys: project name, task title, session id; links are `sessionId|taskTitle`. */
interface Part {
  projects: Map<string, ProjectView>;
  tasks: Map<string, TaskView>;
  sessions: Map<string, SessionView>;
  links: Set<string>;
  queues: Map<string, QueueItemView[]>;
}

function emptyPart(): Part {
  return { projects: new Map(), tasks: new Map(), sessions: new Map(), links: new Set(), queues: new Map() };
}

function clonePart(p: Part): Part {
  return {
    projects: new Map([...p.projects].map(([k, v]) => [k, { ...v }])),
    tasks: new Map([...p.tasks].map(([k, v]) => [k, { ...v }])),
    sessions: new Map([...p.sessions].map(([k, v]) => [k, { ...v }])),
    links: new Set(p.links),
    queues: new Map([...p.queues].map(([k, v]) => [k, v.map((i) => ({ ...i }))])),
  };
}

/** Canonical text of a view without its id (ids of in-flight creates are unknown to the model). */
function canon(v: object | undefined): string {
  if (v === undefined) return '∅';
  const o = Object.fromEntries(Object.entries(v).filter(([k, val]) => k !== 'id' && val !== undefined).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify(o);
}

const link = (sid: string, title: string) => `${sid}|${title}`;

interface Op {
  what: string;
  method: string;
  path: string;
  body?: unknown;
  expect: number;
  /** Applies the request's effect to a part (the model after an ack, or a copy for an in-flight request). */
  apply(p: Part): void;
  /** Learns server-generated ids from the response. */
  learn?(p: Part, json: any): void;
}

interface Client {
  n: number;
  prefix: string;
  rng: () => number;
  counter: number;
  model: Part;
  inflight?: Op;
  acked: number;
}

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

const TASK_STATUSES = ['todo', 'in_progress', 'completed', 'cancelled', 'blocked'];
const PRIORITIES = ['low', 'medium', 'high'];
const SESSION_STATUSES = ['idle', 'working', 'completed', 'failed', 'stopped', 'spawning'];

function taskById(p: Part, id: string): TaskView | undefined {
  for (const t of p.tasks.values()) if (t.id === id) return t;
  return undefined;
}

/** Chooses the client's next request from what its model makes valid (every request must succeed). */
function chooseOp(c: Client): Op {
  const { rng, model: m } = c;
  const projects = [...m.projects.entries()].filter(([, v]) => v.id !== undefined);
  const tasks = [...m.tasks.entries()].filter(([, v]) => v.id !== undefined);
  const sessions = [...m.sessions.entries()];
  const candidates: Array<[number, () => Op]> = [];

  if (projects.length < 3) {
    candidates.push([projects.length === 0 ? 100 : 3, () => {
      const name = `${c.prefix}p${c.counter++}`;
      const description = `d${c.counter}`;
      return {
        what: 'createProject', method: 'POST', path: '/api/projects', body: { name, description, workingDir: '/w' }, expect: 201,
        apply: (p) => void p.projects.set(name, { description }),
        learn: (p, json) => void (p.projects.get(name)!.id = json.id),
      };
    }]);
  }
  if (projects.length > 0) {
    candidates.push([3, () => {
      const [name, v] = pick(rng, projects);
      const description = `d${c.counter++}`;
      return {
        what: 'updateProject', method: 'PUT', path: `/api/projects/${v.id}`, body: { description }, expect: 200,
        apply: (p) => void (p.projects.get(name)!.description = description),
      };
    }]);
    const free = projects.filter(([name]) => ![...m.tasks.values()].some((t) => t.project === name) && ![...m.sessions.values()].some((s) => s.project === name));
    if (free.length > 0 && projects.length > 1) {
      candidates.push([2, () => {
        const [name, v] = pick(rng, free);
        return { what: 'deleteProject', method: 'DELETE', path: `/api/projects/${v.id}`, expect: 200, apply: (p) => void p.projects.delete(name) };
      }]);
    }
    if (m.tasks.size < 8) {
      candidates.push([m.tasks.size < 3 ? 12 : 5, () => {
        const [project, pv] = pick(rng, projects);
        const title = `${c.prefix}t${c.counter++}`;
        const priority = pick(rng, PRIORITIES);
        const description = `d${c.counter}`;
        return {
          what: 'createTask', method: 'POST', path: '/api/tasks', body: { projectId: pv.id, title, priority, description }, expect: 201,
          apply: (p) => void p.tasks.set(title, { project, status: 'todo', priority, description }),
          learn: (p, json) => void (p.tasks.get(title)!.id = json.id),
        };
      }]);
    }
    if (m.sessions.size < 4) {
      candidates.push([5, () => {
        const [project, pv] = pick(rng, projects);
        const sid = `${c.prefix}s${c.counter++}`;
        const chosen = tasks.filter(() => rng() < 0.3).slice(0, 3);
        const strategy = rng() < 0.5 ? 'queue' : 'simple';
        return {
          what: 'createSession', method: 'POST', path: '/api/sessions',
          body: { id: sid, projectId: pv.id, taskIds: chosen.map(([, t]) => t.id), strategy }, expect: 201,
          apply: (p) => {
            p.sessions.set(sid, { project, status: 'idle', strategy });
            for (const [title] of chosen) if (p.tasks.has(title)) p.links.add(link(sid, title));
            if (strategy === 'queue') p.queues.set(sid, chosen.map(([, t]) => ({ taskId: t.id!, status: 'queued' })));
          },
        };
      }]);
    }
  }
  if (tasks.length > 0) {
    candidates.push([8, () => {
      const [title, t] = pick(rng, tasks);
      const body: Record<string, string> = {};
      if (rng() < 0.6) body.status = pick(rng, TASK_STATUSES);
      if (rng() < 0.4) body.priority = pick(rng, PRIORITIES);
      if (rng() < 0.4 || Object.keys(body).length === 0) body.description = `d${c.counter++}`;
      return {
        what: 'updateTask', method: 'PATCH', path: `/api/tasks/${t.id}`, body, expect: 200,
        apply: (p) => void Object.assign(p.tasks.get(title)!, body),
      };
    }]);
    candidates.push([m.tasks.size > 5 ? 5 : 1, () => {
      const [title, t] = pick(rng, tasks);
      return {
        what: 'deleteTask', method: 'DELETE', path: `/api/tasks/${t.id}`, expect: 200,
        apply: (p) => {
          p.tasks.delete(title);
          for (const l of [...p.links]) if (l.endsWith(`|${title}`)) p.links.delete(l);
        },
      };
    }]);
  }
  if (sessions.length > 0) {
    candidates.push([4, () => {
      const [sid] = pick(rng, sessions);
      const status = pick(rng, SESSION_STATUSES);
      return {
        what: 'updateSession', method: 'PATCH', path: `/api/sessions/${sid}`, body: { status }, expect: 200,
        apply: (p) => void (p.sessions.get(sid)!.status = status),
      };
    }]);
    candidates.push([m.sessions.size > 2 ? 4 : 1, () => {
      const [sid] = pick(rng, sessions);
      return {
        what: 'deleteSession', method: 'DELETE', path: `/api/sessions/${sid}`, expect: 200,
        apply: (p) => {
          p.sessions.delete(sid);
          p.queues.delete(sid);
          for (const l of [...p.links]) if (l.startsWith(`${sid}|`)) p.links.delete(l);
        },
      };
    }]);
    const pairs = sessions.flatMap(([sid]) => tasks.map(([title, t]) => ({ sid, title, id: t.id!, linked: m.links.has(link(sid, title)) })));
    const unlinked = pairs.filter((x) => !x.linked);
    const linked = pairs.filter((x) => x.linked);
    if (unlinked.length > 0) {
      candidates.push([6, () => {
        const x = pick(rng, unlinked);
        return { what: 'linkTask', method: 'POST', path: `/api/sessions/${x.sid}/tasks/${x.id}`, expect: 200, apply: (p) => void p.links.add(link(x.sid, x.title)) };
      }]);
    }
    if (linked.length > 0) {
      candidates.push([4, () => {
        const x = pick(rng, linked);
        return { what: 'unlinkTask', method: 'DELETE', path: `/api/sessions/${x.sid}/tasks/${x.id}`, expect: 200, apply: (p) => void p.links.delete(link(x.sid, x.title)) };
      }]);
    }
    const queued = sessions.filter(([sid]) => m.queues.has(sid));
    for (const [sid] of queued) {
      const items = m.queues.get(sid)!;
      const pushable = tasks.filter(([, t]) => !items.some((i) => i.taskId === t.id));
      if (pushable.length > 0) {
        candidates.push([3, () => {
          const [title, t] = pick(rng, pushable);
          return {
            what: 'queuePush', method: 'POST', path: `/api/sessions/${sid}/queue/push`, body: { taskId: t.id }, expect: 200,
            apply: (p) => {
              p.queues.get(sid)!.push({ taskId: t.id!, status: 'queued' });
              p.links.add(link(sid, title));
            },
          };
        }]);
      }
      const processing = items.findIndex((i) => i.status === 'processing');
      if (processing >= 0) {
        candidates.push([3, () => ({
          what: 'queueComplete', method: 'POST', path: `/api/sessions/${sid}/queue/complete`, expect: 200,
          apply: (p) => {
            const item = p.queues.get(sid)![processing]!;
            item.status = 'completed';
            const task = taskById(p, item.taskId);
            if (task) task.sessionStatus = 'completed';
          },
        })]);
      } else if (items.some((i) => i.status === 'queued')) {
        candidates.push([3, () => ({
          what: 'queueStart', method: 'POST', path: `/api/sessions/${sid}/queue/start`, expect: 200,
          apply: (p) => {
            const item = p.queues.get(sid)!.find((i) => i.status === 'queued')!;
            item.status = 'processing';
            const task = taskById(p, item.taskId);
            if (task) task.sessionStatus = 'working';
          },
        })]);
      }
    }
  }
  const total = candidates.reduce((s, [w]) => s + w, 0);
  let r = rng() * total;
  for (const [w, make] of candidates) {
    r -= w;
    if (r < 0) return make();
  }
  return candidates[candidates.length - 1]![1]();
}

// ---------------------------------------------------------------------------------------------------------------
// What the server holds after a restart.

/** The part of `snap` owned by the client with `prefix`. */
function partOf(snap: Snapshot, prefix: string): Part {
  const part = emptyPart();
  const projectName = new Map(snap.projects.map((p) => [p.id, p.name]));
  const taskTitle = new Map(snap.tasks.map((t) => [t.id, t.title]));
  for (const p of snap.projects) if (p.name.startsWith(prefix)) part.projects.set(p.name, { id: p.id, description: p.description });
  for (const t of snap.tasks) {
    if (!t.title.startsWith(prefix)) continue;
    part.tasks.set(t.title, {
      id: t.id,
      project: projectName.get(t.projectId) ?? `?${t.projectId}`,
      status: t.status,
      priority: t.priority,
      description: t.description,
      ...(t.sessionStatus !== undefined ? { sessionStatus: t.sessionStatus } : {}),
    });
  }
  for (const s of snap.sessions) {
    if (!s.id.startsWith(prefix)) continue;
    part.sessions.set(s.id, { project: projectName.get(s.projectId) ?? `?${s.projectId}`, status: s.status, strategy: s.strategy });
    for (const tid of s.taskIds) part.links.add(link(s.id, taskTitle.get(tid) ?? `?${tid}`));
    const q = snap.queues.get(s.id);
    if (q) part.queues.set(s.id, q.items.map((i: any) => ({ taskId: i.taskId, status: i.status })));
  }
  return part;
}

/**
 * Compares the server's part with the model before (`pre`) and after (`post`) the client's in-flight request
 * (both the same when nothing was in flight). Returns one line per entity, link or queue that matches neither.
 */
function compare(actual: Part, pre: Part, post: Part): string[] {
  const lost: string[] = [];
  const kinds = ['projects', 'tasks', 'sessions', 'queues'] as const;
  for (const kind of kinds) {
    const keys = new Set([...pre[kind].keys(), ...post[kind].keys(), ...actual[kind].keys()]);
    for (const key of keys) {
      const a = canon(actual[kind].get(key) as object | undefined);
      const before = canon(pre[kind].get(key) as object | undefined);
      const after = canon(post[kind].get(key) as object | undefined);
      if (a !== before && a !== after) lost.push(`${kind} ${key}: server ${a}, acknowledged ${before}${after !== before ? ` or in flight ${after}` : ''}`);
    }
  }
  const links = new Set([...pre.links, ...post.links, ...actual.links]);
  for (const l of links) {
    const a = actual.links.has(l);
    if (a !== pre.links.has(l) && a !== post.links.has(l)) lost.push(`link ${l}: server ${a ? 'has' : 'lacks'} it`);
  }
  return lost;
}

/** task.sessionIds ⟷ session.taskIds, and every id on either side names an existing entity. */
function brokenLinks(snap: Snapshot): string[] {
  const broken: string[] = [];
  const tasks = new Map(snap.tasks.map((t) => [t.id, t]));
  const sessions = new Map(snap.sessions.map((s) => [s.id, s]));
  for (const t of snap.tasks) {
    for (const sid of t.sessionIds) {
      const s = sessions.get(sid);
      if (!s || !s.taskIds.includes(t.id)) broken.push(`task ${t.id} → session ${sid}`);
    }
  }
  for (const s of snap.sessions) {
    for (const tid of s.taskIds) {
      const t = tasks.get(tid);
      if (!t || !t.sessionIds.includes(s.id)) broken.push(`session ${s.id} → task ${tid}`);
    }
  }
  return broken;
}

// ---------------------------------------------------------------------------------------------------------------

describe('crash: SIGKILL under concurrent writes', () => {
  it(`≥${KILLS} kills, ≥${MIN_ACKS} acknowledged writes, ${CLIENTS} clients: nothing acknowledged is lost, links stay symmetric`, async () => {
    const root = tempDir('maestro-reliability-');
    const dataDir = path.join(root, 'data');
    let port = await freePort();
    const master = prng(SEED);
    const clients: Client[] = Array.from({ length: CLIENTS }, (_, n) => ({
      n,
      prefix: `c${n}-`,
      rng: prng(SEED * 31 + n + 1),
      counter: 0,
      model: emptyPart(),
      acked: 0,
    }));
    let kills = 0;
    let lostWrites = 0;
    let brokenCount = 0;
    let inflight = 0;
    let tempFilesLeft = 0;
    let inflightLanded = 0;
    const unexpected: string[] = [];
    const problems: string[] = [];
    const t0 = Date.now();

    /** Restart check: compare, count, then adopt the server's state as the new model. */
    const verify = async (child: ChildServer) => {
      const health = await call(child.port, 'GET', '/health');
      expect(health.status).toBe(200);
      const quarantined = (health.json as { storage: { quarantined: number } }).storage.quarantined;
      if (quarantined !== 0) problems.push(`start ${kills}: ${quarantined} file(s) quarantined`);
      const snap = await snapshot(child.port);
      problems.push(...checkDisk(dataDir, snap).map((p) => `start ${kills}: ${p}`));
      const broken = brokenLinks(snap);
      brokenCount += broken.length;
      problems.push(...broken.map((b) => `start ${kills}: broken link ${b}`));
      for (const c of clients) {
        const actual = partOf(snap, c.prefix);
        const post = clonePart(c.model);
        c.inflight?.apply(post);
        const lost = compare(actual, c.model, post);
        if (c.inflight) {
          inflight++;
          if (lost.length === 0 && compare(actual, post, post).length === 0 && compare(post, c.model, c.model).length > 0) inflightLanded++;
        }
        lostWrites += lost.length;
        problems.push(...lost.map((l) => `start ${kills}: client ${c.n}${c.inflight ? ` (in flight: ${c.inflight.what})` : ''}: ${l}`));
        c.model = actual;
        c.inflight = undefined;
      }
    };

    const runClient = async (c: Client, port: number, agent: http.Agent, stop: { killed: boolean }) => {
      while (!stop.killed) {
        const op = chooseOp(c);
        c.inflight = op;
        let res;
        try {
          res = await call(port, op.method, op.path, { body: op.body, agent });
        } catch {
          return; // the server died with this request in flight
        }
        c.inflight = undefined;
        if (res.status !== op.expect) {
          unexpected.push(`${op.what} ${op.method} ${op.path} → ${res.status} ${res.text.slice(0, 200)}`);
          if (unexpected.length > 20) return;
          continue;
        }
        op.apply(c.model);
        op.learn?.(c.model, res.json);
        c.acked++;
      }
    };

    // At least KILLS kills and MIN_ACKS acknowledged writes: on a loaded machine the epochs simply go on longer
    // (at most 3 × KILLS of them).
    const acked = () => clients.reduce((sum, c) => sum + c.acked, 0);
    for (;;) {
      const child = await startChild({ root, port });
      port = child.port;
      await verify(child);
      if ((kills >= KILLS && acked() >= MIN_ACKS) || kills >= 3 * KILLS) {
        // The last start: a graceful stop must also keep everything and release the lock.
        const { code } = await child.kill('SIGTERM');
        expect(code).toBe(0);
        expect(fs.existsSync(path.join(dataDir, '.lock'))).toBe(false);
        break;
      }
      const stop = { killed: false };
      const agents = clients.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
      const running = clients.map((c, i) => runClient(c, port, agents[i]!, stop));
      const killAfter = KILL_MIN_MS + Math.floor(master() * KILL_SPREAD_MS);
      await new Promise((r) => setTimeout(r, killAfter));
      stop.killed = true;
      child.proc.kill('SIGKILL');
      await child.exited;
      kills++;
      // What the kill left behind; the next start must clean it (checkDisk flags any non-entity file).
      tempFilesLeft += listFiles(dataDir).filter((f) => path.basename(f).endsWith('.tmp')).length;
      await Promise.all(running);
      for (const a of agents) a.destroy();
      if (unexpected.length > 20) break;
    }
    // After the final graceful stop, one more start must serve exactly the last state (no in-flight requests).
    const last = await startChild({ root, port });
    port = last.port;
    await verify(last);
    await last.kill('SIGTERM');

    const acknowledged = clients.reduce((s, c) => s + c.acked, 0);
    figure(
      `crash: kills ${kills}, acknowledged writes ${acknowledged}, lost writes ${lostWrites}, broken links ${brokenCount}` +
        ` (seed ${SEED}, ${CLIENTS} clients, ${inflight} requests in flight at the kills, ${inflightLanded} of them landed,` +
        ` ${tempFilesLeft} temp files left by the kills and removed at the next start,` +
        ` ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    expect(unexpected, unexpected.join('\n')).toEqual([]);
    expect(problems.slice(0, 30), problems.slice(0, 30).join('\n')).toEqual([]);
    expect(lostWrites).toBe(0);
    expect(brokenCount).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(SOAK ? 200 : 20);
    expect(acknowledged).toBeGreaterThanOrEqual(MIN_ACKS);
    fs.rmSync(root, { recursive: true, force: true });
  }, SOAK ? 1_800_000 : 180_000);
});
