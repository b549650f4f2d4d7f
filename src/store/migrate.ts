/**
 * Load-time migrations and defaults (CONTRACT §5.3) and link repair (CONTRACT §5.3 last paragraph).
 * Pure functions: they take the parsed file object (already known to be an object with the right id) and
 * return the entity plus whether anything changed, so that the loader writes back only what changed.
 *
 * Decisions where the contract is silent (documented in src/store/README.md):
 * - A field of the wrong JSON type is treated like a missing one (so `taskIds: "x"` becomes `[]`): a stored
 *   entity must keep the §1 shape or the handlers would crash on it.
 * - Id arrays (`Task.sessionIds`, `Session.taskIds`) drop non-string elements and duplicates (§1.3/§1.4 "no
 *   duplicates"); other string arrays drop non-string elements.
 * - Top-level keys that §1 does not define are removed (with a warning): files hold "exactly the API shape"
 *   (§5.1) and responses must never carry unknown keys.
 * - The legacy session `taskId` key is removed also when `taskIds` is present (it is not part of §1.4).
 * - QueueState gets the createdAt/updatedAt rule of the other entities (the table omits it; both are required).
 */
import type { Project, QueueState, Session, Task, Template } from './entities.js';
import {
  MODEL_NAMES,
  ROLES,
  SESSION_STATUSES,
  TASK_PRIORITIES,
  TASK_SESSION_STATUSES,
  TASK_STATUSES,
  WORKER_STRATEGIES,
} from './entities.js';

export interface MigrationContext {
  /** The load's single clock reading (CONTRACT §0.2), used for missing stamps. */
  loadTime: number;
  hostname: string;
  platform: string;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface Migrated<T> {
  entity: T;
  changed: boolean;
}

type Raw = Record<string, unknown>;

const KEYS = {
  project: ['id', 'name', 'workingDir', 'description', 'createdAt', 'updatedAt'],
  task: [
    'id', 'projectId', 'parentId', 'title', 'description', 'status', 'sessionStatus', 'priority', 'createdAt',
    'updatedAt', 'startedAt', 'completedAt', 'initialPrompt', 'sessionIds', 'skillIds', 'agentIds', 'dependencies',
    'model', 'dueDate',
  ],
  session: [
    'id', 'projectId', 'taskIds', 'name', 'agentId', 'env', 'strategy', 'status', 'startedAt', 'lastActivity',
    'completedAt', 'hostname', 'platform', 'events', 'timeline', 'metadata',
  ],
  queue: ['sessionId', 'strategy', 'items', 'currentIndex', 'createdAt', 'updatedAt'],
  template: ['id', 'name', 'role', 'content', 'isDefault', 'createdAt', 'updatedAt'],
} as const;

const KEY_SETS = Object.fromEntries(Object.entries(KEYS).map(([k, v]) => [k, new Set<string>(v)])) as Record<
  keyof typeof KEYS,
  Set<string>
>;

/**
 * Tracks the edits made to one object. Copy on write: `obj` is the parsed object itself until the first edit,
 * then a shallow copy of it (the input is never modified). Most stored entities need no migration, so the
 * load keeps the parsed object instead of allocating a second one per entity (issue 7: load time, memory).
 */
class Editor {
  changed = false;
  obj: Raw;
  constructor(readonly source: Raw) {
    this.obj = source;
  }

  private own(): Raw {
    if (this.obj === this.source) this.obj = { ...this.source };
    return this.obj;
  }

  set(key: string, value: unknown): void {
    this.own()[key] = value;
    this.changed = true;
  }

  remove(key: string): void {
    if (key in this.obj) {
      delete this.own()[key];
      this.changed = true;
    }
  }

  /** Wrong type counts as missing. */
  string(key: string, fallback: string): void {
    if (typeof this.obj[key] !== 'string') this.set(key, fallback);
  }

  nullableTime(key: string): void {
    const v = this.obj[key];
    if (v !== null && !isTime(v)) this.set(key, null);
  }

  stringArray(key: string, dedupe: boolean): void {
    const v = this.obj[key];
    if (!Array.isArray(v)) {
      this.set(key, []);
      return;
    }
    const kept: string[] = [];
    const seen = new Set<string>();
    for (const el of v) {
      if (typeof el !== 'string') continue;
      if (dedupe) {
        if (seen.has(el)) continue;
        seen.add(el);
      }
      kept.push(el);
    }
    if (kept.length !== v.length) this.set(key, kept);
  }

  enumValue(key: string, allowed: readonly string[], fallback: string): boolean {
    const v = this.obj[key];
    if (typeof v === 'string' && allowed.includes(v)) return true;
    this.set(key, fallback);
    return false;
  }

