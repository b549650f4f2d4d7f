/**
 * The store's in-memory state (docs/behaviour.md §5, §0.8): one map per kind of entity, the secondary indexes and
 * the sorted caches, and the read API (`StoreReader`). Memory is the source of truth at run time.
 *
 * Always true:
 * - every index and cache agrees with the maps: `applyPut`/`applyDelete` are the only ways to change them and
 *   update all three together;
 * - stored objects are never changed in place: a change replaces the object (`applyPut` of a new one), so a
 *   reader may keep what it got;
 * - an unsafe id (docs/behaviour.md §5.6) is never found: reads answer "unknown" without a lookup.
 *
 * Who calls what: anyone may read. Only the transaction (a mutation's put/delete), the commit pipeline (undoing
 * mutations with `restore`) and `Store.open` (the loaded data) change the state; they run on the one event loop,
 * one mutation at a time. The state knows nothing of files or rounds.
 */
import { SessionStatusGroups } from '../../generated/model/index.js';
import { isUnsafeId } from '../ids.js';
import type { SessionFilter, StoreReader, TaskFilter } from './api.js';
import type { AnyEntity, EntityByKind, EntityKind, Project, QueueState, Session, Task, Template } from './entities.js';
import { entityKey } from './entities.js';
import { MultiIndex, PairIndex } from './indexes.js';
import type { Touch } from './touch.js';

