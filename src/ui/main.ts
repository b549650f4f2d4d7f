/**
 * The web board at `/ui` (docs/behaviour.md §14.3; issue 17): projects, a project's tasks in columns by status,
 * a task's detail, all live over the event stream. It talks to the server ONLY through the generated typed client
 * and `subscribe()` of src/client (no hand-written fetch). Bundled for the browser by scripts/build-dist.mjs into
 * dist/ui/board.js, which src/static/site.ts serves under a content-hashed name (no inline script: the CSP is
 * `script-src 'self'`).
 *
 * Routes (the URL hash): `#/` the projects, `#/p/<projectId>` a project's board, `#/p/<projectId>/t/<taskId>` the
 * board with a task's detail open.
 */
import { ApiError, createClient, subscribe, type ApiClient, type Subscription } from '../client/index.js';
import { entityFields, TaskStatusValues } from '../../generated/model/index.js';
import type { Project, Task } from '../../generated/types/index.js';
import { h, mount, type Child } from './dom.js';

const TOKEN_KEY = 'maestro.apiToken';
/** cards shown per column before "show more" (a 10 000-task project opens at once) */
const COLUMN_CAP = 100;
const COLUMN_STEP = 500;

const app = document.getElementById('app') as HTMLElement;
const conn = document.getElementById('conn') as HTMLElement;

let client: ApiClient;
let subscription: Subscription | undefined;
let token: string | undefined = sessionStorage.getItem(TOKEN_KEY) ?? undefined;

/** the state of the open view */
let projects: Project[] | undefined;
let boardProjectId: string | undefined;
let boardProject: Project | undefined;
let tasks = new Map<string, Task>();
let shown = new Map<string, number>();
let banner: { text: string; kind: 'error' | 'info' } | undefined;

