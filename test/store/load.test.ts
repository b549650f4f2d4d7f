import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { Store } from '../../src/store/store.js';
import { cleanupTempDirs, diskSnapshot, memorySnapshot, project, queue, recordingLogger, session, task, tempDir, template } from './helpers.js';

const LOAD_TIME = 1_800_000_000_000;

async function put(dataDir: string, rel: string, content: unknown): Promise<void> {
  const path = join(dataDir, rel);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
}

async function open(dataDir: string, logger = recordingLogger()) {
  const store = await Store.open({ dataDir, logger, clock: new ManualClock(LOAD_TIME), hostname: 'testhost', platform: 'testos' });
  return { store, logger };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

afterEach(cleanupTempDirs);

describe('startup load: folders (docs/behaviour.md §5.2 step 1)', () => {
  it('creates DATA_DIR and every sub-folder', async () => {
    const dataDir = join(await tempDir(), 'nested', 'data');
    const { store } = await open(dataDir);
    expect((await readdir(dataDir)).sort()).toEqual(['.lock', 'projects', 'quarantine', 'queues', 'sessions', 'tasks', 'templates']);
    expect(store.quarantinedCount).toBe(0);
    await store.close();
  });

  it('a DATA_DIR that cannot be created fails with CONFIG_ERROR', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'file'), 'x');
    await expect(Store.open({ dataDir: join(root, 'file', 'data') })).rejects.toMatchObject({ code: 'CONFIG_ERROR' });
  });
});

