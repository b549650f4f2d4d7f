/**
 * Writes a DATA_DIR in docs/behaviour.md's on-disk layout (docs/behaviour.md §5.1) directly, without the server: an HTTP
 * seed of 100 000 tasks would take minutes, a file write takes seconds.
 *
 * The data is canonical (every field of §1, file format `JSON.stringify(v, null, 2)` + newline, links agree on
 * both sides), so the server's startup load migrates, repairs and writes back nothing: start-up measures a
 * plain load. Deterministic: project k has the same tasks whatever the store size, so a filtered list on
 * project 0 returns the same result at 10 000 and at 100 000 tasks (the proportionality check of issue 7).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface SeedOptions {
  dataDir: string;
  sessionDir: string;
  projects: number;
  tasksPerProject: number;
  /** Simple-strategy sessions, each linked to 1–2 tasks of one project. */
  sessions: number;
  /** Queue-strategy sessions (one per load-generator connection and run), all on the last project's tasks. */
  queueSessions: number;
  /** Items per queue (each a distinct task of the last project). */
  queueItems: number;
}

export interface SeedInfo {
  projectIds: string[];
  /** The filtered-list query: project 0 and the status below. */
  listProjectId: string;
  listStatus: string;
  /** How many tasks the filtered query returns. */
  listResultSize: number;
  /** Tasks of projects other than the queue project: targets for GET, PATCH and spawn. */
  taskIds: string[];
  /** The task GET /api/tasks/:id asks for, and its stored JSON (what the baselines answer with). */
  getTaskId: string;
  getTask: Record<string, unknown>;
  queueSessionIds: string[];
  tasks: number;
  sessionCount: number;
  files: number;
  seedMs: number;
}

