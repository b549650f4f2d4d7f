/**
 * Corrupt data at start (issue 6; docs/behaviour.md §5.5): garbage, truncated, empty and wrong-shape files are moved to
 * DATA_DIR/quarantine with their bytes intact, named in a log line and counted in /health; the start never
 * fails because of them and the good files beside them are served.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.js';
import { killAllChildren, startChild } from '../support/server.js';
import { listFiles, tempDir } from '../support/temp.js';
import { figure, prng } from './helpers.js';

afterAll(killAllChildren);

const now = 1_700_000_000_000;
const project = (id: string) => ({ id, name: `Project ${id}`, workingDir: '/w', description: '', createdAt: now, updatedAt: now });
const task = (id: string, projectId: string, sessionIds: string[] = []) => ({
  id, projectId, parentId: null, title: `Task ${id}`, description: '', status: 'todo', priority: 'medium', createdAt: now, updatedAt: now,
  startedAt: null, completedAt: null, initialPrompt: '', sessionIds, skillIds: [], agentIds: [], dependencies: [],
});
const session = (id: string, projectId: string, taskIds: string[] = []) => ({
  id, projectId, taskIds, name: `Session ${id}`, env: {}, strategy: 'simple', status: 'idle', startedAt: now, lastActivity: now,
  completedAt: null, hostname: 'h', platform: 'linux', events: [], timeline: [],
});
const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

describe('corrupt files at start', () => {
  it('are quarantined byte for byte, logged and counted; the start succeeds and good data is served', async () => {
    const root = tempDir('maestro-reliability-');
    const dataDir = path.join(root, 'data');
    const rng = prng(7);
    const garbage = Buffer.from(Array.from({ length: 512 }, () => Math.floor(rng() * 256)));
    const good: Record<string, string> = {
      'projects/proj_1_goodgood1.json': json(project('proj_1_goodgood1')),
      'tasks/proj_1_goodgood1/task_1_goodgood1.json': json(task('task_1_goodgood1', 'proj_1_goodgood1', ['sess_1_goodgood1'])),
      'sessions/sess_1_goodgood1.json': json(session('sess_1_goodgood1', 'proj_1_goodgood1', ['task_1_goodgood1'])),
    };
    const validProject = json(project('proj_2_truncated'));
    const bad: Record<string, string | Buffer> = {
      'projects/proj_2_garbage00.json': garbage, // random bytes (invalid UTF-8 and JSON)
      'projects/proj_2_truncated.json': validProject.slice(0, Math.floor(validProject.length / 2)), // torn write
      'projects/proj_2_emptyfile.json': '', // zero bytes
      'projects/proj_2_whitespace.json': '  \n\t\n',
      'projects/proj_2_nullvalue.json': 'null',
      'projects/proj_2_arrayvalu.json': json([project('proj_2_arrayvalu')]), // wrong shape: array
      'projects/proj_2_noidfield.json': json({ name: 'no id' }),
      'projects/proj_2_numericid.json': json({ ...project('x'), id: 42 }),
      'projects/proj_2_mismatch0.json': json(project('proj_2_someoneelse')), // id ≠ file name
      'projects/proj_2_bom000000.json': `\uFEFF{"id": "proj_2_bom000000"`, // BOM + truncated
      'tasks/proj_1_goodgood1/task_2_wrongfold.json': json(task('task_2_wrongfold', 'proj_9_elsewhere')), // projectId ≠ folder
      'tasks/proj_1_goodgood1/task_2_stringval.json': json('a string'),
      'sessions/sess_2_emptyfile.json': '',
      'sessions/sess_2_number000.json': '42',
      'sessions/sess_2_deepnest0.json': `${'['.repeat(100_000)}${']'.repeat(100_000)}`, // deep nesting
      'templates/tmpl_2_badrole00.json': json({ id: 'tmpl_2_badrole00', name: 'n', role: 'admin', content: 'c', isDefault: false, createdAt: now, updatedAt: now }),
      'queues/sess_2_orphanqu.json': json({ sessionId: 'sess_2_orphanqu', strategy: 'queue', items: [], currentIndex: -1, createdAt: now, updatedAt: now }),
    };
    for (const [rel, content] of Object.entries({ ...good, ...bad })) {
      fs.mkdirSync(path.dirname(path.join(dataDir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dataDir, rel), content);
    }

    const child = await startChild({ root, env: { LOG_FORMAT: 'json' } });
    try {
      const health = await call(child.port, 'GET', '/health');
      expect(health.status).toBe(200);
      expect((health.json as any).storage.quarantined).toBe(Object.keys(bad).length);

      // Good data is served; nothing of the bad files leaks into the API.
      expect(((await call(child.port, 'GET', '/api/projects')).json as any[]).map((p) => p.id)).toEqual(['proj_1_goodgood1']);
      expect(((await call(child.port, 'GET', '/api/tasks')).json as any[]).map((t) => t.id)).toEqual(['task_1_goodgood1']);
      expect(((await call(child.port, 'GET', '/api/sessions')).json as any[]).map((s) => s.id)).toEqual(['sess_1_goodgood1']);
      expect(((await call(child.port, 'GET', '/api/templates')).json as any[]).every((t) => t.role !== 'admin')).toBe(true);

      // Never silently dropped: each bad file is in quarantine/{relative path}.{load time} with the same bytes.
      const quarantined = listFiles(path.join(dataDir, 'quarantine'));
      expect(quarantined).toHaveLength(Object.keys(bad).length);
      const lines = child.output().split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      for (const [rel, content] of Object.entries(bad)) {
        expect(fs.existsSync(path.join(dataDir, rel)), `${rel} still in place`).toBe(false);
        const copy = quarantined.find((q) => q.startsWith(`${rel}.`) && /^\d+$/.test(q.slice(rel.length + 1)));
        expect(copy, `quarantined copy of ${rel}`).toBeDefined();
        expect(fs.readFileSync(path.join(dataDir, 'quarantine', copy!)).equals(Buffer.from(content))).toBe(true);
        // A warning names the file.
        expect(lines.some((l) => l.level === 40 && String(l.msg).includes(rel)), `warning for ${rel}`).toBe(true);
      }
      // A quarantined session file keeps its id reserved (docs/behaviour.md §2.4 E14 step 6).
      const reuse = await call(child.port, 'POST', '/api/sessions', { body: { id: 'sess_2_emptyfile', projectId: 'proj_1_goodgood1', taskIds: [] } });
      expect(reuse.status).toBe(400);
    } finally {
      await child.kill('SIGTERM');
    }

    // The next start finds nothing new to quarantine and keeps the quarantined copies.
    const again = await startChild({ root });
    try {
      expect(((await call(again.port, 'GET', '/health')).json as any).storage.quarantined).toBe(0);
      expect(listFiles(path.join(dataDir, 'quarantine'))).toHaveLength(Object.keys(bad).length);
    } finally {
      await again.kill('SIGTERM');
    }
    figure(`corrupt: files ${Object.keys(bad).length}, quarantined ${Object.keys(bad).length}, start failures 0, silently dropped 0`);
    fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);
});