function compareCreated(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function compareStarted(a: Session, b: Session): number {
  return a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** An id that may be looked up (and may name a file): a string that is not unsafe (docs/behaviour.md §5.6). */
export function usableId(id: unknown): id is string {
  return typeof id === 'string' && !isUnsafeId(id);
}

/** The entities, their indexes and the reads. */
export class StoreState implements StoreReader {
  private readonly projects = new Map<string, Project>();
  private readonly tasks = new Map<string, Task>();
  private readonly sessions = new Map<string, Session>();
  private readonly queues = new Map<string, QueueState>();
  private readonly templates = new Map<string, Template>();
  private readonly maps: { [K in EntityKind]: Map<string, EntityByKind[K]> };

  private readonly tasksByProject = new MultiIndex<string>();
  private readonly tasksByParent = new MultiIndex<string | null>();
  private readonly tasksByStatus = new MultiIndex<string>();
  /** projectId + status (the common E6 filter): its set is exactly the result, whatever the project's size. */
  private readonly tasksByProjectStatus = new PairIndex<string, string>();
  private readonly sessionsByProject = new MultiIndex<string>();
  private readonly sessionsByTask = new MultiIndex<string>();
  private readonly sessionsByStatus = new MultiIndex<string>();
  private readonly sortedCache: Partial<Record<'project' | 'task' | 'session' | 'template', AnyEntity[]>> = {};

  /** `skippedSessionIds`: session files quarantined at load; their ids stay taken for the life of the process. */
  constructor(private readonly skippedSessionIds: ReadonlySet<string>) {
    this.maps = {
      project: this.projects,
      task: this.tasks,
      session: this.sessions,
      queue: this.queues,
      template: this.templates,
    };
  }

  // ---- reads -------------------------------------------------------------------------------------------

  getProject(id: string): Project | undefined {
    return usableId(id) ? this.projects.get(id) : undefined;
  }

  getTask(id: string): Task | undefined {
    return usableId(id) ? this.tasks.get(id) : undefined;
  }

  getSession(id: string): Session | undefined {
    return usableId(id) ? this.sessions.get(id) : undefined;
  }

  getQueue(sessionId: string): QueueState | undefined {
    return usableId(sessionId) ? this.queues.get(sessionId) : undefined;
  }

  getTemplate(id: string): Template | undefined {
    return usableId(id) ? this.templates.get(id) : undefined;
  }

  listProjects(): Project[] {
    return this.sorted('project', compareCreated).slice() as Project[];
  }

  listTemplates(filter: { role?: string } = {}): Template[] {
    const all = this.sorted('template', compareCreated) as Template[];
    return filter.role === undefined ? all.slice() : all.filter((t) => t.role === filter.role);
  }

  listTasks(filter: TaskFilter = {}): Task[] {
    const { projectId, status, parentId } = filter;
    if (projectId === undefined && status === undefined && parentId === undefined) {
      return this.sorted('task', compareCreated).slice() as Task[];
    }
    const candidates: ReadonlySet<string>[] = [];
    if (projectId !== undefined && status !== undefined) candidates.push(this.tasksByProjectStatus.get(projectId, status));
    else if (projectId !== undefined) candidates.push(this.tasksByProject.get(projectId));
    else if (status !== undefined) candidates.push(this.tasksByStatus.get(status));
    if (parentId !== undefined) candidates.push(this.tasksByParent.get(parentId));
    const smallest = candidates.reduce((a, b) => (b.size < a.size ? b : a));
    const out: Task[] = [];
    for (const id of smallest) {
      const t = this.tasks.get(id)!;
      if (projectId !== undefined && t.projectId !== projectId) continue;
      if (status !== undefined && t.status !== status) continue;
      if (parentId !== undefined && t.parentId !== parentId) continue;
      out.push(t);
    }
    return out.sort(compareCreated);
  }

  listChildren(taskId: string): Task[] {
    return this.listTasks({ parentId: taskId });
  }

  listSessions(filter: SessionFilter = {}): Session[] {
    const { projectId, taskId, status } = filter;
    const active = filter.active === true;
    if (projectId === undefined && taskId === undefined && status === undefined && !active) {
      return this.sorted('session', compareStarted).slice() as Session[];
    }
    const candidates: { size: number; ids: Iterable<string> }[] = [];
    const add = (set: ReadonlySet<string>) => candidates.push({ size: set.size, ids: set });
    if (projectId !== undefined) add(this.sessionsByProject.get(projectId));
    if (taskId !== undefined) add(this.sessionsByTask.get(taskId));
    if (status !== undefined) add(this.sessionsByStatus.get(status));
    if (active) {
      const sets = SessionStatusGroups.active.map((s) => this.sessionsByStatus.get(s));
      candidates.push({
        size: sets.reduce((n, s) => n + s.size, 0),
        ids: (function* () {
          for (const s of sets) yield* s;
        })(),
      });
    }
    const smallest = candidates.reduce((a, b) => (b.size < a.size ? b : a));
    const terminal: readonly string[] = SessionStatusGroups.terminal;
    const out: Session[] = [];
    for (const id of smallest.ids) {
      const s = this.sessions.get(id)!;
      if (projectId !== undefined && s.projectId !== projectId) continue;
      if (taskId !== undefined && !s.taskIds.includes(taskId)) continue;
      if (status !== undefined && s.status !== status) continue;
      if (active && terminal.includes(s.status)) continue;
      out.push(s);
    }
    return out.sort(compareStarted);
  }

  countTasksOfProject(projectId: string): number {
    return this.tasksByProject.size(projectId);
  }

  countSessionsOfProject(projectId: string): number {
    return this.sessionsByProject.size(projectId);
  }

  isSessionIdTaken(id: string): boolean {
    return this.sessions.has(id) || this.skippedSessionIds.has(id);
  }

  /** The stored entity of a kind by key, without the id check (callers pass keys the store already holds or checked). */
  current(kind: EntityKind, id: string): AnyEntity | undefined {
    return (this.maps[kind] as Map<string, AnyEntity>).get(id);
  }

  // ---- changes (transaction, pipeline, load only) ------------------------------------------------------

  /** Insert or replace, with its indexes. The caller has checked the ids and that `entity` is a new object. */
  applyPut(kind: EntityKind, entity: AnyEntity): void {
    const id = entityKey(kind, entity);
    const map = this.maps[kind] as Map<string, AnyEntity>;
    const prev = map.get(id);
    if (kind === 'task') {
      if (prev !== undefined) this.unindexTask(prev as Task);
      this.indexTask(entity as Task);
    } else if (kind === 'session') {
      if (prev !== undefined) this.unindexSession(prev as Session);
      this.indexSession(entity as Session);
    }
    map.set(id, entity);
    if (kind !== 'queue') delete this.sortedCache[kind];
  }

  /** Remove, with its indexes; nothing happens when there is nothing to remove. */
  applyDelete(kind: EntityKind, id: string): void {
    const map = this.maps[kind] as Map<string, AnyEntity>;
    const prev = map.get(id);
    if (prev === undefined) return;
    if (kind === 'task') this.unindexTask(prev as Task);
    else if (kind === 'session') this.unindexSession(prev as Session);
    map.delete(id);
    if (kind !== 'queue') delete this.sortedCache[kind];
  }

  /** Put every touched entity back to its state before the mutation (`before`). */
  restore(touches: readonly Touch[]): void {
    for (const t of touches) {
      if (t.before !== undefined) this.applyPut(t.kind, t.before);
      else this.applyDelete(t.kind, t.id);
    }
  }

  /** @internal Index contents, for consistency checks in tests. */
  debugIndexes(): Record<string, Map<unknown, Set<string>>> {
    const dump = (index: { entries(): Iterable<[unknown, Set<string>]> }) => new Map([...index.entries()].map(([k, v]) => [k, new Set(v)]));
    return {
      tasksByProject: dump(this.tasksByProject),
      tasksByParent: dump(this.tasksByParent),
      tasksByStatus: dump(this.tasksByStatus),
      tasksByProjectStatus: dump(this.tasksByProjectStatus),
      sessionsByProject: dump(this.sessionsByProject),
      sessionsByTask: dump(this.sessionsByTask),
      sessionsByStatus: dump(this.sessionsByStatus),
    };
  }

  private indexTask(t: Task): void {
    this.tasksByProject.add(t.projectId, t.id);
    this.tasksByParent.add(t.parentId ?? null, t.id);
    this.tasksByStatus.add(t.status, t.id);
    this.tasksByProjectStatus.add(t.projectId, t.status, t.id);
  }

  private unindexTask(t: Task): void {
    this.tasksByProject.remove(t.projectId, t.id);
    this.tasksByParent.remove(t.parentId ?? null, t.id);
    this.tasksByStatus.remove(t.status, t.id);
    this.tasksByProjectStatus.remove(t.projectId, t.status, t.id);
  }

  private indexSession(s: Session): void {
    this.sessionsByProject.add(s.projectId, s.id);
    this.sessionsByStatus.add(s.status, s.id);
    for (const tid of s.taskIds) this.sessionsByTask.add(tid, s.id);
  }

  private unindexSession(s: Session): void {
    this.sessionsByProject.remove(s.projectId, s.id);
    this.sessionsByStatus.remove(s.status, s.id);
    for (const tid of s.taskIds) this.sessionsByTask.remove(tid, s.id);
  }

  private sorted(kind: 'project' | 'task' | 'session' | 'template', compare: (a: never, b: never) => number): AnyEntity[] {
    let list = this.sortedCache[kind];
    if (list === undefined) {
      list = [...(this.maps[kind] as Map<string, AnyEntity>).values()].sort(compare as (a: AnyEntity, b: AnyEntity) => number);
      this.sortedCache[kind] = list;
    }
    return list;
  }
}

/**
 * The read API passed through to a `StoreState`: the base of the store facade and of the transaction handle,
 * which both read the one shared state.
 */
export class ReadThrough implements StoreReader {
  constructor(protected readonly state: StoreState) {}

  getProject(id: string): Project | undefined {
    return this.state.getProject(id);
  }
  getTask(id: string): Task | undefined {
    return this.state.getTask(id);
  }
  getSession(id: string): Session | undefined {
    return this.state.getSession(id);
  }
  getQueue(sessionId: string): QueueState | undefined {
    return this.state.getQueue(sessionId);
  }
  getTemplate(id: string): Template | undefined {
    return this.state.getTemplate(id);
  }
  listProjects(): Project[] {
    return this.state.listProjects();
  }
  listTasks(filter?: TaskFilter): Task[] {
    return this.state.listTasks(filter);
  }
  listChildren(taskId: string): Task[] {
    return this.state.listChildren(taskId);
  }
  listSessions(filter?: SessionFilter): Session[] {
    return this.state.listSessions(filter);
  }
  listTemplates(filter?: { role?: string }): Template[] {
    return this.state.listTemplates(filter);
  }
  countTasksOfProject(projectId: string): number {
    return this.state.countTasksOfProject(projectId);
  }
  countSessionsOfProject(projectId: string): number {
    return this.state.countSessionsOfProject(projectId);
  }
  isSessionIdTaken(id: string): boolean {
    return this.state.isSessionIdTaken(id);
  }
}
