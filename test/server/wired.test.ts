/** startServer with its real defaults: the file store, the generated router, the handlers of src/handlers/. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { apiRoutes } from '../../generated/routes/router.js';
import { collect, openClient } from '../support/ws.js';
import { JSON_CT, rawRequest } from '../support/http.js';
import { startInProcess, type InProcessServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

describe('the wired server', () => {
  let s: InProcessServer;
  let dataDir: string;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    // No deps but the (silent) logger: the real file store, router and handlers.
    s = await startInProcess({ env: { NODE_ENV: 'test' } });
    dataDir = s.dataDir;
  });
  afterAll(async () => {
    for (const c of clients) c.terminate();
    await s.close();
  });

  it('serves /health and /ws-status through the generated router', async () => {
    const health = await rawRequest(s.port, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.headers['content-type']).toBe(JSON_CT);
    expect(health.json).toMatchObject({ status: 'ok', storage: { quarantined: 0 } });
    const ws = await rawRequest(s.port, 'GET', '/ws-status/');
    expect(ws.json).toEqual({ connectedClients: 0, clients: [] });
  });

  it('a mutation is written to DATA_DIR, broadcast (catalogue-valid) and answered', async () => {
    const ws = await openClient(s.port);
    clients.push(ws);
    const got = collect(ws);
    const res = await rawRequest(s.port, 'POST', '/api/projects', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Wired', workingDir: '/tmp/w' }),
    });
    expect(res.status).toBe(201);
    const project = res.json as { id: string; name: string };
    expect(project.name).toBe('Wired');
    expect(fs.existsSync(path.join(dataDir, 'projects', `${project.id}.json`))).toBe(true);
    await waitFor(() => got.length === 1, 2000, 'project:created');
    expect(got[0]).toMatchObject({ type: 'project:created', event: 'project:created', data: project });
    const list = await rawRequest(s.port, 'GET', '/api/projects');
    expect(list.json).toEqual([project]);
  });

  it('protocol errors and unknown routes come back in the error format', async () => {
    const bad = await rawRequest(s.port, 'POST', '/api/projects', { headers: { 'Content-Type': 'application/json' }, body: '{oops' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: true, code: 'VALIDATION_ERROR' });
    const nope = await rawRequest(s.port, 'PATCH', '/api/projects');
    expect(nope.status).toBe(404);
    expect(nope.json).toEqual({ error: true, code: 'NOT_FOUND', message: 'Route not found: PATCH /api/projects' });
    const missing = await rawRequest(s.port, 'GET', '/api/projects/nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error: true, code: 'PROJECT_NOT_FOUND' });
  });

  it('default templates are seeded at start', async () => {
    const res = await rawRequest(s.port, 'GET', '/api/templates');
    const roles = (res.json as Array<{ role: string; isDefault: boolean }>).map((t) => [t.role, t.isDefault]);
    expect(roles.sort()).toEqual([
      ['orchestrator', true],
      ['worker', true],
    ]);
  });

  it('every operation of the spec has a handler: none answers 501, none answers 5xx to an empty request', async () => {
    for (const op of apiRoutes) {
      const p = op.path.replace(/\{[^}]+\}/g, 'unknown-id');
      const res = await rawRequest(s.port, op.method.toUpperCase(), p, {
        headers: { 'Content-Type': 'application/json' },
        body: op.method === 'get' || op.method === 'delete' ? undefined : '{}',
      });
      expect(res.status, `${op.operationId} ${p}`).toBeLessThan(500);
      expect(res.headers['content-type']).toBe(JSON_CT);
    }
  });
});
