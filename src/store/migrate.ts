/**
 * Load-time migrations and defaults (docs/behaviour.md §5.3), unknown keys (docs/behaviour.md §14.2) and link repair (docs/behaviour.md §5.3
 * last paragraph). Pure functions: they take the parsed file object (already known to be an object with the right
 * id) and return the entity, the keys the running spec does not know, and whether anything changed, so that the
 * loader writes back only what changed.
 *
 * What the schemas say is applied generically from generated/model (`entityFields`): a key that is missing or
 * unusable gets its schema `default`; an optional key without a default whose value is unusable is removed
 * (docs/behaviour.md §5.3: `sessionStatus`/`model` with an unknown value); string arrays drop non-string elements. Only
 * the rules the schemas cannot express are written here: legacy values, warnings, stamps, derived values.
 *
 * Decisions where docs/behaviour.md is silent (documented in src/store/README.md):
 * - A field of the wrong JSON type is treated like a missing one (so `taskIds: "x"` becomes `[]`): a stored
 *   entity must keep the §1 shape or the handlers would crash on it.
 * - Id arrays (`Task.sessionIds`, `Session.taskIds`) also drop duplicates (§1.3/§1.4 "no duplicates").
 * - Top-level keys that the running spec does not know are kept aside, not served, and written back with the
 *   entity on every later write (docs/behaviour.md §14.2): a newer server, or a person, may have put them there. Only the
 *   obsolete keys that §5.3 names (a task's `timeline`, a session's legacy `taskId`) are removed.
 * - The legacy session `taskId` key is removed also when `taskIds` is present (it is not part of §1.4).
 * - QueueState gets the createdAt/updatedAt rule of the other entities (the table omits it; both are required).
 */
import type { Project, QueueState, Session, Task, Template } from './entities.js';
import { type FieldShape, type JsonType, RoleValues, type StoredKind, entityFields } from '../../generated/model/index.js';
import { keepUnknownKeys } from './entities.js';

export interface MigrationContext {
  /** The load's single clock reading (docs/behaviour.md §0.2), used for missing stamps. */
  loadTime: number;
  hostname: string;
  platform: string;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface Migrated<T> {
  entity: T;
  /** Top-level keys the running spec does not know (docs/behaviour.md §14.2), if any: stored, never served. */
  unknown?: Record<string, unknown>;
  changed: boolean;
}

type Raw = Record<string, unknown>;

/** Whether a value has one of the schema's JSON types (and its enum value or constant). */
export function fitsShape(value: unknown, shape: FieldShape): boolean {
  if (shape.enum !== undefined && !shape.enum.includes(value as string)) return false;
  if (shape.const !== undefined && value !== shape.const) return false;
  return fitsTypes(value, shape.types);
}

/** Whether a value has one of these JSON types; an empty list admits any value. */
function fitsTypes(value: unknown, types: readonly JsonType[]): boolean {
  if (types.length === 0) return true;
  for (const type of types) {
    switch (type) {
      case 'null':
        if (value === null) return true;
        break;
      case 'array':
        if (Array.isArray(value)) return true;
        break;
      case 'object':
        if (isPlainObject(value)) return true;
        break;
      case 'integer':
        if (Number.isInteger(value)) return true;
        break;
      default:
        if (typeof value === type) return true;
    }
  }
  return false;
}

/**
 * Tracks the edits made to one object. Copy on write: `obj` is the parsed object itself until the first edit,
 * then a shallow copy of it (the input is never modified). Most stored entities need no migration, so the
 * load keeps the parsed object instead of allocating a second one per entity (issue 7: load time, memory).
 */
class Editor {
  changed = false;
  obj: Raw;
  unknown: Raw | undefined;
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

  /** §5.3: createdAt missing → updatedAt if present, else the load time; updatedAt missing → createdAt. */
  stamps(loadTime: number): void {
    if (!isTime(this.obj.createdAt)) this.set('createdAt', isTime(this.obj.updatedAt) ? this.obj.updatedAt : loadTime);
    if (!isTime(this.obj.updatedAt)) this.set('updatedAt', this.obj.createdAt);
  }

  /** Drops duplicate ids, keeping the first (the array already holds only strings). */
  dedupe(key: string): void {
    const ids = this.obj[key] as string[];
    const unique = [...new Set(ids)];
    if (unique.length !== ids.length) this.set(key, unique);
  }