function describe(err: unknown): string {
  if (err instanceof ApiError) return `${err.status} ${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Runs an API call; a 401 asks for the token again, any other failure shows the API's code and message. */
async function call<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      askToken(token === undefined ? 'This server needs its API token.' : `Wrong token: ${describe(err)}`);
      return undefined;
    }
    showBanner(describe(err), 'error');
    return undefined;
  }
}

function showBanner(text: string | undefined, kind: 'error' | 'info' = 'info'): void {
  banner = text === undefined ? undefined : { text, kind };
  const el = document.getElementById('banner');
  if (el === null) return;
  mount(el, banner === undefined ? null : h('p', { class: `banner ${banner.kind}`, role: banner.kind === 'error' ? 'alert' : 'status' }, banner.text,
    ' ', h('button', { type: 'button', class: 'link', on: { click: () => showBanner(undefined) } }, 'dismiss')));
}

function setConnection(state: 'connecting' | 'live' | 'reconnecting' | 'reconnected' | 'offline', detail = ''): void {
  conn.dataset.state = state;
  const text = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', reconnected: 'reconnected', offline: 'offline' }[state];
  conn.textContent = detail === '' ? text : `${text} ${detail}`;
  conn.title = `event stream: ${text}`;
}

// ---------- token ----------

function askToken(message: string): void {
  subscription?.close();
  subscription = undefined;
  setConnection('offline');
  const input = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'off', required: true, autofocus: true });
  mount(app,
    h('section', { class: 'token-form' },
      h('h1', null, 'API token'),
      h('p', { class: token === undefined ? 'hint' : 'banner error', role: token === undefined ? null : 'alert' }, message),
      h('form', { on: { submit: (event) => {
        event.preventDefault();
        token = input.value.trim() || undefined;
        if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
        else sessionStorage.setItem(TOKEN_KEY, token);
        void start();
      } } },
        h('label', { for: 'token' }, 'MAESTRO_API_TOKEN of this server (kept for this tab only)'),
        input,
        h('button', { type: 'submit' }, 'Connect'))));
  input.focus();
}

// ---------- start, events ----------

async function start(): Promise<void> {
  client = createClient({ baseUrl: location.origin, token });
  mount(app, h('p', { class: 'loading' }, 'Loading…'));
  // The first calls check the token before the WebSocket opens (a wrong one would only close the socket); a
  // project's board opened by its URL is read at the same time.
  boardProjectId = undefined;
  const { projectId } = parseRoute();
  const [list, loaded] = await Promise.all([
    call(() => client.listProjects()),
    projectId === undefined ? undefined : loadBoard(projectId).then(() => projectId),
  ]);
  if (list === undefined) return;
  if (loaded !== undefined) {
    boardProjectId = loaded;
    shown = new Map();
  }
  projects = list;
  openEvents();
  await route();
}

function openEvents(): void {
  subscription?.close();
  setConnection('connecting');
  const sub = subscribe({ url: location.origin, token });
  subscription = sub;
  sub.onOpen((info) => {
    setConnection(info.reconnected ? 'reconnected' : 'live');
    // The server replays nothing (docs/behaviour.md §4.6): re-read what is on screen.
    if (info.reconnected) void refresh();
  });
  sub.onClose((info) => {
    if (subscription !== sub) return;
    setConnection(info.retryInMs === undefined ? 'offline' : 'reconnecting', info.retryInMs === undefined ? '' : `(in ${Math.ceil(info.retryInMs / 1000)} s)`);
  });
  sub.on('project:created', (p) => upsertProject(p));
  sub.on('project:updated', (p) => upsertProject(p));
  sub.on('project:deleted', ({ id }) => {
    if (projects !== undefined) projects = projects.filter((p) => p.id !== id);
    if (boardProjectId === id) location.hash = '#/';
    else scheduleRender();
  });
  sub.on('task:created', (t) => upsertTask(t));
  sub.on('task:updated', (t) => upsertTask(t));
  sub.on('task:deleted', ({ id }) => {
    if (tasks.delete(id)) scheduleRender();
  });
  // the session link events come with a task:updated too; re-reading the one task keeps the count right anyway
  const relink = ({ taskId }: { taskId: string }) => {
    if (!tasks.has(taskId)) return;
    void call(() => client.getTask({ params: { id: taskId } })).then((t) => t && upsertTask(t));
  };
  sub.on('task:session_added', relink);
  sub.on('task:session_removed', relink);
}

function upsertProject(p: Project): void {
  if (projects !== undefined) {
    const at = projects.findIndex((x) => x.id === p.id);
    if (at >= 0) projects[at] = p;
    else projects.push(p);
  }
  if (boardProjectId === p.id) boardProject = p;
  scheduleRender();
}

function upsertTask(t: Task): void {
  if (t.projectId !== boardProjectId) return;
  tasks.set(t.id, t);
  scheduleRender();
}

let renderQueued = false;
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

async function refresh(): Promise<void> {
  const list = await call(() => client.listProjects());
  if (list !== undefined) projects = list;
  if (boardProjectId !== undefined) await loadBoard(boardProjectId);
  render();
}

// ---------- routing ----------

interface Route {
  projectId?: string;
  taskId?: string;
}

function parseRoute(): Route {
  const m = /^#\/p\/([^/]+)(?:\/t\/([^/]+))?$/.exec(location.hash);
  if (m === null) return {};
  return { projectId: decodeURIComponent(m[1]), taskId: m[2] === undefined ? undefined : decodeURIComponent(m[2]) };
}

async function loadBoard(projectId: string): Promise<void> {
  const [project, list] = await Promise.all([
    call(() => client.getProject({ params: { id: projectId } })),
    call(() => client.listTasks({ query: { projectId } })),
  ]);
  boardProject = project;
  tasks = new Map((list ?? []).map((t) => [t.id, t]));
}

async function route(): Promise<void> {
  const { projectId } = parseRoute();
  if (projectId !== boardProjectId) {
    boardProjectId = projectId;
    boardProject = undefined;
    tasks = new Map();
    shown = new Map();
    if (projectId !== undefined) {
      mount(app, h('p', { class: 'loading' }, 'Loading tasks…'));
      await loadBoard(projectId);
    }
  }
  render();
}

window.addEventListener('hashchange', () => {
  if (client !== undefined) void route();
});

// Escape closes the task detail
document.addEventListener('keydown', (event) => {
  const { projectId, taskId } = parseRoute();
  if (event.key !== 'Escape' || projectId === undefined || taskId === undefined) return;
  location.hash = `#/p/${encodeURIComponent(projectId)}`;
});

// ---------- views ----------

/** inputs whose typed text survives a re-render (an event arriving while someone types) */
const KEPT_INPUTS = ['project-name', 'project-dir', 'task-title', 'task-status'];
let renderedRoute = '';

