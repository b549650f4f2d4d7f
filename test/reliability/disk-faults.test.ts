/**
 * Disk faults (issue 6; docs/behaviour.md §0.8, §5.4): a write that fails answers 500 INTERNAL_ERROR, emits no event and
 * leaves memory equal to disk (nothing acknowledged that is not saved, nothing saved that is not served); reads
 * keep working; once the fault is gone writes work again, and a restart serves exactly what the API showed.
 *
 * Tests run as root, so permissions cannot provoke failures. Two ways are used instead:
 *  - the real filesystem: DATA_DIR/projects is swapped for a plain file under a running child server (ENOTDIR);
 *  - the store's injectable `io` (src/store/io.ts) through startServer's `openStore` dependency: ENOSPC, EIO
 *    and EROFS at a chosen file operation of a multi-file mutation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { OpenStoreOptions } from '../../src/server.js';
import { Store, fileSystemIO, type StoreIO } from '../../src/store/index.js';
import { seedDefaultTemplates } from '../../src/templates/seed.js';
import { call, type Reply } from '../support/http.js';
import { killAllChildren, startChild, startInProcess, type InProcessServer } from '../support/server.js';
import { tempDir } from '../support/temp.js';
import { EventLog } from '../support/ws.js';
import { checkDisk, figure, snapshot } from './helpers.js';

afterAll(killAllChildren);

type FileOp = 'writeFile' | 'removeFile' | 'syncDir';

/** A fault armed on the injected io: the `skip`+1-th matching operation (and every later one, if `sticky`) fails. */
interface Fault {
  op: FileOp;
  match: RegExp;
  code: string;
  skip: number;
  sticky?: boolean;
  fired: number;
}

function faultyIO(state: { fault?: Fault }): StoreIO {
  const maybeFail = (op: FileOp, p: string) => {
    const f = state.fault;
    if (!f || f.op !== op || !f.match.test(p)) return;
    if (f.skip > 0) {
      f.skip--;
      return;
    }
    f.fired++;
    if (!f.sticky) state.fault = undefined;
    throw Object.assign(new Error(`${f.code}: injected failure, ${op} '${p}'`), { code: f.code });
  };
  return {
    async writeFile(p, text) {
      maybeFail('writeFile', p);
      return fileSystemIO.writeFile(p, text);
    },
    async removeFile(p) {
      maybeFail('removeFile', p);
      return fileSystemIO.removeFile(p);
    },
    async syncDir(dir) {
      maybeFail('syncDir', dir);
      return fileSystemIO.syncDir(dir);
    },
    ensureDir: (dir) => fileSystemIO.ensureDir(dir),
  };
}

function expectInternalError(res: Reply): void {
  expect(res.status, res.text).toBe(500);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.json).toMatchObject({ error: true, code: 'INTERNAL_ERROR' });
  expect(Object.keys(res.json as object).sort()).toEqual(['code', 'error', 'message']);
}