  /** Optional enum: an unknown value removes the key. */
  optionalEnum(key: string, allowed: readonly string[]): void {
    if (!(key in this.obj)) return;
    const v = this.obj[key];
    if (typeof v !== 'string' || !allowed.includes(v)) this.remove(key);
  }

  /** §5.3: createdAt missing → updatedAt if present, else the load time; updatedAt missing → createdAt. */
  stamps(loadTime: number): void {
    if (!isTime(this.obj.createdAt)) this.set('createdAt', isTime(this.obj.updatedAt) ? this.obj.updatedAt : loadTime);
    if (!isTime(this.obj.updatedAt)) this.set('updatedAt', this.obj.createdAt);
  }

  unknownKeys(kind: keyof typeof KEYS, ctx: MigrationContext, label: string): void {
    const allowed = KEY_SETS[kind];
    let extra: string[] | undefined;
    for (const k in this.obj) if (!allowed.has(k)) (extra ??= []).push(k);
    if (extra === undefined) return;
    const obj = this.own();
    for (const k of extra) delete obj[k];
    this.changed = true;
    ctx.warn(`${label}: removed unknown keys ${extra.join(', ')}`, { keys: extra });
  }
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isPlainObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** CONTRACT §5.3 rows for Project. */
export function migrateProject(raw: Raw, ctx: MigrationContext): Migrated<Project> {
  const e = new Editor(raw);
  e.string('name', typeof raw.name === 'string' ? raw.name : '');
  e.string('workingDir', '');
  e.string('description', '');
  e.stamps(ctx.loadTime);
  e.unknownKeys('project', ctx, `Project ${String(raw.id)}`);
  return { entity: e.obj as unknown as Project, changed: e.changed };
}

/** CONTRACT §5.3 rows for Task. */
export function migrateTask(raw: Raw, ctx: MigrationContext): Migrated<Task> {
  const e = new Editor(raw);
  const label = `Task ${String(raw.id)}`;
  if (e.obj.status === 'pending') e.set('status', 'todo');
  else if (!e.enumValue('status', TASK_STATUSES, 'todo')) {
    ctx.warn(`${label}: missing or unknown status ${JSON.stringify(raw.status)} set to todo`);
  }
  e.enumValue('priority', TASK_PRIORITIES, 'medium');
  e.stringArray('sessionIds', true);
  e.stringArray('skillIds', false);
  e.stringArray('agentIds', false);
  e.stringArray('dependencies', false);
  e.string('title', '');
  e.string('description', '');
  e.string('initialPrompt', '');
  if (e.obj.parentId !== null && typeof e.obj.parentId !== 'string') e.set('parentId', null);
  e.nullableTime('startedAt');
  e.nullableTime('completedAt');
  e.optionalEnum('sessionStatus', TASK_SESSION_STATUSES);
  e.optionalEnum('model', MODEL_NAMES);
  e.remove('timeline');
  e.stamps(ctx.loadTime);
  e.unknownKeys('task', ctx, label);
  return { entity: e.obj as unknown as Task, changed: e.changed };
}

/** CONTRACT §5.3 rows for Session. */
export function migrateSession(raw: Raw, ctx: MigrationContext): Migrated<Session> {
  const e = new Editor(raw);
  const label = `Session ${String(raw.id)}`;
  if ('taskId' in e.obj) {
    const legacy = e.obj.taskId;
    if ((e.obj.taskIds === undefined || e.obj.taskIds === null) && typeof legacy === 'string') e.set('taskIds', [legacy]);
    e.remove('taskId');
  }
  e.stringArray('taskIds', true);
  if (typeof e.obj.name !== 'string') e.set('name', `Session ${String(raw.id)}`);
  if (!isPlainObject(e.obj.env)) e.set('env', {});
  if (!Array.isArray(e.obj.events)) e.set('events', []);
  if (!Array.isArray(e.obj.timeline)) e.set('timeline', []);
  e.enumValue('strategy', WORKER_STRATEGIES, 'simple');
  if (e.obj.status === 'running') e.set('status', 'working');
  else if (!e.enumValue('status', SESSION_STATUSES, 'idle')) {
    ctx.warn(`${label}: missing or unknown status ${JSON.stringify(raw.status)} set to idle`);
  }
  e.nullableTime('completedAt');
  if (!isTime(e.obj.startedAt)) e.set('startedAt', isTime(e.obj.lastActivity) ? e.obj.lastActivity : ctx.loadTime);
  if (!isTime(e.obj.lastActivity)) e.set('lastActivity', e.obj.startedAt);
  if (typeof e.obj.hostname !== 'string') e.set('hostname', ctx.hostname);
  if (typeof e.obj.platform !== 'string') e.set('platform', ctx.platform);
  if ('agentId' in e.obj && typeof e.obj.agentId !== 'string') e.remove('agentId');
  if ('metadata' in e.obj && !isPlainObject(e.obj.metadata)) e.remove('metadata');
  e.unknownKeys('session', ctx, label);
  return { entity: e.obj as unknown as Session, changed: e.changed };
}

/** CONTRACT §5.3 rows for Template (the role was checked by the loader: a bad role quarantines the file). */
export function migrateTemplate(raw: Raw, ctx: MigrationContext): Migrated<Template> {
  const e = new Editor(raw);
  e.string('name', '');
  e.string('content', '');
  if (typeof e.obj.isDefault !== 'boolean') e.set('isDefault', false);
  e.stamps(ctx.loadTime);
  e.unknownKeys('template', ctx, `Template ${String(raw.id)}`);
  return { entity: e.obj as unknown as Template, changed: e.changed };
}

/** True when a template file's role is usable (CONTRACT §5.5: otherwise the file is skipped). */
export function isRole(v: unknown): boolean {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/** CONTRACT §5.3 row for QueueState. */
export function migrateQueue(raw: Raw, ctx: MigrationContext): Migrated<QueueState> {
  const e = new Editor(raw);
  if (!Array.isArray(e.obj.items)) e.set('items', []);
  const items = e.obj.items as unknown[];
  const cleanItems = items.filter((it) => isPlainObject(it) && typeof it.taskId === 'string');
  if (cleanItems.length !== items.length) e.set('items', cleanItems);
  if (!Number.isInteger(e.obj.currentIndex)) {
    e.set('currentIndex', (e.obj.items as Raw[]).findIndex((it) => it.status === 'processing'));
  }
  if (e.obj.strategy !== 'queue') e.set('strategy', 'queue');
  e.stamps(ctx.loadTime);
  e.unknownKeys('queue', ctx, `Queue ${String(raw.sessionId)}`);
  return { entity: e.obj as unknown as QueueState, changed: e.changed };
}

export interface LinkRepairResult {
  /** Ids of tasks whose `sessionIds` changed (the maps hold the new objects). */
  changedTasks: Set<string>;
  /** Ids of sessions whose `taskIds` changed. */
  changedSessions: Set<string>;
  /** Number of link entries added or removed. */
  repairs: number;
}

/**
 * Make both sides of every task ⟷ session link agree (CONTRACT §5.3): a link recorded on one side between two
 * existing entities is completed on the other; an entry naming a missing entity is removed. Replaces changed
 * entities in the maps with new objects. Deterministic: sessions and tasks are visited in map order, and
 * completed entries are appended.
 */
export function repairLinks(tasks: Map<string, Task>, sessions: Map<string, Session>): LinkRepairResult {
  const changedTasks = new Set<string>();
  const changedSessions = new Set<string>();
  let repairs = 0;

  // Working copies of the arrays, so that each entity is copied at most once.
  const taskSessionIds = new Map<string, string[]>();
  const sessionTaskIds = new Map<string, string[]>();
  const taskSids = (t: Task): string[] => taskSessionIds.get(t.id) ?? t.sessionIds;
  const sessionTids = (s: Session): string[] => sessionTaskIds.get(s.id) ?? s.taskIds;

  // Pass 1: every session-side entry is completed on the task side or dropped.
  for (const s of sessions.values()) {
    const tids = sessionTids(s);
    const kept = tids.filter((tid) => tasks.has(tid));
    if (kept.length !== tids.length) {
      repairs += tids.length - kept.length;
      sessionTaskIds.set(s.id, kept);
      changedSessions.add(s.id);
    }
    for (const tid of kept) {
      const sids = taskSids(tasks.get(tid)!);
      if (!sids.includes(s.id)) {
        taskSessionIds.set(tid, [...sids, s.id]);
        changedTasks.add(tid);
        repairs++;
      }
    }
  }
  // Pass 2: every task-side entry is completed on the session side or dropped.
  for (const t of tasks.values()) {
    const sids = taskSids(t);
    const kept = sids.filter((sid) => sessions.has(sid));
    if (kept.length !== sids.length) {
      repairs += sids.length - kept.length;
      taskSessionIds.set(t.id, kept);
      changedTasks.add(t.id);
    }
    for (const sid of kept) {
      const tids = sessionTids(sessions.get(sid)!);
      if (!tids.includes(t.id)) {
        sessionTaskIds.set(sid, [...tids, t.id]);
        changedSessions.add(sid);
        repairs++;
      }
    }
  }

  for (const id of changedTasks) tasks.set(id, { ...tasks.get(id)!, sessionIds: taskSessionIds.get(id)! });
  for (const id of changedSessions) sessions.set(id, { ...sessions.get(id)!, taskIds: sessionTaskIds.get(id)! });
  return { changedTasks, changedSessions, repairs };
}