// One DATA_DIR holds a fixture per migration row; each row is checked on the loaded entity and on its file.
describe('startup load: migrations (docs/behaviour.md §5.3)', () => {
  let dataDir: string;
  let store: Store;
  let logger: ReturnType<typeof recordingLogger>;

  const P = 'proj_1_aaaaaaaaa';
  const { id: _omitTimeline, ...taskBase } = task('x', P);
  void _omitTimeline;
  const omit = <T extends object>(o: T, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
  const taskFixture = (id: string, over: Record<string, unknown>, drop: string[] = []) => ({ ...omit({ ...taskBase, id }, ...drop), ...over });
  const sessionFixture = (id: string, over: Record<string, unknown>, drop: string[] = []) => ({ ...omit(session(id, P), ...drop), ...over });

  const rows: { row: string; kind: 'task' | 'session' | 'project' | 'template' | 'queue'; id: string; file: unknown; expected: Record<string, unknown>; absent?: string[]; warns?: RegExp; unchanged?: boolean }[] = [
    { row: 'task status pending → todo', kind: 'task', id: 't_pending', file: taskFixture('t_pending', { status: 'pending' }), expected: { status: 'todo' } },
    { row: 'task status missing → todo (warning)', kind: 'task', id: 't_nostatus', file: taskFixture('t_nostatus', {}, ['status']), expected: { status: 'todo' }, warns: /t_nostatus.*status/ },
    { row: 'task status unknown → todo (warning)', kind: 'task', id: 't_badstatus', file: taskFixture('t_badstatus', { status: 'weird' }), expected: { status: 'todo' }, warns: /t_badstatus.*weird/ },
    { row: 'task priority missing → medium', kind: 'task', id: 't_noprio', file: taskFixture('t_noprio', {}, ['priority']), expected: { priority: 'medium' } },
    { row: 'task priority unknown → medium', kind: 'task', id: 't_badprio', file: taskFixture('t_badprio', { priority: 'urgent' }), expected: { priority: 'medium' } },
    { row: 'task arrays missing → []', kind: 'task', id: 't_noarrays', file: taskFixture('t_noarrays', {}, ['sessionIds', 'skillIds', 'agentIds', 'dependencies']), expected: { sessionIds: [], skillIds: [], agentIds: [], dependencies: [] } },
    { row: 'task description/initialPrompt missing → ""', kind: 'task', id: 't_nostrings', file: taskFixture('t_nostrings', {}, ['description', 'initialPrompt']), expected: { description: '', initialPrompt: '' } },
    { row: 'task parentId/startedAt/completedAt missing → null', kind: 'task', id: 't_nonulls', file: taskFixture('t_nonulls', {}, ['parentId', 'startedAt', 'completedAt']), expected: { parentId: null, startedAt: null, completedAt: null } },
    { row: 'task unknown sessionStatus and model removed', kind: 'task', id: 't_badopt', file: taskFixture('t_badopt', { sessionStatus: 'dancing', model: 'gpt' }), expected: {}, absent: ['sessionStatus', 'model'] },
    { row: 'task known sessionStatus and model kept', kind: 'task', id: 't_goodopt', file: taskFixture('t_goodopt', { sessionStatus: 'needs_input', model: 'opus', dueDate: null }), expected: { sessionStatus: 'needs_input', model: 'opus', dueDate: null }, unchanged: true },
    { row: 'task obsolete timeline removed', kind: 'task', id: 't_timeline', file: taskFixture('t_timeline', { timeline: [{ type: 'x' }] }), expected: {}, absent: ['timeline'] },
    { row: 'task createdAt missing → updatedAt', kind: 'task', id: 't_nocreated', file: taskFixture('t_nocreated', { updatedAt: 777 }, ['createdAt']), expected: { createdAt: 777, updatedAt: 777 } },
    { row: 'task both stamps missing → load time', kind: 'task', id: 't_nostamps', file: taskFixture('t_nostamps', {}, ['createdAt', 'updatedAt']), expected: { createdAt: LOAD_TIME, updatedAt: LOAD_TIME } },
    { row: 'task updatedAt missing → createdAt', kind: 'task', id: 't_noupdated', file: taskFixture('t_noupdated', { createdAt: 555 }, ['updatedAt']), expected: { createdAt: 555, updatedAt: 555 } },
    { row: 'session legacy taskId → taskIds', kind: 'session', id: 's_legacy', file: sessionFixture('s_legacy', { taskId: 't_pending' }, ['taskIds']), expected: { taskIds: ['t_pending'] }, absent: ['taskId'] },
    { row: 'session taskIds missing → []', kind: 'session', id: 's_notaskids', file: sessionFixture('s_notaskids', {}, ['taskIds']), expected: { taskIds: [] } },
    { row: 'session name missing → "Session {id}"', kind: 'session', id: 's_noname', file: sessionFixture('s_noname', {}, ['name']), expected: { name: 'Session s_noname' } },
    { row: 'session env/events/timeline missing', kind: 'session', id: 's_nocoll', file: sessionFixture('s_nocoll', {}, ['env', 'events', 'timeline']), expected: { env: {}, events: [], timeline: [] } },
    { row: 'session strategy missing → simple', kind: 'session', id: 's_nostrat', file: sessionFixture('s_nostrat', {}, ['strategy']), expected: { strategy: 'simple' } },
    { row: 'session strategy unknown → simple', kind: 'session', id: 's_badstrat', file: sessionFixture('s_badstrat', { strategy: 'swarm' }), expected: { strategy: 'simple' } },
    { row: 'session status running → working', kind: 'session', id: 's_running', file: sessionFixture('s_running', { status: 'running' }), expected: { status: 'working' } },
    { row: 'session status missing → idle (warning)', kind: 'session', id: 's_nostatus', file: sessionFixture('s_nostatus', {}, ['status']), expected: { status: 'idle' }, warns: /s_nostatus.*status/ },
    { row: 'session status unknown → idle (warning)', kind: 'session', id: 's_badstatus', file: sessionFixture('s_badstatus', { status: 'zombie' }), expected: { status: 'idle' }, warns: /s_badstatus.*zombie/ },
    { row: 'session completedAt missing → null', kind: 'session', id: 's_nocompleted', file: sessionFixture('s_nocompleted', {}, ['completedAt']), expected: { completedAt: null } },
    { row: 'session startedAt missing → lastActivity', kind: 'session', id: 's_nostarted', file: sessionFixture('s_nostarted', { lastActivity: 4242 }, ['startedAt']), expected: { startedAt: 4242, lastActivity: 4242 } },
    { row: 'session startedAt and lastActivity missing → load time', kind: 'session', id: 's_notimes', file: sessionFixture('s_notimes', {}, ['startedAt', 'lastActivity']), expected: { startedAt: LOAD_TIME, lastActivity: LOAD_TIME } },
    { row: 'session lastActivity missing → startedAt', kind: 'session', id: 's_nolast', file: sessionFixture('s_nolast', { startedAt: 99 }, ['lastActivity']), expected: { startedAt: 99, lastActivity: 99 } },
    { row: 'session hostname/platform missing → server values', kind: 'session', id: 's_nohost', file: sessionFixture('s_nohost', {}, ['hostname', 'platform']), expected: { hostname: 'testhost', platform: 'testos' } },
    { row: 'project workingDir/description missing → ""', kind: 'project', id: 'p_bare', file: { id: 'p_bare', name: 'Bare', createdAt: 5, updatedAt: 6 }, expected: { workingDir: '', description: '', createdAt: 5, updatedAt: 6 } },
    { row: 'project createdAt missing → updatedAt', kind: 'project', id: 'p_nocreated', file: { ...project('p_nocreated'), createdAt: undefined, updatedAt: 321 }, expected: { createdAt: 321, updatedAt: 321 } },
    { row: 'project both stamps missing → load time', kind: 'project', id: 'p_nostamps', file: { id: 'p_nostamps', name: 'n', workingDir: '', description: '' }, expected: { createdAt: LOAD_TIME, updatedAt: LOAD_TIME } },
    { row: 'template isDefault missing → false', kind: 'template', id: 'tm_nodefault', file: { id: 'tm_nodefault', name: 'n', role: 'worker', content: 'c', createdAt: 1, updatedAt: 2 }, expected: { isDefault: false } },
    { row: 'template createdAt missing → updatedAt', kind: 'template', id: 'tm_nocreated', file: { id: 'tm_nocreated', name: 'n', role: 'orchestrator', content: 'c', isDefault: true, updatedAt: 8 }, expected: { createdAt: 8, updatedAt: 8, isDefault: true } },
    { row: 'queue items missing → [], currentIndex → -1, strategy → queue', kind: 'queue', id: 's_running', file: { sessionId: 's_running', createdAt: 1, updatedAt: 1 }, expected: { items: [], currentIndex: -1, strategy: 'queue' } },
    {
      row: 'queue currentIndex missing → index of the processing item',
      kind: 'queue',
      id: 's_nostrat',
      file: { sessionId: 's_nostrat', strategy: 'queue', createdAt: 1, updatedAt: 1, items: [{ taskId: 'a', status: 'completed', addedAt: 1 }, { taskId: 'b', status: 'processing', addedAt: 1, startedAt: 2 }] },
      expected: { currentIndex: 1 },
    },
  ];

  const relOf = (kind: string, id: string): string =>
    kind === 'task' ? join('tasks', P, `${id}.json`) : join({ session: 'sessions', project: 'projects', template: 'templates', queue: 'queues' }[kind]!, `${id}.json`);

  beforeAll(async () => {
    // Not from tempDir(): the file-level afterEach would remove it after the first row.
    dataDir = await mkdtemp(join(tmpdir(), 'maestro-migrations-'));
    await put(dataDir, join('projects', `${P}.json`), project(P));
    for (const r of rows) await put(dataDir, relOf(r.kind, r.id), r.file);
    // An entity that needs no migration, written compactly: it must not be rewritten.
    await put(dataDir, join('projects', 'p_clean.json'), JSON.stringify(project('p_clean')));
    ({ store, logger } = await open(dataDir));
  });
  afterAll(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it.each(rows)('$row', async (r) => {
    const entity = (
      {
        task: () => store.getTask(r.id),
        session: () => store.getSession(r.id),
        project: () => store.getProject(r.id),
        template: () => store.getTemplate(r.id),
        queue: () => store.getQueue(r.id),
      } as const
    )[r.kind]() as Record<string, unknown> | undefined;
    expect(entity).toBeDefined();
    expect(entity).toMatchObject(r.expected);
    for (const key of r.absent ?? []) expect(entity).not.toHaveProperty(key);
    // The migrated entity was written back atomically, in docs/behaviour.md's format; an unchanged one was not.
    const text = await readFile(join(dataDir, relOf(r.kind, r.id)), 'utf8');
    expect(text).toBe(r.unchanged ? JSON.stringify(r.file, null, 2) : `${JSON.stringify(entity, null, 2)}\n`);
    if (r.warns) expect(logger.warnings.some((w) => r.warns!.test(w))).toBe(true);
  });

  it('files that needed no migration are not rewritten', async () => {
    expect(await readFile(join(dataDir, 'projects', 'p_clean.json'), 'utf8')).toBe(JSON.stringify(project('p_clean')));
  });

  it('memory equals disk after the load, and nothing was quarantined', async () => {
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    expect(store.quarantinedCount).toBe(0);
  });

  it('a second load of the migrated data changes nothing and warns nothing', async () => {
    await store.close();
    const before = await diskSnapshot(dataDir);
    const again = await open(dataDir);
    expect(again.logger.warnings).toEqual([]);
    expect(again.store.loadStats).toMatchObject({ migrated: 0, linkRepairs: 0, quarantined: 0 });
    expect(await diskSnapshot(dataDir)).toEqual(before);
    store = again.store;
  });
});

describe('startup load: more shapes', () => {
  it('sets unknown top-level keys aside (docs/behaviour.md §14.2), coerces wrong types, dedupes id arrays, uses this machine by default', async () => {
    const dataDir = await tempDir();
    await put(dataDir, 'projects/p.json', { ...project('p'), extra: 1, statusCode: 2 });
    await put(dataDir, 'tasks/p/t.json', { ...task('t', 'p'), sessionIds: 'nope', skillIds: ['a', 3, 'b'], createdAt: 'yesterday', updatedAt: 50 });
    await put(dataDir, 'sessions/s.json', { ...session('s', 'p'), taskIds: ['x1', 'x1'], hostname: undefined, env: [1] });
    const store = await Store.open({ dataDir });
    // What is served (JSON) has exactly the known keys; the file keeps the others and is not rewritten.
    expect(JSON.parse(JSON.stringify(store.getProject('p')))).toEqual(project('p'));
    expect(JSON.parse(await readFile(join(dataDir, 'projects/p.json'), 'utf8'))).toEqual({ ...project('p'), extra: 1, statusCode: 2 });
    expect(store.getTask('t')).toMatchObject({ sessionIds: [], skillIds: ['a', 'b'], createdAt: 50 });
    // x1 does not exist: link repair removes it (after dedupe)
    expect(store.getSession('s')).toMatchObject({ taskIds: [], hostname: hostname(), env: {} });
    await store.close();
  });

  it('legacy session taskId is removed also when taskIds exists', async () => {
    const dataDir = await tempDir();
    await put(dataDir, 'projects/p.json', project('p'));
    await put(dataDir, 'sessions/s.json', { ...session('s', 'p'), taskId: 'zzz' });
    const store = await Store.open({ dataDir });
    expect(store.getSession('s')).not.toHaveProperty('taskId');
    expect(store.getSession('s')!.taskIds).toEqual([]);
    await store.close();
  });
});

describe('startup load: legacy task files (docs/behaviour.md §5.2 step 2)', () => {
  it('moves tasks/*.json into tasks/{projectId}/ (new file first, old removed), migrating on the way', async () => {
    const dataDir = await tempDir();
    await put(dataDir, 'projects/p1.json', project('p1'));
    await put(dataDir, 'tasks/t_legacy.json', { ...task('t_legacy', 'p1'), status: 'pending', timeline: [] });
    await put(dataDir, 'tasks/t_other.json', task('t_other', 'p_gone'));
    const { store, logger } = await open(dataDir);
    expect(store.getTask('t_legacy')).toMatchObject({ projectId: 'p1', status: 'todo' });
    expect(await exists(join(dataDir, 'tasks', 't_legacy.json'))).toBe(false);
    expect(await exists(join(dataDir, 'tasks', 't_other.json'))).toBe(false);
    expect(JSON.parse(await readFile(join(dataDir, 'tasks', 'p1', 't_legacy.json'), 'utf8'))).toEqual(store.getTask('t_legacy'));
    expect(JSON.parse(await readFile(join(dataDir, 'tasks', 'p_gone', 't_other.json'), 'utf8'))).toEqual(store.getTask('t_other'));
    expect(store.loadStats.legacyTasksMoved).toBe(2);
    expect(logger.infos.some((m) => m.includes('t_legacy'))).toBe(true);
    await store.close();
    // Restart: the moved files load from their folder.
    const again = await open(dataDir);
    expect(again.store.listTasks().map((t) => t.id).sort()).toEqual(['t_legacy', 't_other']);
    expect(again.store.loadStats.legacyTasksMoved).toBe(0);
    await again.store.close();
  });

  it('a legacy file without a usable projectId is quarantined', async () => {
    const dataDir = await tempDir();
    await put(dataDir, 'tasks/t1.json', { ...task('t1', 'x'), projectId: undefined });
    await put(dataDir, 'tasks/t2.json', { ...task('t2', '../evil') });
    const { store } = await open(dataDir);
    expect(store.listTasks()).toEqual([]);
    expect(store.quarantinedCount).toBe(2);
    expect((await readdir(join(dataDir, 'quarantine', 'tasks'))).sort()).toEqual([`t1.json.${LOAD_TIME}`, `t2.json.${LOAD_TIME}`]);
    await store.close();
  });
});

describe('startup load: temp files (docs/behaviour.md §5.4)', () => {
  it('deletes leftover temp files everywhere and never loads them; other files are left alone', async () => {
    const dataDir = await tempDir();
    await put(dataDir, 'projects/p1.json', project('p1'));
    await put(dataDir, 'projects/.p2.json.123.abcdef.tmp', JSON.stringify(project('p2')));
    await put(dataDir, 'tasks/p1/.t1.json.9.ff.tmp', JSON.stringify(task('t1', 'p1')));
    await put(dataDir, 'sessions/.s.json.1.2.tmp', '{"id":');
    await put(dataDir, 'queues/.s.json.1.2.tmp', '');
    await put(dataDir, 'templates/.x.json.1.2.tmp', '');
    await put(dataDir, 'projects/README.txt', 'notes');
    const { store } = await open(dataDir);
    expect(store.listProjects().map((p) => p.id)).toEqual(['p1']);
    expect(store.listTasks()).toEqual([]);
    expect(store.loadStats.tempFilesRemoved).toBe(5);
    expect((await readdir(join(dataDir, 'projects'))).sort()).toEqual(['README.txt', 'p1.json']);
    expect(await readdir(join(dataDir, 'tasks', 'p1'))).toEqual([]);
    expect(store.quarantinedCount).toBe(0);
    await store.close();
  });
});

describe('startup load: quarantine (docs/behaviour.md §5.5)', () => {
  const bad: { rel: string; content: string; why: RegExp }[] = [
    { rel: 'projects/garbage.json', content: 'this is not json', why: /invalid JSON/ },
    { rel: 'projects/truncated.json', content: '{"id": "truncated", "name": "Tru', why: /invalid JSON/ },
    { rel: 'projects/empty.json', content: '', why: /invalid JSON/ },
    { rel: 'projects/array.json', content: '[1, 2]', why: /not a JSON object/ },
    { rel: 'projects/nullvalue.json', content: 'null', why: /not a JSON object/ },
    { rel: 'projects/string.json', content: '"proj"', why: /not a JSON object/ },
    { rel: 'projects/noid.json', content: '{"name": "x"}', why: /no string id/ },
    { rel: 'projects/numid.json', content: '{"id": 7}', why: /no string id/ },
    { rel: 'projects/mismatch.json', content: JSON.stringify(project('other')), why: /differs from the file name/ },
    { rel: 'tasks/p1/t_wrongfolder.json', content: JSON.stringify(task('t_wrongfolder', 'p2')), why: /differs from its folder/ },
    { rel: 'sessions/s_bad.json', content: '{"id": "s_bad", ', why: /invalid JSON/ },
    { rel: 'templates/tm_role.json', content: JSON.stringify(template('tm_role', { role: 'janitor' as never })), why: /not a Role/ },
    { rel: 'templates/tm_norole.json', content: JSON.stringify({ ...template('tm_norole'), role: undefined }), why: /not a Role/ },
    { rel: 'queues/s_missing.json', content: JSON.stringify(queue('s_missing')), why: /does not exist/ },
    { rel: 'queues/q_noid.json', content: '{"items": []}', why: /no string sessionId/ },
  ];

  it('moves every unusable file to quarantine/{relative path}.{load ms}, unchanged, counts and names them, and keeps loading', async () => {
    const dataDir = await tempDir();
    await put(dataDir, 'projects/p1.json', project('p1'));
    await put(dataDir, 'tasks/p1/t_ok.json', task('t_ok', 'p1'));
    await put(dataDir, 'sessions/s_ok.json', session('s_ok', 'p1'));
    for (const b of bad) await put(dataDir, b.rel, b.content);
    const { store, logger } = await open(dataDir);

    expect(store.quarantinedCount).toBe(bad.length);
    expect(store.listProjects().map((p) => p.id)).toEqual(['p1']);
    expect(store.listTasks().map((t) => t.id)).toEqual(['t_ok']);
    expect(store.listSessions().map((s) => s.id)).toEqual(['s_ok']);
    expect(store.listTemplates()).toEqual([]);
    for (const b of bad) {
      expect(await exists(join(dataDir, b.rel))).toBe(false);
      expect(await readFile(join(dataDir, 'quarantine', `${b.rel}.${LOAD_TIME}`), 'utf8')).toBe(b.content);
      const name = b.rel.split('/').pop()!;
      expect(logger.warnings.some((w) => w.includes(name) && b.why.test(w))).toBe(true);
    }
    expect(logger.warnings.some((w) => w.includes(`quarantined ${bad.length} file`))).toBe(true);
    // E14 must refuse the id of a session file that was skipped (§2.4 E14 step 6).
    expect(store.isSessionIdTaken('s_bad')).toBe(true);
    expect(store.isSessionIdTaken('s_ok')).toBe(true);
    expect(store.isSessionIdTaken('s_new')).toBe(false);
    await store.close();

    // The next start finds nothing left to quarantine; the count is that of the last load.
    const again = await open(dataDir);
    expect(again.store.quarantinedCount).toBe(0);
    expect(await readdir(join(dataDir, 'quarantine', 'projects'))).toHaveLength(9);
    await again.store.close();
  });

  it('a second quarantine of the same path at another load time keeps both copies', async () => {
    const dataDir = await tempDir();
    await put(dataDir, 'projects/x.json', 'bad1');
    const first = await Store.open({ dataDir, clock: new ManualClock(1) });
    await first.close();
    await put(dataDir, 'projects/x.json', 'bad2');
    const second = await Store.open({ dataDir, clock: new ManualClock(2) });
    await second.close();
    expect((await readdir(join(dataDir, 'quarantine', 'projects'))).sort()).toEqual(['x.json.1', 'x.json.2']);
  });
});

describe('startup load: duplicates (docs/behaviour.md §5.5)', () => {
  it('the first file loaded wins and a warning names the duplicate; the loser is left in place', async () => {
    const dataDir = await tempDir();
    await put(dataDir, 'tasks/pa/t_dup.json', task('t_dup', 'pa', { title: 'first' }));
    await put(dataDir, 'tasks/pb/t_dup.json', task('t_dup', 'pb', { title: 'second' }));
    await put(dataDir, 'tasks/t_dup.json', task('t_dup', 'pc', { title: 'legacy' }));
    const { store, logger } = await open(dataDir);
    expect(store.getTask('t_dup')).toMatchObject({ title: 'first', projectId: 'pa' });
    expect(store.listTasks()).toHaveLength(1);
    expect(store.countTasksOfProject('pb')).toBe(0);
    expect(logger.warnings.filter((w) => w.includes('Duplicate task id t_dup'))).toHaveLength(2);
    expect(store.loadStats.duplicates).toBe(2);
    expect(await exists(join(dataDir, 'tasks', 'pb', 't_dup.json'))).toBe(true);
    expect(store.quarantinedCount).toBe(0);
    await store.close();
  });
});

describe('startup load: link repair (docs/behaviour.md §5.3)', () => {
  it('completes one-sided links in both directions, drops links to missing entities, writes back, warns with the count', async () => {
    const dataDir = await tempDir();
    await put(dataDir, 'projects/p.json', project('p'));
    // Session side only: s1 → t1.
    await put(dataDir, 'sessions/s1.json', session('s1', 'p', { taskIds: ['t1'] }));
    await put(dataDir, 'tasks/p/t1.json', task('t1', 'p', { sessionIds: [] }));
    // Task side only: t2 → s2.
    await put(dataDir, 'tasks/p/t2.json', task('t2', 'p', { sessionIds: ['s2'] }));
    await put(dataDir, 'sessions/s2.json', session('s2', 'p', { taskIds: ['t_other'] }));
    await put(dataDir, 'tasks/p/t_other.json', task('t_other', 'p', { sessionIds: ['s2'] }));
    // Dangling on both sides.
    await put(dataDir, 'sessions/s3.json', session('s3', 'p', { taskIds: ['t_missing', 't1'] }));
    await put(dataDir, 'tasks/p/t3.json', task('t3', 'p', { sessionIds: ['s_missing'] }));
    const { store, logger } = await open(dataDir);

    expect(store.getTask('t1')!.sessionIds).toEqual(['s1', 's3']);
    expect(store.getSession('s2')!.taskIds).toEqual(['t_other', 't2']);
    expect(store.getSession('s3')!.taskIds).toEqual(['t1']);
    expect(store.getTask('t3')!.sessionIds).toEqual([]);
    expect(store.loadStats.linkRepairs).toBe(5);
    expect(logger.warnings.some((w) => /Repaired 5 task\/session link/.test(w))).toBe(true);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    // Indexes follow the repaired links.
    expect(store.listSessions({ taskId: 't1' }).map((s) => s.id)).toEqual(['s1', 's3']);
    expect(store.listSessions({ taskId: 't_missing' })).toEqual([]);
    // Every link agrees.
    for (const s of store.listSessions()) for (const tid of s.taskIds) expect(store.getTask(tid)!.sessionIds).toContain(s.id);
    for (const t of store.listTasks()) for (const sid of t.sessionIds) expect(store.getSession(sid)!.taskIds).toContain(t.id);
    await store.close();
  });
});

describe('startup load: shared strings and lists (issue 7, memory)', () => {
  it('loaded entities keep their values; empty lists are one frozen array that a later mutation replaces', async () => {
    const dataDir = await tempDir();
    await put(dataDir, 'projects/p.json', project('p'));
    await put(dataDir, 'tasks/p/t1.json', task('t1', 'p', { sessionIds: ['s1'] }));
    await put(dataDir, 'tasks/p/t2.json', task('t2', 'p'));
    await put(dataDir, 'tasks/t3.json', task('t3', 'p')); // legacy place: moved into tasks/p/
    await put(dataDir, 'sessions/s1.json', session('s1', 'p', { taskIds: ['t1'], env: { DATA_DIR: '/d', SESSION_DIR: '/s' } }));
    await put(dataDir, 'sessions/s2.json', session('s2', 'p', { env: { DATA_DIR: '/d', SESSION_DIR: '/s' } }));
    const { store } = await open(dataDir);

    expect(store.getTask('t1')).toEqual(task('t1', 'p', { sessionIds: ['s1'] }));
    expect(store.getTask('t3')).toEqual(task('t3', 'p'));
    expect(store.getSession('s2')!.env).toEqual({ DATA_DIR: '/d', SESSION_DIR: '/s' });
    expect(store.getSession('s1')!.taskIds).toEqual(['t1']);
    const t2 = store.getTask('t2')!;
    expect(t2.skillIds).toEqual([]);
    expect(Object.isFrozen(t2.skillIds)).toBe(true);
    expect(t2.skillIds).toBe(store.getTask('t3')!.agentIds);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));

    await store.mutate((tx) => {
      const t = tx.getTask('t2')!;
      tx.putTask({ ...t, skillIds: [...t.skillIds, 'sk'], updatedAt: tx.bump(t.updatedAt) });
    });
    expect(store.getTask('t2')!.skillIds).toEqual(['sk']);
    expect(store.getTask('t3')!.skillIds).toEqual([]);
    expect(await diskSnapshot(dataDir)).toEqual(memorySnapshot(store));
    await store.close();
  });
});