describe('disk faults through the injected io', () => {
  const state: { fault?: Fault } = {};
  let server: InProcessServer | undefined;
  let log: (EventLog & { ws: WebSocket }) | undefined;
  afterEach(async () => {
    log?.ws.close();
    await server?.close();
    server = undefined;
  });

  it('ENOSPC, EIO and EROFS at any file of a mutation: 500, no event, memory == disk, reads served; then writes and restart agree', async () => {
    const openStore = async (o: OpenStoreOptions) => {
      const store = await Store.open({ dataDir: o.dataDir, clock: o.clock, io: faultyIO(state), onCommit: (ev) => o.onCommit([...ev]) });
      await seedDefaultTemplates(store);
      return store;
    };
    server = await startInProcess({ deps: { openStore } });
    const { port, dataDir } = server;
    log = await EventLog.open(port);
    const post = (p: string, body?: unknown) => call(port, 'POST', p, { body });
    const ok = async (res: Promise<Reply>, status = 200) => {
      const r = await res;
      expect(r.status, r.text).toBe(status);
      return r.json as any;
    };

    const project = await ok(post('/api/projects', { name: 'P' }), 201);
    const t1 = await ok(post('/api/tasks', { projectId: project.id, title: 'T1' }), 201);
    const t2 = await ok(post('/api/tasks', { projectId: project.id, title: 'T2' }), 201);
    const t3 = await ok(post('/api/tasks', { projectId: project.id, title: 'T3' }), 201);
    const s1 = await ok(post('/api/sessions', { id: 's1', projectId: project.id, taskIds: [t1.id], strategy: 'queue' }), 201);
    await ok(post(`/api/sessions/${s1.id}/queue/push`, { taskId: t2.id }));

    const cases: Array<{ name: string; fault: Omit<Fault, 'fired'>; request: () => Promise<Reply> }> = [
      { name: 'create project, ENOSPC', fault: { op: 'writeFile', match: /projects/, code: 'ENOSPC', skip: 0 }, request: () => post('/api/projects', { name: 'Q' }) },
      { name: 'update project, EROFS', fault: { op: 'writeFile', match: /projects/, code: 'EROFS', skip: 0 }, request: () => call(port, 'PUT', `/api/projects/${project.id}`, { body: { name: 'renamed' } }) },
      {
        name: 'create session with 2 tasks, ENOSPC on the 2nd task file',
        fault: { op: 'writeFile', match: /tasks/, code: 'ENOSPC', skip: 1 },
        request: () => post('/api/sessions', { id: 's2', projectId: project.id, taskIds: [t1.id, t2.id], strategy: 'queue' }),
      },
      {
        name: 'create queue session, ENOSPC on the queue file (written last)',
        fault: { op: 'writeFile', match: /queues/, code: 'ENOSPC', skip: 0 },
        request: () => post('/api/sessions', { id: 's3', projectId: project.id, taskIds: [t1.id, t2.id], strategy: 'queue' }),
      },
      { name: 'patch task with links, EIO on the session file', fault: { op: 'writeFile', match: /sessions/, code: 'EIO', skip: 0 }, request: () => call(port, 'PATCH', `/api/tasks/${t2.id}`, { body: { title: 'x', sessionIds: [] } }) },
      { name: 'patch task, EIO on the folder fsync', fault: { op: 'syncDir', match: /tasks/, code: 'EIO', skip: 0 }, request: () => call(port, 'PATCH', `/api/tasks/${t1.id}`, { body: { status: 'completed' } }) },
      { name: 'queue start, ENOSPC on the queue after the task was written', fault: { op: 'writeFile', match: /queues/, code: 'ENOSPC', skip: 0 }, request: () => post(`/api/sessions/${s1.id}/queue/start`) },
      { name: 'link, EIO on the task file', fault: { op: 'writeFile', match: /tasks/, code: 'EIO', skip: 0 }, request: () => post(`/api/sessions/${s1.id}/tasks/${t3.id}`) },
      { name: 'delete task, EIO on the removal (after the session was rewritten)', fault: { op: 'removeFile', match: /tasks/, code: 'EIO', skip: 0 }, request: () => call(port, 'DELETE', `/api/tasks/${t1.id}`) },
      { name: 'delete session, EIO on removing the queue file', fault: { op: 'removeFile', match: /queues/, code: 'EIO', skip: 0 }, request: () => call(port, 'DELETE', `/api/sessions/${s1.id}`) },
      { name: 'delete session, ENOSPC on the first task file', fault: { op: 'writeFile', match: /tasks/, code: 'ENOSPC', skip: 0 }, request: () => call(port, 'DELETE', `/api/sessions/${s1.id}`) },
      { name: 'create template, EROFS', fault: { op: 'writeFile', match: /templates/, code: 'EROFS', skip: 0 }, request: () => post('/api/templates', { name: 'n', role: 'worker', content: 'c' }) },
    ];

    let failures = 0;
    for (const c of cases) {
      await log.take(); // the events of the set-up and of earlier cases, settled and dropped
      const before = await snapshot(port);
      state.fault = { ...c.fault, fired: 0 };
      const fault = state.fault;
      const res = await c.request();
      expect(fault.fired, `${c.name}: the fault fired`).toBe(1);
      expectInternalError(res);
      failures++;
      // Memory is exactly as before the request, and equal to disk.
      const after = await snapshot(port);
      expect(after, c.name).toEqual(before);
      expect(checkDisk(dataDir, after), c.name).toEqual([]);
      expect((await log.take()).map((e) => e.event), `${c.name}: no event`).toEqual([]);
      // Reads are still served.
      expect((await call(port, 'GET', '/api/tasks')).status).toBe(200);
      expect((await call(port, 'GET', '/health')).status).toBe(200);
    }

    // A sticky fault (the disk stays full): every write fails, every read still works.
    state.fault = { op: 'writeFile', match: /./, code: 'ENOSPC', skip: 0, sticky: true, fired: 0 };
    const frozen = await snapshot(port);
    for (let i = 0; i < 20; i++) {
      expectInternalError(await post('/api/tasks', { projectId: project.id, title: `full ${i}` }));
      expectInternalError(await call(port, 'PATCH', `/api/tasks/${t1.id}`, { body: { description: `d${i}` } }));
      expect((await call(port, 'GET', `/api/tasks/${t1.id}`)).status).toBe(200);
      failures += 2;
    }
    expect(await snapshot(port)).toEqual(frozen);
    state.fault = undefined;

    // Fault gone: writes work again, and the state survives a restart exactly as the API showed it.
    await ok(call(port, 'PATCH', `/api/tasks/${t1.id}`, { body: { status: 'completed' } }));
    await ok(post(`/api/sessions/${s1.id}/queue/start`));
    await ok(call(port, 'DELETE', `/api/sessions/${s1.id}`));
    await ok(post('/api/projects', { name: 'after the fault' }), 201);
    const shown = await snapshot(port);
    expect(checkDisk(dataDir, shown)).toEqual([]);
    log.ws.close();
    log = undefined;
    server = await server.restart({ deps: {} }); // the real file store on the same DATA_DIR
    expect(await snapshot(server.port)).toEqual(shown);
    figure(`disk-faults (injected io): failed writes ${failures}, 500 INTERNAL_ERROR ${failures}, memory != disk 0, events from failed writes 0`);
  });
});

