import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import type { Project, Session, Task } from '../../generated/types/index.js';
import { eventValidators, isEventName } from '../../generated/events/index.js';
import { ManualClock } from '../../src/clock.js';
import { ContractError } from '../../src/contract-error.js';
import { createProjectHandlers } from '../../src/handlers/projects.js';
import { createSessionHandlers } from '../../src/handlers/sessions.js';
import { createTaskHandlers } from '../../src/handlers/tasks.js';
import { Store, type StoreEvent, type StoreIO } from '../../src/store/index.js';
import { removeTempDirs, tempDir } from '../support/temp.js';

export { tempDir } from '../support/temp.js';

export const HOST = { hostname: 'test-host', platform: 'linux' };
export const T0 = 1_700_000_000_000;

/** A store on a temp DATA_DIR with a manual clock and an event recorder (one array per committed mutation). */
export interface Harness {
  dataDir: string;
  store: Store;
  clock: ManualClock;
  /** Every committed event, flattened, in broadcast order. */
  events: StoreEvent[];
  /** One entry per committed mutation that had events. */
  commits: StoreEvent[][];
  /** Forget the events recorded so far. */
  clearEvents(): void;
  /** Close the store and open it again on the same DATA_DIR (restart), keeping the recorder. */
  reopen(): Promise<Store>;
}

const open: Store[] = [];
/** Events that are not in the AsyncAPI catalogue or whose payload does not match it; `cleanup` fails on any. */
const invalidEvents: string[] = [];

function checkCatalogue(event: StoreEvent): void {
  if (!isEventName(event.name)) {
    invalidEvents.push(`unknown event ${event.name}`);
    return;
  }
  const validate = eventValidators[event.name] as ((data: unknown) => boolean) & { errors?: unknown };
  if (!validate(event.data)) invalidEvents.push(`invalid ${event.name} payload: ${JSON.stringify(validate.errors)}`);
}

export async function openHarness(dataDir?: string, options: { io?: StoreIO } = {}): Promise<Harness> {
  const dir = dataDir ?? tempDir('maestro-wf-');
  const clock = new ManualClock(T0);
  const events: StoreEvent[] = [];
  const commits: StoreEvent[][] = [];
  const onCommit = (batch: readonly StoreEvent[]) => {
    batch.forEach(checkCatalogue);
    commits.push([...batch]);
    events.push(...batch);
  };
  const h: Harness = {
    dataDir: dir,
    store: await Store.open({ dataDir: dir, clock, onCommit, hostname: HOST.hostname, platform: HOST.platform, ...options }),
    clock,
    events,
    commits,
    clearEvents() {
      events.length = 0;
      commits.length = 0;
    },
    async reopen() {
      await h.store.close();
      h.store = await Store.open({ dataDir: dir, clock, onCommit, hostname: HOST.hostname, platform: HOST.platform, ...options });
      open.push(h.store);
      return h.store;
    },
  };
  open.push(h.store);
  return h;
}

/** afterEach: close every store, remove every temp folder (test/support/temp.ts), and fail when an event broke the AsyncAPI catalogue. */
export async function cleanup(): Promise<void> {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
  removeTempDirs();
  const invalid = invalidEvents.splice(0);
  expect(invalid, 'events outside the AsyncAPI catalogue').toEqual([]);
}

/** The core handlers, used to build fixtures the way clients do. */
export function core(store: Store) {
  return {
    projects: createProjectHandlers({ store }),
    tasks: createTaskHandlers({ store }),
    sessions: createSessionHandlers({ store, host: HOST }),
  };
}

const noQuery = {} as Record<string, never>;
const noParams = {} as Record<string, never>;

export function withParams<P>(params: P): { params: P; query: Record<string, never> } {
  return { params, query: noQuery };
}

export function withBody<B>(body: B): { params: Record<string, never>; query: Record<string, never>; body: B } {
  return { params: noParams, query: noQuery, body };
}

/** Input of an `x-validate-body: after-lookup` operation; `readBody` records whether (and when) it was called. */
export function lateBody<P, B>(params: P, body: B | (() => B)): { params: P; query: Record<string, never>; readBody(): B; calls: number } {
  const input = {
    params,
    query: noQuery,
    calls: 0,
    readBody(): B {
      input.calls += 1;
      return typeof body === 'function' ? (body as () => B)() : body;
    },
  };
  return input;
}

export async function createProject(store: Store, over: Partial<{ name: string; workingDir: string; description: string }> = {}): Promise<Project> {
  return core(store).projects.createProject(withBody({ name: 'Demo', workingDir: '/home/me/demo', ...over }));
}

export async function createTask(store: Store, projectId: string, title = 'A task', over: Record<string, unknown> = {}): Promise<Task> {
  return core(store).tasks.createTask(withBody({ projectId, title, ...over }) as never);
}

export async function createSession(store: Store, body: Record<string, unknown>): Promise<Session> {
  return core(store).sessions.createSession(withBody(body) as never);
}

/** Awaits a promise that must reject with a ContractError, and returns it. */
export async function contractError(promise: Promise<unknown>): Promise<ContractError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a ContractError').toBeInstanceOf(ContractError);
  return error as ContractError;
}

/** Asserts status, code and (optionally) message substring / details of a ContractError. */
export async function expectError(
  promise: Promise<unknown>,
  status: number,
  code: string,
  message?: string | RegExp,
  details?: Record<string, unknown>,
): Promise<ContractError> {
  const error = await contractError(promise);
  expect({ status: error.status, code: error.code }).toEqual({ status, code });
  if (typeof message === 'string') expect(error.message).toBe(message);
  else if (message instanceof RegExp) expect(error.message).toMatch(message);
  if (details !== undefined) expect(error.details).toEqual(details);
  return error;
}

export function eventNames(events: readonly StoreEvent[]): string[] {
  return events.map((e) => e.name);
}

/** Parsed JSON of a file. */
export async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'));
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
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.json')) out[path.relative(dataDir, p)] = JSON.parse(await readFile(p, 'utf8'));
    }
  };
  for (const folder of ['projects', 'tasks', 'sessions', 'queues', 'templates']) await walk(path.join(dataDir, folder));
  return out;
}

/** What the disk should hold for the store's in-memory state (same keys as diskSnapshot). */
export function memorySnapshot(store: Store): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of store.listProjects()) out[path.join('projects', `${p.id}.json`)] = p;
  for (const t of store.listTasks()) out[path.join('tasks', t.projectId, `${t.id}.json`)] = t;
  for (const s of store.listSessions()) {
    out[path.join('sessions', `${s.id}.json`)] = s;
    const q = store.getQueue(s.id);
    if (q !== undefined) out[path.join('queues', `${s.id}.json`)] = q;
  }
  for (const t of store.listTemplates()) out[path.join('templates', `${t.id}.json`)] = t;
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
}
