/**
 * docs/behaviour.md §8.6 (spawn rollback leaves nothing: files byte-identical, no session dir, no events, same API state)
 * and §0.8 (a failed write leaves no trace) on the real server, for every manifest failure mode of the CLI and
 * for write failures in server mode (a folder replaced by a file, which even root cannot write into).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../support/server.js';
import { listFiles, tempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';
import { apiState, fileContents, startAudit, type AuditServer } from './helpers.js';

const FAKE_CLI = path.resolve('test/domain/fixtures/fake-maestro.mjs');
let s: AuditServer | undefined;
afterEach(async () => {
  delete process.env.FAKE_MAESTRO_MODE;
  await s?.close();
  s = undefined;
});

async function fixture(a: AuditServer) {
  const p = await a.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' });
  const t1 = await a.ok('POST', '/api/tasks', { projectId: p.id, title: 'T1', model: 'opus' });
  const t2 = await a.ok('POST', '/api/tasks', { projectId: p.id, title: 'T2' });
  const parent = await a.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t1.id], strategy: 'queue' });
  await a.drain();
  return { p, t1, t2, parent };
}

describe('§8.6 spawn rollback in cli mode: every failure mode leaves nothing behind', () => {
  for (const mode of ['fail', 'fail-silent', 'no-write', 'invalid-json', 'array', 'no-version', 'no-role']) {
    it(mode, async () => {
      const config = testConfig({ MANIFEST_GENERATOR: 'cli', MAESTRO_CLI_PATH: FAKE_CLI });
      s = await startAudit({ config });
      const { p, t1, t2, parent } = await fixture(s);
      const data = fileContents(config.dataDir);
      const sessions = fileContents(config.sessionDir);
      const state = await apiState(s);
      process.env.FAKE_MAESTRO_MODE = mode;
      for (const body of [
        { projectId: p.id, taskIds: [t2.id, t1.id, t2.id], strategy: 'queue', spawnSource: 'session', sessionId: parent.id, skills: ['a'] },
        { projectId: p.id, taskIds: [t1.id], role: 'orchestrator' },
      ]) {
        const res = await s.call('POST', '/api/sessions/spawn', body);
        expect(res.status, res.text).toBe(500);
        expect(res.body.code).toBe('manifest_generation_failed');
        expect(res.body.message).toMatch(/^Failed to generate manifest: /);
      }
      expect(await s.drain()).toEqual([]);
      expect(fileContents(config.dataDir)).toEqual(data);
      expect(fileContents(config.sessionDir)).toEqual(sessions);
      expect(fs.readdirSync(config.sessionDir)).toEqual([]);
      expect(await apiState(s)).toEqual(state);
      // A retry after the CLI is fixed succeeds, and the session it makes is the only new one.
      delete process.env.FAKE_MAESTRO_MODE;
      const ok = await s.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t2.id] }, 201);
      expect((await s.ok('GET', '/api/sessions')).map((x: any) => x.id)).toEqual([parent.id, ok.sessionId]);
    });
  }
});

describe('§8.6/§0.8 write failures in server mode', () => {
  it('SESSION_DIR unusable → 500, nothing left in DATA_DIR, no events', async () => {
    const config = testConfig();
    s = await startAudit({ config });
    const { p, t1, t2 } = await fixture(s);
    const data = fileContents(config.dataDir);
    const state = await apiState(s);
    fs.rmSync(config.sessionDir, { recursive: true });
    fs.writeFileSync(config.sessionDir, 'not a folder');
    const res = await s.call('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id, t2.id], strategy: 'queue' });
    expect(res.status, res.text).toBe(500);
    expect(['manifest_generation_failed', 'spawn_error']).toContain(res.body.code);
    expect(await s.drain()).toEqual([]);
    expect(fileContents(config.dataDir)).toEqual(data);
    expect(await apiState(s)).toEqual(state);
    expect(fs.readFileSync(config.sessionDir, 'utf8')).toBe('not a folder');
  });

  it('queues/ unusable → spawn 500 spawn_error with full rollback; E14 500 INTERNAL_ERROR without trace', async () => {
    const config = testConfig();
    s = await startAudit({ config });
    const { p, t1, t2 } = await fixture(s);
    const queues = path.join(config.dataDir, 'queues');
    const queueFiles = fileContents(queues);
    fs.rmSync(queues, { recursive: true });
    fs.writeFileSync(queues, 'blocked');
    const data = fileContents(config.dataDir);
    const state = await apiState(s);
    const spawn = await s.call('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id, t2.id], strategy: 'queue' });
    expect(spawn.status, spawn.text).toBe(500);
    expect(spawn.body.code).toBe('spawn_error');
    const create = await s.call('POST', '/api/sessions', { projectId: p.id, taskIds: [t2.id, t1.id], strategy: 'queue', id: 'client-id' });
    expect(create.status, create.text).toBe(500);
    expect(create.body.code).toBe('INTERNAL_ERROR');
    expect(Object.keys(create.body).sort()).toEqual(['code', 'error', 'message']);
    expect(await s.drain()).toEqual([]);
    expect(fileContents(config.dataDir)).toEqual(data);
    expect(listFiles(config.sessionDir)).toEqual([]);
    expect(await apiState(s)).toEqual(state);
    // The id stays free; after the folder is back, the same requests work.
    fs.rmSync(queues);
    fs.mkdirSync(queues);
    for (const [f, text] of Object.entries(queueFiles)) fs.writeFileSync(path.join(queues, f), text);
    expect((await s.ok('POST', '/api/sessions', { projectId: p.id, taskIds: [t2.id], strategy: 'queue', id: 'client-id' })).id).toBe('client-id');
    await s.ok('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id], strategy: 'queue' }, 201);
  });

  it('a failed task write rolls back a multi-file PATCH (session side included)', async () => {
    const config = testConfig();
    s = await startAudit({ config });
    const { p, t1, t2, parent } = await fixture(s);
    const other = await s.ok('POST', '/api/projects', { name: 'Other' });
    const foreign = await s.ok('POST', '/api/tasks', { projectId: other.id, title: 'F' });
    await s.drain();
    const folder = path.join(config.dataDir, 'tasks', other.id);
    const saved = fileContents(folder);
    fs.rmSync(folder, { recursive: true });
    fs.writeFileSync(folder, 'blocked');
    const data = fileContents(config.dataDir);
    const state = await apiState(s);
    // Links t2 (writable) and the foreign task (not writable): nothing of it may stay.
    const res = await s.call('PATCH', `/api/sessions/${parent.id}`, { taskIds: [t2.id, foreign.id], status: 'completed' });
    expect(res.status, res.text).toBe(500);
    expect(res.body.code).toBe('INTERNAL_ERROR');
    expect(await s.drain()).toEqual([]);
    expect(fileContents(config.dataDir)).toEqual(data);
    expect(await apiState(s)).toEqual(state);
    fs.rmSync(folder);
    fs.mkdirSync(folder);
    for (const [f, text] of Object.entries(saved)) fs.writeFileSync(path.join(folder, f), text);
    const ok = await s.ok('PATCH', `/api/sessions/${parent.id}`, { taskIds: [t2.id, foreign.id] });
    expect(ok.taskIds).toEqual([t2.id, foreign.id]);
    expect((await s.ok('GET', `/api/tasks/${t1.id}`)).sessionIds).toEqual([]);
  });
});

describe('§0.8 serialisation around a slow cli-mode spawn', () => {
  const SLOW_CLI = path.resolve('test/audit/fixtures/slow-maestro.mjs');
  for (const mode of ['fail', 'ok']) {
    // The CLI runs outside the write lock (docs/decisions.md): a mutation sent during the CLI run is answered
    // first and the spawn takes its place after it, exactly as if the mutation had been sent before the spawn.
    it(`a mutation sent during the CLI run does not wait for it; events never interleave (CLI ${mode})`, async () => {
      process.env.SLOW_MAESTRO_MODE = mode;
      process.env.SLOW_MAESTRO_MS = '300';
      const started = path.join(tempDir('maestro-slow-cli-'), 'started');
      process.env.SLOW_MAESTRO_STARTED = started;
      try {
        const config = testConfig({ MANIFEST_GENERATOR: 'cli', MAESTRO_CLI_PATH: SLOW_CLI });
        s = await startAudit({ config });
        const p = await s.ok('POST', '/api/projects', { name: 'P', workingDir: '/tmp/p' });
        const t = await s.ok('POST', '/api/tasks', { projectId: p.id, title: 'T' });
        await s.drain();
        const spawn = s.call('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t.id], strategy: 'queue' });
        await waitFor(() => fs.existsSync(started), 5000, 'the CLI to run');
        const put = s.call('PATCH', `/api/tasks/${t.id}`, { title: 'renamed' });
        const answered: string[] = [];
        const [sp, pt] = await Promise.all([
          spawn.then((r) => (answered.push('spawn'), r)),
          put.then((r) => (answered.push('patch'), r)),
        ]);
        expect(pt.status).toBe(200);
        expect(answered).toEqual(['patch', 'spawn']);
        expect(pt.body.sessionIds).toEqual([]);
        const events = (await s.drain(mode === 'ok' ? 4 : 1)).map((e) => e.event);
        if (mode === 'ok') {
          expect(sp.status, sp.text).toBe(201);
          expect(events).toEqual(['task:updated', 'session:spawn', 'task:session_added', 'queue:created']);
          // The spawn committed after the rename: its link is on the renamed task.
          const task = await s.ok('GET', `/api/tasks/${t.id}`);
          expect(task).toMatchObject({ title: 'renamed', sessionIds: [sp.body.sessionId] });
        } else {
          expect(sp.status).toBe(500);
          expect(events).toEqual(['task:updated']);
          expect(pt.body.sessionIds).toEqual([]);
          expect(await s.ok('GET', '/api/sessions')).toEqual([]);
          expect(listFiles(config.sessionDir)).toEqual([]);
          expect(s.readData(`tasks/${p.id}/${t.id}.json`)).toEqual(pt.body);
        }
      } finally {
        delete process.env.SLOW_MAESTRO_MODE;
        delete process.env.SLOW_MAESTRO_MS;
        delete process.env.SLOW_MAESTRO_STARTED;
      }
    });
  }
});

describe('§8.5 cli mode: a manifest without tasks is only a warning', () => {
  it('201, the finalised manifest is written, session:spawn carries it, a warning is logged', async () => {
    const { pino } = await import('pino');
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    process.env.FAKE_MAESTRO_MODE = 'no-tasks';
    const config = testConfig({ MANIFEST_GENERATOR: 'cli', MAESTRO_CLI_PATH: FAKE_CLI });
    // The hub validates every broadcast against the AsyncAPI catalogue: session:spawn's manifest may be a
    // CliManifest (schemas/manifest/cli-manifest.json), so this CLI output (legal per §8.5) is sent.
    s = await startAudit({ config, logger });
    const { p, t1 } = await fixture(s);
    const res = await s.call('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id], skills: ['x'] });
    expect(res.status, res.text).toBe(201);
    const manifest = JSON.parse(fs.readFileSync(res.body.manifestPath, 'utf8'));
    expect(manifest.tasks).toEqual([]);
    expect(manifest.skills).toEqual(['x']);
    expect('strategy' in manifest).toBe(false);
    const events = await s.drain(2);
    expect(events.map((e) => e.event)).toEqual(['session:spawn', 'task:session_added']);
    expect(events[0]!.data.manifest).toEqual(manifest);
    expect(lines.some((l) => l.includes('Manifest has no tasks'))).toBe(true);
    expect(s.server.hub.invalidEvents).toBe(0);
  });
});

describe('§3.2 NODE_ENV=production hides exception text', () => {
  it('write failure: spawn_error "Spawn failed", INTERNAL_ERROR "Internal server error", still rolled back', async () => {
    const config = testConfig({ NODE_ENV: 'production' });
    s = await startAudit({ config });
    const { p, t1 } = await fixture(s);
    const queues = path.join(config.dataDir, 'queues');
    fs.rmSync(queues, { recursive: true });
    fs.writeFileSync(queues, 'blocked');
    const data = fileContents(config.dataDir);
    const spawn = await s.call('POST', '/api/sessions/spawn', { projectId: p.id, taskIds: [t1.id], strategy: 'queue' });
    expect(spawn.body).toEqual({ error: true, code: 'spawn_error', message: 'Spawn failed' });
    const create = await s.call('POST', '/api/sessions', { projectId: p.id, taskIds: [t1.id], strategy: 'queue' });
    expect(create.body).toEqual({ error: true, code: 'INTERNAL_ERROR', message: 'Internal server error' });
    expect(fileContents(config.dataDir)).toEqual(data);
    expect(await s.drain()).toEqual([]);
  });
});