function render(): void {
  const { projectId, taskId } = parseRoute();
  const sameView = renderedRoute === location.hash;
  const focused = document.activeElement instanceof HTMLElement && document.activeElement.id !== '' ? document.activeElement.id : undefined;
  const kept = new Map<string, string>();
  if (sameView) {
    for (const id of [...KEPT_INPUTS, ...(focused === 'detail-title' ? [focused] : [])]) {
      const el = document.getElementById(id) as HTMLInputElement | HTMLSelectElement | null;
      if (el !== null) kept.set(id, el.value);
    }
  }
  if (projectId === undefined) renderProjects();
  else renderBoard(taskId);
  renderedRoute = location.hash;
  for (const [id, value] of kept) {
    const el = document.getElementById(id) as HTMLInputElement | HTMLSelectElement | null;
    if (el !== null) el.value = value;
  }
  if (sameView && focused !== undefined) document.getElementById(focused)?.focus();
  showBanner(banner?.text, banner?.kind);
}

function renderProjects(): void {
  const name = h('input', { id: 'project-name', name: 'name', required: true, placeholder: 'Project name' });
  const dir = h('input', { id: 'project-dir', name: 'workingDir', placeholder: 'Working directory (optional)' });
  const list = [...(projects ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  mount(app,
    h('nav', { class: 'crumbs' }, h('span', null, 'Projects')),
    h('div', { id: 'banner' }),
    h('section', { class: 'projects' },
      list.length === 0
        ? h('p', { class: 'empty' }, 'No projects yet: create the first one below.')
        : h('ul', { class: 'project-list' }, list.map((p) =>
          h('li', null, h('a', { href: `#/p/${encodeURIComponent(p.id)}`, class: 'project-link' }, p.name || p.id),
            p.description ? h('span', { class: 'muted' }, ` ${p.description}`) : null))),
      h('form', { class: 'inline-form', 'aria-label': 'New project', on: { submit: (event) => {
        event.preventDefault();
        const body = { name: name.value.trim(), ...(dir.value.trim() ? { workingDir: dir.value.trim() } : {}) };
        void call(() => client.createProject({ body })).then((p) => {
          if (p === undefined) return;
          for (const id of ['project-name', 'project-dir']) {
            const onScreen = document.getElementById(id) as HTMLInputElement | null;
            if (onScreen !== null) onScreen.value = '';
          }
          showBanner(undefined);
          upsertProject(p);
        });
      } } },
        h('label', { for: 'project-name' }, 'New project'), name, dir, h('button', { type: 'submit' }, 'Create project'))));
}

function priorityRank(t: Task): number {
  return t.priority === 'high' ? 0 : t.priority === 'medium' ? 1 : 2;
}

function renderBoard(taskId: string | undefined): void {
  const projectId = boardProjectId as string;
  const all = [...tasks.values()];
  const children = new Map<string, number>();
  for (const t of all) if (t.parentId) children.set(t.parentId, (children.get(t.parentId) ?? 0) + 1);
  const byStatus = new Map<string, Task[]>(TaskStatusValues.map((s) => [s, []]));
  for (const t of all) (byStatus.get(t.status) ?? byStatus.set(t.status, []).get(t.status)!).push(t);
  const base = `#/p/${encodeURIComponent(projectId)}`;

  const columns = [...byStatus].map(([status, list]) => {
    list.sort((a, b) => priorityRank(a) - priorityRank(b) || b.updatedAt - a.updatedAt);
    const cap = shown.get(status) ?? COLUMN_CAP;
    const cards = list.slice(0, cap).map((t) => card(t, base, children.get(t.id) ?? 0));
    return h('section', { class: 'column', 'data-status': status, 'aria-label': `${status} tasks` },
      h('h2', null, status.replace(/_/g, ' '), ' ', h('span', { class: 'count' }, String(list.length))),
      list.length === 0 ? h('p', { class: 'empty' }, 'No tasks') : h('ol', { class: 'cards' }, cards),
      list.length > cap
        ? h('button', { type: 'button', class: 'more', on: { click: () => { shown.set(status, cap + COLUMN_STEP); render(); } } },
          `Show more (${list.length - cap} hidden)`)
        : null);
  });

  const title = h('input', { id: 'task-title', name: 'title', required: true, placeholder: 'Task title' });
  const status = h('select', { id: 'task-status', name: 'status' }, TaskStatusValues.map((s) => h('option', { value: s }, s)));
  const newTask = h('form', { class: 'inline-form', 'aria-label': 'New task', on: { submit: (event) => {
    event.preventDefault();
    const wanted = status.value as Task['status'];
    void call(async () => {
      const created = await client.createTask({ body: { projectId, title: title.value.trim() } });
      // a new task starts as `todo`; another column is one update more
      return created.status === wanted ? created : client.updateTask({ params: { id: created.id }, body: { status: wanted } });
    }).then((t) => {
      if (t === undefined) return;
      // an event may have re-rendered the form meanwhile: clear the input on screen
      const onScreen = document.getElementById('task-title') as HTMLInputElement | null;
      if (onScreen !== null) onScreen.value = '';
      upsertTask(t);
    });
  } } }, h('label', { for: 'task-title' }, 'New task'), title, status, h('button', { type: 'submit' }, 'Add task'));

  const detail = taskId === undefined ? null : renderDetail(taskId, base);
  mount(app,
    h('nav', { class: 'crumbs' }, h('a', { href: '#/' }, 'Projects'), ' / ', h('span', { class: 'project-name' }, boardProject?.name ?? projectId)),
    h('div', { id: 'banner' }),
    boardProject === undefined ? h('p', { class: 'empty' }, 'This project does not exist (any more).') : newTask,
    h('div', { class: detail === null ? 'board' : 'board with-detail' }, h('div', { class: 'columns' }, columns), detail));
}

function card(t: Task, base: string, subtasks: number): HTMLElement {
  const parent = t.parentId ? tasks.get(t.parentId) : undefined;
  return h('li', { class: 'card', 'data-task-id': t.id },
    h('a', { class: 'card-title', href: `${base}/t/${encodeURIComponent(t.id)}` }, t.title || '(untitled)'),
    h('div', { class: 'card-meta' },
      h('span', { class: `priority ${t.priority}` }, t.priority),
      subtasks > 0 ? h('span', { class: 'subtasks' }, `${subtasks} subtask${subtasks === 1 ? '' : 's'}`) : null,
      t.parentId ? h('a', { class: 'parent', href: `${base}/t/${encodeURIComponent(t.parentId)}` }, `↑ ${parent?.title || t.parentId}`) : null,
      h('span', { class: 'sessions', title: 'sessions on this task' }, `${t.sessionIds.length} session${t.sessionIds.length === 1 ? '' : 's'}`)));
}

function formatValue(key: string, value: unknown): Child {
  if (value === undefined) return h('span', { class: 'muted' }, '—');
  if (value === null) return h('span', { class: 'muted' }, 'null');
  if (typeof value === 'number' && /At$/.test(key)) return new Date(value).toISOString();
  if (Array.isArray(value)) return value.length === 0 ? h('span', { class: 'muted' }, '[]') : value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ');
  if (typeof value === 'object') return h('code', null, JSON.stringify(value));
  return String(value);
}

function renderDetail(taskId: string, base: string): HTMLElement {
  const t = tasks.get(taskId);
  const close = h('a', { href: base, class: 'close', 'aria-label': 'Close the task' }, '×');
  if (t === undefined) return h('aside', { class: 'detail' }, close, h('p', { class: 'empty' }, `Task ${taskId} is not in this project (deleted?).`));
  const fields = entityFields.task as Record<string, { enum?: readonly unknown[] }>;
  const titleInput = h('input', { id: 'detail-title', name: 'title', value: t.title, required: true });
  const statusSelect = h('select', { id: 'detail-status', name: 'status', on: { change: () => {
    void call(() => client.updateTask({ params: { id: t.id }, body: { status: statusSelect.value as Task['status'] } })).then((u) => u && upsertTask(u));
  } } }, (fields.status?.enum ?? TaskStatusValues).map((s) => h('option', { value: String(s), selected: s === t.status }, String(s))));
  const rows = Object.keys(fields).map((key) => {
    let value: Child;
    if (key === 'status') value = statusSelect;
    else value = formatValue(key, (t as unknown as Record<string, unknown>)[key]);
    return [h('dt', null, key), h('dd', { 'data-field': key }, value)];
  });
  return h('aside', { class: 'detail', 'aria-label': 'Task detail', 'data-task-id': t.id },
    close,
    h('form', { class: 'title-form', on: { submit: (event) => {
      event.preventDefault();
      void call(() => client.updateTask({ params: { id: t.id }, body: { title: titleInput.value.trim() } })).then((u) => u && upsertTask(u));
    } } }, h('label', { for: 'detail-title' }, 'Title'), titleInput, h('button', { type: 'submit' }, 'Save title')),
    h('dl', { class: 'fields' }, rows),
    h('button', { type: 'button', class: 'danger', on: { click: () => {
      if (!confirm(`Delete task "${t.title}"?`)) return;
      void call(async () => {
        await client.deleteTask({ params: { id: t.id } });
        return true;
      }).then((done) => {
        if (done === undefined) return;
        tasks.delete(t.id);
        location.hash = base;
      });
    } } }, 'Delete task'));
}

void start();
