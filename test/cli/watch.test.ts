/**
 * `maestro-api watch` as a child process against the real server: it prints the events of a change made by
 * another `maestro-api` command (one JSON line each with --json), filtered by --event and --project-id, and after
 * the server restarts on the same port it reconnects and goes on.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Api } from '../api/harness.js';
import { testConfig } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { CLI_BUNDLE, REPO, buildCliBundle, runCli } from './helpers.js';

interface Watcher {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startWatch(args: string[], env: Record<string, string>): Watcher {
  const child = spawn(process.execPath, [CLI_BUNDLE, 'watch', ...args], { cwd: REPO, env: { PATH: process.env.PATH ?? '', ...env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits until `check()` holds (10 s unless `ms` says otherwise). */
const until = (what: string, check: () => boolean, ms = 10_000): Promise<void> => waitFor(check, ms, what);

let api: Api;
beforeAll(async () => {
  buildCliBundle();
  api = await startApi(testConfig());
});
afterAll(async () => api.close());

describe('maestro-api watch', () => {
  it('streams the events of changes made by other commands, filtered, and reconnects after a restart', async () => {
    const env = { MAESTRO_URL: api.server.url };
    const mine = JSON.parse((await runCli(['projects', 'create', '--name', 'Mine', '--json'], { env })).stdout);
    const other = JSON.parse((await runCli(['projects', 'create', '--name', 'Other', '--json'], { env })).stdout);
    const existing = JSON.parse((await runCli(['tasks', 'create', '--project-id', mine.id, '--title', 'before the watch', '--json'], { env })).stdout);

    const watch = startWatch(['--json', '--event', 'task:*', '--project-id', mine.id], env);
    try {
      await until('connected', () => watch.stderr().includes('connected to ws://'));
      const created = JSON.parse((await runCli(['tasks', 'create', '--project-id', mine.id, '--title', 'watched', '--json'], { env })).stdout);
      await runCli(['tasks', 'create', '--project-id', other.id, '--title', 'not mine'], { env });
      await runCli(['projects', 'update', '--id', mine.id, '--description', 'not a task event'], { env });
      // An id-only event about a task that existed before the watch started (learnt over REST on connect).
      await runCli(['tasks', 'delete', '--id', existing.id], { env });
      // The positive signal that every event above has been through the filter: one more that passes it, sent
      // after them all (the server broadcasts in order on the one connection), printed last.
      const marker = JSON.parse((await runCli(['tasks', 'create', '--project-id', mine.id, '--title', 'marker', '--json'], { env })).stdout);
      await until('the marker event', () => watch.stdout().includes(marker.id));
      const lines = watch.stdout().trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((e) => e.event)).toEqual(['task:created', 'task:deleted', 'task:created']);
      expect(lines[0]).toMatchObject({ type: 'task:created', event: 'task:created', data: created });
      expect(lines[1].data).toEqual({ id: existing.id });
      expect(lines[2].data).toMatchObject({ id: marker.id, title: 'marker' });
      expect(typeof lines[0].timestamp).toBe('number');

      // Restart the server on the same port: the watch reconnects (back-off starts at 1 s) and resumes.
      const { config, server } = api;
      await api.close();
      await until('connection lost', () => watch.stderr().includes('connection lost'));
      api = await startApi({ ...config, port: server.port });
      await until('reconnected', () => watch.stderr().includes('reconnected to ws://'), 15_000);
      const after = JSON.parse((await runCli(['tasks', 'create', '--project-id', mine.id, '--title', 'after the restart', '--json'], { env })).stdout);
      await until('the event after the restart', () => watch.stdout().includes(after.id));
      expect(JSON.parse(watch.stdout().trimEnd().split('\n').at(-1)!)).toMatchObject({ event: 'task:created', data: { id: after.id } });
    } finally {
      watch.child.kill('SIGINT');
    }
    expect(await watch.exited).toBe(0);
  }, 60_000);

  it('without --json: one plain line per event (time, name, data) when stdout is not a TTY', async () => {
    const env = { MAESTRO_URL: api.server.url };
    const watch = startWatch(['--event', 'project:created'], env);
    try {
      await until('connected', () => watch.stderr().includes('connected to ws://'));
      await runCli(['projects', 'create', '--name', 'Plain'], { env });
      await until('a line', () => watch.stdout().includes('\n'));
      expect(watch.stdout()).toMatch(/^\d{4}-\d\d-\d\dT\S+Z project:created \{"id":"proj_[^"]+","name":"Plain"/);
      expect(watch.stdout()).not.toContain('\u001b[');
    } finally {
      watch.child.kill('SIGINT');
    }
    expect(await watch.exited).toBe(0);
  }, 30_000);
});