describe('disk faults on the real filesystem', () => {
  it('DATA_DIR/projects replaced by a file under a running server: 500, reads served, memory == disk; restored → writes and restart agree', async () => {
    const root = tempDir('maestro-reliability-');
    const dataDir = path.join(root, 'data');
    let child = await startChild({ root });
    const port = child.port;
    const created = await call(port, 'POST', '/api/projects', { body: { name: 'P', description: 'before' } });
    expect(created.status).toBe(201);
    const id = (created.json as { id: string }).id;
    const shownBefore = await snapshot(port);

    const projects = path.join(dataDir, 'projects');
    fs.renameSync(projects, `${projects}.away`);
    fs.writeFileSync(projects, 'not a directory');
    const failed = [
      await call(port, 'PUT', `/api/projects/${id}`, { body: { description: 'during' } }),
      await call(port, 'POST', '/api/projects', { body: { name: 'new' } }),
      await call(port, 'DELETE', `/api/projects/${id}`),
    ];
    for (const res of failed) {
      expectInternalError(res);
      expect((res.json as { message: string }).message).toBe('Internal server error'); // NODE_ENV=production hides details
    }
    expect(await snapshot(port)).toEqual(shownBefore);
    // Writes elsewhere are not affected.
    expect((await call(port, 'POST', '/api/templates', { body: { name: 'n', role: 'worker', content: 'c' } })).status).toBe(201);

    fs.rmSync(projects);
    fs.renameSync(`${projects}.away`, projects);
    const updated = await call(port, 'PUT', `/api/projects/${id}`, { body: { description: 'after' } });
    expect(updated.status).toBe(200);
    const shown = await snapshot(port);
    expect(checkDisk(dataDir, shown)).toEqual([]);
    expect((await child.kill('SIGTERM')).code).toBe(0);

    child = await startChild({ root });
    expect(await snapshot(child.port)).toEqual(shown);
    expect((shown.projects[0] as { description: string }).description).toBe('after');
    await child.kill('SIGTERM');
    figure(`disk-faults (real filesystem, ENOTDIR): failed writes ${failed.length}, 500 INTERNAL_ERROR ${failed.length}, memory != disk 0`);
    fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);
});