/** Small deterministic PRNG (mulberry32), so runs are comparable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
function suffix(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 9; i++) s += ALPHABET[Math.floor(rand() * 36)];
  return s;
}

const WORDS = (
  'add fix refactor migrate document test cache index parser router handler store queue session project ' +
  'template skill manifest spawn websocket broadcast schema validator config logging metrics retry timeout ' +
  'pagination filter sort export import login token upload thumbnail search'
).split(' ');

function sentence(rand: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)]!);
  const s = out.join(' ');
  return s[0]!.toUpperCase() + s.slice(1);
}

// Status mix of a project that has been worked on for a while; the list query asks for `in_progress` (~10 %).
const STATUS_MIX: [string, number][] = [
  ['completed', 0.5],
  ['todo', 0.3],
  ['in_progress', 0.1],
  ['blocked', 0.05],
  ['cancelled', 0.05],
];
function pickStatus(rand: () => number): string {
  let r = rand();
  for (const [s, p] of STATUS_MIX) {
    if (r < p) return s;
    r -= p;
  }
  return 'todo';
}
const PRIORITIES = ['low', 'medium', 'high'];

const BASE_TIME = 1_750_000_000_000;

function serialize(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

type Task = Record<string, unknown> & { id: string; projectId: string; sessionIds: string[]; updatedAt: number };

/** Seeds `dataDir` (which must not exist or be empty) and returns what the scenarios need. */
export function seedDataDir(options: SeedOptions): SeedInfo {
  const started = performance.now();
  const { dataDir } = options;
  for (const dir of ['projects', 'tasks', 'sessions', 'queues', 'templates', 'quarantine']) {
    fs.mkdirSync(path.join(dataDir, dir), { recursive: true });
  }
  fs.mkdirSync(options.sessionDir, { recursive: true });

  const projectIds: string[] = [];
  const tasksByProject: Task[][] = [];
  const allTasks = new Map<string, Task>();
  let files = 0;

  for (let p = 0; p < options.projects; p++) {
    // One generator per project: project p is identical in every store size.
    const rand = prng(1000 + p);
    const created = BASE_TIME + p * 60_000;
    const projectId = `proj_${created}_${suffix(rand)}`;
    projectIds.push(projectId);
    const project = {
      id: projectId,
      name: `Project ${p}: ${sentence(rand, 2)}`,
      workingDir: `/home/dev/src/project-${p}`,
      description: sentence(rand, 12),
      createdAt: created,
      updatedAt: created,
    };
    fs.writeFileSync(path.join(dataDir, 'projects', `${projectId}.json`), serialize(project));
    files++;
    const tasks: Task[] = [];
    for (let t = 0; t < options.tasksPerProject; t++) {
      const createdAt = created + 1000 + t * 1000;
      const status = pickStatus(rand);
      const id = `task_${createdAt}_${suffix(rand)}`;
      const parentId = t > 10 && rand() < 0.3 ? tasks[Math.floor(rand() * Math.min(t, 50))]!.id : null;
      const task: Task = {
        id,
        projectId,
        parentId,
        title: sentence(rand, 5),
        description: `${sentence(rand, 25)}. ${sentence(rand, 15)}.`,
        status,
        priority: PRIORITIES[Math.floor(rand() * 3)]!,
        createdAt,
        updatedAt: createdAt + 5000,
        startedAt: status === 'todo' ? null : createdAt + 2000,
        completedAt: status === 'completed' ? createdAt + 4000 : null,
        initialPrompt: `${sentence(rand, 18)}.`,
        sessionIds: [],
        skillIds: rand() < 0.5 ? ['maestro-worker'] : [],
        agentIds: [],
        dependencies: t > 0 && rand() < 0.2 ? [tasks[t - 1]!.id] : [],
        ...(rand() < 0.3 && { model: 'sonnet' }),
        ...(status === 'completed' && { sessionStatus: 'completed' }),
      };
      tasks.push(task);
      allTasks.set(id, task);
    }
    tasksByProject.push(tasks);
  }

  // Sessions: simple ones on random tasks, queue ones on the last project.
  const rand = prng(42);
  const sessions: Record<string, unknown>[] = [];
  const queues: Record<string, unknown>[] = [];
  const queueSessionIds: string[] = [];
  const newSession = (projectId: string, taskIds: string[], strategy: string, startedAt: number) => {
    const id = `sess_${startedAt}_${suffix(rand)}`;
    const session = {
      id,
      projectId,
      taskIds,
      name: `Worker for ${taskIds[0] ?? projectId}`,
      env: {
        MAESTRO_SESSION_ID: id,
        MAESTRO_MANIFEST_PATH: path.join(options.sessionDir, id, 'manifest.json'),
        MAESTRO_SERVER_URL: 'http://127.0.0.1:3000',
        MAESTRO_STRATEGY: strategy,
        DATA_DIR: dataDir,
        SESSION_DIR: options.sessionDir,
      },
      strategy,
      status: strategy === 'queue' ? 'working' : rand() < 0.8 ? 'completed' : 'idle',
      startedAt,
      lastActivity: startedAt + 60_000,
      completedAt: null as number | null,
      hostname: 'bench-host',
      platform: 'linux',
      events: [
        { id: `evt_${startedAt + 10}_${suffix(rand)}`, timestamp: startedAt + 10, type: 'tool_call', data: { tool: 'edit', file: 'src/app.ts' } },
        { id: `evt_${startedAt + 20}_${suffix(rand)}`, timestamp: startedAt + 20, type: 'file_modified', data: { path: 'src/app.ts' } },
      ],
      timeline: [
        { id: `evt_${startedAt}_${suffix(rand)}`, type: 'session_started', timestamp: startedAt, message: 'Session started' },
        ...taskIds.map((taskId, i) => ({
          id: `evt_${startedAt + 30 + i}_${suffix(rand)}`,
          type: 'task_started',
          timestamp: startedAt + 30 + i,
          message: `Working on ${taskId}`,
          taskId,
        })),
        { id: `evt_${startedAt + 50_000}_${suffix(rand)}`, type: 'progress', timestamp: startedAt + 50_000, message: sentence(rand, 8) },
      ],
      metadata: { skills: ['maestro-worker'], spawnedBy: null, spawnSource: 'ui', role: 'worker', strategy, context: {} },
    };
    if (session.status === 'completed') session.completedAt = startedAt + 120_000;
    for (const tid of taskIds) allTasks.get(tid)!.sessionIds.push(id);
    sessions.push(session);
    return session;
  };

  const regularProjects = Math.max(1, options.projects - 1);
  for (let s = 0; s < options.sessions; s++) {
    const p = Math.floor(rand() * regularProjects);
    const tasks = tasksByProject[p]!;
    const a = tasks[Math.floor(rand() * tasks.length)]!;
    const b = tasks[Math.floor(rand() * tasks.length)]!;
    const taskIds = rand() < 0.3 && a.id !== b.id ? [a.id, b.id] : [a.id];
    newSession(projectIds[p]!, taskIds, 'simple', BASE_TIME + 10_000_000 + s * 1000);
  }
  const queueTasks = tasksByProject[options.projects - 1]!;
  for (let q = 0; q < options.queueSessions; q++) {
    const startedAt = BASE_TIME + 20_000_000 + q * 1000;
    const items: Task[] = [];
    for (let i = 0; i < Math.min(options.queueItems, queueTasks.length); i++) {
      items.push(queueTasks[(q * 7 + i) % queueTasks.length]!);
    }
    const session = newSession(projectIds[options.projects - 1]!, items.map((t) => t.id), 'queue', startedAt);
    queueSessionIds.push(session.id);
    queues.push({
      sessionId: session.id,
      strategy: 'queue',
      items: items.map((t) => ({ taskId: t.id, status: 'queued', addedAt: startedAt })),
      currentIndex: -1,
      createdAt: startedAt,
      updatedAt: startedAt,
    });
  }

  for (let p = 0; p < options.projects; p++) {
    const dir = path.join(dataDir, 'tasks', projectIds[p]!);
    fs.mkdirSync(dir, { recursive: true });
    for (const task of tasksByProject[p]!) {
      fs.writeFileSync(path.join(dir, `${task.id}.json`), serialize(task));
      files++;
    }
  }
  for (const s of sessions) {
    fs.writeFileSync(path.join(dataDir, 'sessions', `${s.id as string}.json`), serialize(s));
    files++;
  }
  for (const q of queues) {
    fs.writeFileSync(path.join(dataDir, 'queues', `${q.sessionId as string}.json`), serialize(q));
    files++;
  }

  const listProjectId = projectIds[0]!;
  const listStatus = 'in_progress';
  const taskIds: string[] = [];
  for (let p = 0; p < regularProjects; p++) for (const t of tasksByProject[p]!) taskIds.push(t.id);
  const getTask = tasksByProject[0]![Math.floor(options.tasksPerProject / 2)]!;
  return {
    projectIds,
    listProjectId,
    listStatus,
    listResultSize: tasksByProject[0]!.filter((t) => t.status === listStatus).length,
    taskIds,
    getTaskId: getTask.id,
    getTask: JSON.parse(JSON.stringify(getTask)) as Record<string, unknown>,
    queueSessionIds,
    tasks: allTasks.size,
    sessionCount: sessions.length,
    files,
    seedMs: Math.round(performance.now() - started),
  };
}