  /**
   * docs/behaviour.md §14.2: keys the running spec does not know move aside (the file keeps them; the API never shows
   * them). Not a change: the file already holds them.
   */
  private setAsideUnknown(kind: StoredKind): void {
    const fields: Record<string, FieldShape> = entityFields[kind];
    for (const key in this.obj) {
      if (Object.hasOwn(fields, key)) continue;
      (this.unknown ??= {})[key] = this.obj[key];
    }
    if (this.unknown === undefined) return;
    const obj = this.own();
    for (const key in this.unknown) delete obj[key];
  }

  /** The keys the spec does not know set aside, then the schema's rules applied to the rest. */
  fitSchema(kind: StoredKind): void {
    this.setAsideUnknown(kind);
    this.applySchema(kind);
  }

  /** The rules the schema states, for every key of the kind (see the module comment). */
  private applySchema(kind: StoredKind): void {
    const fields: Record<string, FieldShape> = entityFields[kind];
    for (const key in fields) {
      const shape = fields[key]!;
      const present = key in this.obj;
      const value = this.obj[key];
      if (present && fitsShape(value, shape)) {
        if (shape.items !== undefined && Array.isArray(value)) this.dropBadItems(key, value, shape.items);
        continue;
      }
      if (shape.default !== undefined) this.set(key, structuredClone(shape.default));
      else if (present && !shape.required) this.remove(key);
    }
  }

  /** String (or other primitive) arrays drop elements of the wrong type; arrays of objects are left alone. */
  private dropBadItems(key: string, value: unknown[], items: readonly JsonType[]): void {
    if (items.includes('object') || items.includes('array')) return;
    if (value.every((el) => fitsTypes(el, items))) return;
    this.set(key, value.filter((el) => fitsTypes(el, items)));
  }

  /**
   * A legacy `status` value is renamed to today's; a missing or unknown one is reported here and replaced by the
   * schema's default in `fitSchema` (docs/behaviour.md §5.3).
   */
  status(kind: 'task' | 'session', renamed: Readonly<Record<string, string>>, ctx: MigrationContext): void {
    const status = this.obj.status;
    if (typeof status === 'string' && Object.hasOwn(renamed, status)) this.set('status', renamed[status]);
    else if (!fitsShape(status, entityFields[kind].status)) {
      const label = `${kind === 'task' ? 'Task' : 'Session'} ${String(this.obj.id)}`;
      ctx.warn(`${label}: missing or unknown status ${JSON.stringify(status)} set to ${String(entityFields[kind].status.default)}`);
    }
  }

