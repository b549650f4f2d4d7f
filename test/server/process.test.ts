/** The real entry point as a child process (test/support/server.ts): docs/behaviour.md §6.1, §6.4, §5.7. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAllChildren, spawnChild, waitForOutput } from '../support/server.js';
import { closeCode, openClient } from '../support/ws.js';

afterEach(killAllChildren);

/** The "Server running" line is logged at info. */
const INFO = { LOG_LEVEL: 'info' };

describe('bad configuration → exit 1 naming the variable (docs/behaviour.md §6.1)', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DATABASE_TYPE: 'postgres' }, 'DATABASE_TYPE=postgres is not supported yet'],
    [{ HOST: '0.0.0.0' }, 'MAESTRO_API_TOKEN or MAESTRO_ALLOW_UNAUTHENTICATED=true'],
  ])('%j', async (env, expected) => {
    const child = await spawnChild({ env: env as Record<string, string> });
    const { code } = await child.exited;
    expect(code).toBe(1);
    expect(child.output()).toContain(expected);
    expect(child.output()).toContain('CONFIG_ERROR');
    await child.close();
  });
});

describe('start and graceful stop (docs/behaviour.md §6.4, §5.7)', () => {
  it('serves /health, then SIGTERM closes WS clients with 1001 and exits 0 within 5 s', async () => {
    const child = await spawnChild({ env: { ...INFO, LOG_FORMAT: 'json' } });
    await waitForOutput(child, 'Server running');
    expect(child.output()).toContain(`http://127.0.0.1:${child.port}`);
    expect(fs.existsSync(child.sessionDir)).toBe(true);
    expect(fs.existsSync(path.join(child.dataDir, '.lock'))).toBe(true);

    const res = await fetch(`${child.baseUrl}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', storage: { quarantined: 0 } });

    const ws = await openClient(child.port);
    const wsClosed = closeCode(ws);

    const t0 = Date.now();
    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await wsClosed).code).toBe(1001);
    expect(fs.existsSync(path.join(child.dataDir, '.lock'))).toBe(false);
    await child.close();
  });

  it('a second signal during shutdown exits 1 at once', async () => {
    const child = await spawnChild({ env: INFO });
    await waitForOutput(child, 'Server running');
    // A client that does not read never answers the close handshake, so the first shutdown takes a while.
    const ws = await openClient(child.port);
    ws.pause();
    child.proc.kill('SIGTERM');
    await waitForOutput(child, 'shutting down');
    const t0 = Date.now();
    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(child.output()).toContain('second signal');
    ws.terminate();
    await child.close();
  });

  it('a second server on the same DATA_DIR refuses to start (exit 1); a taken port → exit 1', async () => {
    const first = await spawnChild({ env: INFO });
    await waitForOutput(first, 'Server running');

    const second = await spawnChild({ root: first.root, env: INFO });
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toContain('CONFIG_ERROR');
    expect(second.output()).toContain(first.dataDir);

    const third = await spawnChild({ port: first.port, env: INFO });
    expect((await third.exited).code).toBe(1);
    expect(third.output()).toContain('address already in use');
    await third.close();

    first.proc.kill('SIGINT');
    expect((await first.exited).code).toBe(0);
    await first.close();
  });
});
