/** Shared fixtures for the store tests: temp DATA_DIRs, entity builders, a disk snapshot. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { projectDefaults, queueDefaults, sessionDefaults, taskDefaults, templateDefaults } from '../../generated/model/index.js';
import type { Project, QueueState, Session, Task, Template } from '../../src/store/entities.js';
import type { Store, StoreEvent, Tx } from '../../src/store/store.js';
import type { StoreLogger } from '../../src/store/load.js';

const dirs: string[] = [];

/** A fresh temp directory, removed by `cleanupTempDirs`. */
export async function tempDir(prefix = 'maestro-store-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export async function cleanupTempDirs(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A logger that records every line. */
export function recordingLogger(): StoreLogger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return {
    warnings,
    infos,
    warn: (m) => void warnings.push(m),
    info: (m) => void infos.push(m),
  };
}

// Entity builders: the schema defaults (generated/model), then the fixture's values, then the test's. A field added
// to an entity schema with a `default` reaches every fixture without an edit here (CONTRIBUTING.md step 5).
export function project(id: string, over: Partial<Project> = {}): Project {
  return { ...projectDefaults(), id, name: `Project ${id}`, workingDir: '/tmp/w', description: '', createdAt: 1000, updatedAt: 1000, ...over };
}

export function task(id: string, projectId: string, over: Partial<Task> = {}): Task {
  return {
    ...taskDefaults(),
    id,
    projectId,
    parentId: null,
    title: `Task ${id}`,
    description: '',
    status: 'todo',
    priority: 'medium',
    createdAt: 1000,
    updatedAt: 1000,
    startedAt: null,
    completedAt: null,
    initialPrompt: '',
    sessionIds: [],
    skillIds: [],
    agentIds: [],
    dependencies: [],
    ...over,
  } as Task;
}

export function session(id: string, projectId: string, over: Partial<Session> = {}): Session {
  return {
    ...sessionDefaults(),
    id,
    projectId,
    taskIds: [],
    name: 'Unnamed Session',
    env: {},
    strategy: 'simple',
    status: 'idle',
    startedAt: 1000,
    lastActivity: 1000,
    completedAt: null,
    hostname: 'host',
    platform: 'linux',
    events: [],
    timeline: [],
    ...over,
  } as Session;
}

export function queue(sessionId: string, over: Partial<QueueState> = {}): QueueState {
  return { ...queueDefaults(), sessionId, strategy: 'queue', items: [], currentIndex: -1, createdAt: 1000, updatedAt: 1000, ...over } as QueueState;
}

export function template(id: string, over: Partial<Template> = {}): Template {
  return { ...templateDefaults(), id, name: `Template ${id}`, role: 'worker', content: '# hi', isDefault: false, createdAt: 1000, updatedAt: 1000, ...over } as Template;
}

/** Every `*.json` under the entity folders of DATA_DIR, parsed, keyed by relative path. */
export async function diskSnapshot(dataDir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.json')) out[relative(dataDir, p)] = JSON.parse(await readFile(p, 'utf8'));
    }
  };
  for (const folder of ['projects', 'tasks', 'sessions', 'queues', 'templates']) await walk(join(dataDir, folder));
  return out;
}

/** What the disk should hold for the store's in-memory state (same keys as diskSnapshot). */
export function memorySnapshot(store: Store): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of store.listProjects()) out[join('projects', `${p.id}.json`)] = p;
  for (const t of store.listTasks()) out[join('tasks', t.projectId, `${t.id}.json`)] = t;
  for (const s of store.listSessions()) {
    out[join('sessions', `${s.id}.json`)] = s;
    const q = store.getQueue(s.id);
    if (q !== undefined) out[join('queues', `${s.id}.json`)] = q;
  }
  for (const t of store.listTemplates()) out[join('templates', `${t.id}.json`)] = t;
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
}

/**
 * Records an opaque marker event. The store never looks at event names or payloads (it only keeps them in
 * order and delivers them after the commit), so its tests use markers such as `('a', 1)`; `tx.emit` itself
 * accepts only catalogue events with their payload types (test/types/emit.typecheck.ts), hence the cast here.
 */
export function emitMarker(tx: Tx, name: string, data: unknown): void {
  tx.emitEvent({ name, data } as unknown as StoreEvent);
}

/** Collects committed events. */
export function eventSink(): { events: StoreEvent[][]; listener: (e: readonly StoreEvent[]) => void } {
  const events: StoreEvent[][] = [];
  return { events, listener: (e) => void events.push([...e]) };
}

/** Wait until `cond` holds (polling); fails with `what` after 5 s. Waits on conditions, not on time, so that a
 * slow machine cannot reorder the steps of a test. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