  /** The migrated entity, carrying the keys the running spec does not know (docs/behaviour.md §14.2). */
  result<T>(): Migrated<T> {
    return { entity: keepUnknownKeys(this.obj, this.unknown) as unknown as T, changed: this.changed };
  }
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isPlainObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** docs/behaviour.md §5.3 rows for Project. */
export function migrateProject(raw: Raw, ctx: MigrationContext): Migrated<Project> {
  const e = new Editor(raw);
  e.fitSchema('project');
  e.stamps(ctx.loadTime);
  return e.result();
}

/** docs/behaviour.md §5.3 rows for Task. */
export function migrateTask(raw: Raw, ctx: MigrationContext): Migrated<Task> {
  const e = new Editor(raw);
  e.status('task', { pending: 'todo' }, ctx);
  e.remove('timeline');
  e.fitSchema('task');
  e.dedupe('sessionIds');
  e.stamps(ctx.loadTime);
  return e.result();
}

/** docs/behaviour.md §5.3 rows for Session. */
export function migrateSession(raw: Raw, ctx: MigrationContext): Migrated<Session> {
  const e = new Editor(raw);
  if ('taskId' in e.obj) {
    const legacy = e.obj.taskId;
    if ((e.obj.taskIds === undefined || e.obj.taskIds === null) && typeof legacy === 'string') e.set('taskIds', [legacy]);
    e.remove('taskId');
  }
  e.status('session', { running: 'working' }, ctx);
  e.fitSchema('session');
  e.dedupe('taskIds');
  if (typeof e.obj.name !== 'string') e.set('name', `Session ${String(raw.id)}`);
  if (!isTime(e.obj.startedAt)) e.set('startedAt', isTime(e.obj.lastActivity) ? e.obj.lastActivity : ctx.loadTime);
  if (!isTime(e.obj.lastActivity)) e.set('lastActivity', e.obj.startedAt);
  if (typeof e.obj.hostname !== 'string') e.set('hostname', ctx.hostname);
  if (typeof e.obj.platform !== 'string') e.set('platform', ctx.platform);
  return e.result();
}

/** docs/behaviour.md §5.3 rows for Template (the role was checked by the loader: a bad role quarantines the file). */
export function migrateTemplate(raw: Raw, ctx: MigrationContext): Migrated<Template> {
  const e = new Editor(raw);
  e.fitSchema('template');
  e.stamps(ctx.loadTime);
  return e.result();
}

/** True when a template file's role is usable (docs/behaviour.md §5.5: otherwise the file is skipped). */
export function isRole(v: unknown): boolean {
  return typeof v === 'string' && (RoleValues as readonly string[]).includes(v);
}

/** docs/behaviour.md §5.3 row for QueueState. */
export function migrateQueue(raw: Raw, ctx: MigrationContext): Migrated<QueueState> {
  const e = new Editor(raw);
  e.fitSchema('queue');
  const items = e.obj.items as unknown[];
  const cleanItems = items.filter((it) => isPlainObject(it) && typeof it.taskId === 'string');
  if (cleanItems.length !== items.length) e.set('items', cleanItems);
  if (!Number.isInteger(e.obj.currentIndex)) {
    e.set('currentIndex', (e.obj.items as Raw[]).findIndex((it) => it.status === 'processing'));
  }
  e.stamps(ctx.loadTime);
  return e.result();
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
 * Make both sides of every task ⟷ session link agree (docs/behaviour.md §5.3): a link recorded on one side between two
 * existing entities is completed on the other; an entry naming a missing entity is removed. Replaces changed
 * entities in the maps with new objects. Deterministic: sessions and tasks are visited in map order, and
 * completed entries are appended.
 */
export function repairLinks(tasks: Map<string, Task>, sessions: Map<string, Session>): LinkRepairResult {
  const taskSide = linkSide(tasks, (t) => t.sessionIds);
  const sessionSide = linkSide(sessions, (s) => s.taskIds);
  // Pass 1: every session-side entry is completed on the task side or dropped; pass 2 the same the other way.
  const repairs = completeLinks(sessionSide, taskSide) + completeLinks(taskSide, sessionSide);

  for (const [id, sessionIds] of taskSide.changed) tasks.set(id, { ...tasks.get(id)!, sessionIds });
  for (const [id, taskIds] of sessionSide.changed) sessions.set(id, { ...sessions.get(id)!, taskIds });
  return { changedTasks: new Set(taskSide.changed.keys()), changedSessions: new Set(sessionSide.changed.keys()), repairs };
}

/** One side of the task ⟷ session links: its entities, and working copies of the link arrays it changed. */
interface LinkSide {
  readonly has: (id: string) => boolean;
  readonly ids: Iterable<string>;
  /** the link ids of an entity: its working copy once changed (so each entity is copied at most once) */
  readonly linksOf: (id: string) => string[];
  readonly changed: Map<string, string[]>;
}

function linkSide<E>(entities: Map<string, E>, links: (entity: E) => string[]): LinkSide {
  const changed = new Map<string, string[]>();
  return {
    has: (id) => entities.has(id),
    ids: entities.keys(),
    linksOf: (id) => changed.get(id) ?? links(entities.get(id)!),
    changed,
  };
}

/** Every entry on `from` naming a missing entity is dropped; every other is completed on `to`. Returns the repairs. */
function completeLinks(from: LinkSide, to: LinkSide): number {
  let repairs = 0;
  for (const id of from.ids) {
    const links = from.linksOf(id);
    const kept = links.filter((other) => to.has(other));
    if (kept.length !== links.length) {
      repairs += links.length - kept.length;
      from.changed.set(id, kept);
    }
    for (const other of kept) {
      const back = to.linksOf(other);
      if (!back.includes(id)) {
        to.changed.set(other, [...back, id]);
        repairs++;
      }
    }
  }
  return repairs;
}
