/**
 * docs/behaviour.md §14.2: a key stored in an entity file that the running spec does not know (a newer server wrote it,
 * or a person) survives the load, the migrations and every later write of that entity, byte for byte, and is
 * never served (responses, events). Real files in a temp DATA_DIR, a real server on a real port, a real
 * WebSocket client; the files are written the way a newer server writes them (JSON, 2-space indent).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApi, type Api } from './harness.js';
import { testConfig } from '../support/server.js';
import type { Config } from '../../src/config.js';

const T0 = 1_700_000_000_000;

/**
 * Keys a "newer" server stored: a string, a nested object and an array, with characters JSON escapes. Not `color`:
 * CONTRIBUTING.md's example adds that one to projects (test/workflows/spec-change-walkthrough.test.ts).
 */
const NEWER = {
  accent: '#ff8800',
  review: { by: 'ana', score: 4.5, tags: ['a', 'ü', 'line\nbreak'], nested: { deep: [1, { x: null }] } },
  labels: ['x', 'y'],
};

const files: Record<string, Record<string, unknown>> = {
  'projects/p1.json': { id: 'p1', name: 'P', workingDir: '', description: '', createdAt: T0, updatedAt: T0, ...NEWER },
  'tasks/p1/t1.json': {
    id: 't1', projectId: 'p1', parentId: null, title: 'T', description: '', status: 'todo', priority: 'medium',
    createdAt: T0, updatedAt: T0, startedAt: null, completedAt: null, initialPrompt: '', sessionIds: ['s1'],
    skillIds: [], agentIds: [], dependencies: [], ...NEWER,
  },
  // A legacy value next to the unknown keys: the migration rewrites the file and must keep them.
  'tasks/p1/t2.json': {
    id: 't2', projectId: 'p1', parentId: null, title: 'T2', description: '', status: 'pending', priority: 'medium',
    createdAt: T0, updatedAt: T0, startedAt: null, completedAt: null, initialPrompt: '', sessionIds: [],
    skillIds: [], agentIds: [], dependencies: [], ...NEWER,
  },
  'sessions/s1.json': {
    id: 's1', projectId: 'p1', taskIds: ['t1'], name: 'S', env: {}, strategy: 'queue', status: 'idle', startedAt: T0,
    lastActivity: T0, completedAt: null, hostname: 'h', platform: 'linux', events: [], timeline: [], ...NEWER,
  },
  'queues/s1.json': { sessionId: 's1', strategy: 'queue', items: [], currentIndex: -1, createdAt: T0, updatedAt: T0, ...NEWER },
  'templates/tm1.json': { id: 'tm1', name: 'W', role: 'worker', content: 'c', isDefault: true, createdAt: T0, updatedAt: T0, ...NEWER },
};

function writeFiles(dataDir: string): void {
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(dataDir, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, `${JSON.stringify(content, null, 2)}\n`);
  }
}

/** The exact text of one top-level key's value inside a file written with a 2-space indent. */
function keyText(fileText: string, key: string): string {
  const value = (JSON.parse(fileText) as Record<string, unknown>)[key];
  const text = `  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')}`;
  expect(fileText).toContain(text);
  return text;
}

function read(config: Config, rel: string): string {
  return fs.readFileSync(path.join(config.dataDir, rel), 'utf8');
}

function expectKeptByteForByte(config: Config, rel: string): void {
  const text = read(config, rel);
  for (const key of Object.keys(NEWER)) expect(keyText(text, key)).toBe(keyText(`${JSON.stringify(files[rel], null, 2)}\n`, key));
}

function expectNotServed(value: unknown): void {
  const json = JSON.stringify(value);
  for (const key of Object.keys(NEWER)) expect(json).not.toContain(`"${key}"`);
}

let api: Api | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('unknown keys in entity files (docs/behaviour.md §14.2)', () => {
  it('survive the load, a migration, updates of every kind and a restart, byte for byte, and are never served', async () => {
    const config = testConfig();
    writeFiles(config.dataDir);
    api = await startApi(config);

    // The load served none of them, wrote nothing but the migrated task, and kept the keys there too.
    for (const rel of Object.keys(files)) expectKeptByteForByte(config, rel);
    expect(JSON.parse(read(config, 'tasks/p1/t2.json')).status).toBe('todo');
    const listed = await Promise.all([
      api.raw('GET', '/api/projects'), api.raw('GET', '/api/tasks'), api.raw('GET', '/api/sessions'),
      api.raw('GET', '/api/templates'), api.raw('GET', '/api/sessions/s1/queue'), api.raw('GET', '/api/tasks/t2'),
    ]);
    for (const res of listed) {
      expect(res.status).toBe(200);
      expectNotServed(res.json);
    }

    // Updates through the API, one per kind (the queue changes through a push).
    const updates = [
      await api.json('PUT', '/api/projects/p1', { name: 'P2' }),
      await api.json('PATCH', '/api/tasks/t1', { title: 'T1 renamed', status: 'in_progress' }),
      await api.json('PATCH', '/api/sessions/s1', { status: 'working', env: { A: '1' } }),
      await api.json('PUT', '/api/templates/tm1', { content: 'new content' }),
      await api.json('POST', '/api/sessions/s1/queue/push', { taskId: 't2' }),
    ];
    for (const res of updates) {
      expect(res.status, res.text).toBeLessThan(300);
      expectNotServed(res.json);
    }
    // Settled: every event of these answered updates is in (at least one per update).
    const envelopes = await api.log.take(5);
    expect(envelopes.length).toBeGreaterThanOrEqual(5);
    for (const envelope of envelopes) expectNotServed(envelope);

    expect(JSON.parse(read(config, 'projects/p1.json')).name).toBe('P2');
    expect(JSON.parse(read(config, 'tasks/p1/t1.json')).title).toBe('T1 renamed');
    expect(JSON.parse(read(config, 'sessions/s1.json')).status).toBe('working');
    expect(JSON.parse(read(config, 'templates/tm1.json')).content).toBe('new content');
    expect(JSON.parse(read(config, 'queues/s1.json')).items).toHaveLength(1);
    for (const rel of Object.keys(files)) expectKeptByteForByte(config, rel);

    // A restart (the "older" server again) keeps them and still does not serve them.
    await api.close();
    api = await startApi(config);
    for (const rel of Object.keys(files)) expectKeptByteForByte(config, rel);
    expectNotServed((await api.raw('GET', '/api/projects/p1')).json);
    expect(((await api.raw('GET', '/api/projects/p1')).json as { name: string }).name).toBe('P2');
  });

  it('leave with a deleted entity and never come back to a new one of the same id', async () => {
    const config = testConfig();
    writeFiles(config.dataDir);
    api = await startApi(config);
    expect((await api.raw('DELETE', '/api/sessions/s1')).status).toBe(200);
    expect(fs.existsSync(path.join(config.dataDir, 'sessions/s1.json'))).toBe(false);
    // E14 accepts a client-chosen id: the new session s1 is a new entity.
    const created = await api.json('POST', '/api/sessions', { id: 's1', projectId: 'p1', taskIds: [] });
    expect(created.status, created.text).toBe(201);
    const stored = JSON.parse(read(config, 'sessions/s1.json')) as Record<string, unknown>;
    for (const key of Object.keys(NEWER)) expect(stored).not.toHaveProperty(key);
  });
});
