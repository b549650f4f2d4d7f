/**
 * Checks shared by the spawn audits (spawn-cli-lock, spawn-concurrency): the events of a committed spawn, in the
 * order of docs/behaviour.md §8.3 step 5, and what it leaves in SESSION_DIR (only its own manifest: every folder of
 * an earlier attempt is gone, §8.6).
 */
import fs from 'node:fs';
import { expect } from 'vitest';
import { listFiles } from '../support/temp.js';

/** A received WebSocket envelope, as both the audit server and the api harness record it. */
interface ReceivedEvent {
  event: string;
  data: any;
}

/** §8.3 step 5: `session:spawn` → `task:session_added` per task → `queue:created` (strategy `queue` only). */
export function spawnEventNames(spawn: { taskIds: readonly string[]; strategy?: string }): string[] {
  return [
    'session:spawn',
    ...spawn.taskIds.map(() => 'task:session_added'),
    ...(spawn.strategy === 'queue' ? ['queue:created'] : []),
  ];
}

/**
 * `events` are exactly the `before` events, then the events of the spawn that answered `answer`; its
 * `session:spawn` carries the manifest exactly as it is on disk, and SESSION_DIR holds that manifest and nothing
 * else. Returns the manifest.
 */
export function expectSpawnCommitted(
  events: readonly ReceivedEvent[],
  expected: {
    before: readonly string[];
    spawn: { taskIds: readonly string[]; strategy?: string };
    answer: { sessionId: string; manifestPath: string };
    sessionDir: string;
  },
): any {
  expect(events.map((e) => e.event)).toEqual([...expected.before, ...spawnEventNames(expected.spawn)]);
  const manifest = JSON.parse(fs.readFileSync(expected.answer.manifestPath, 'utf8'));
  const spawnEvent = events[expected.before.length]!;
  expect(spawnEvent.data.session.id).toBe(expected.answer.sessionId);
  expect(spawnEvent.data.manifest).toEqual(manifest);
  expect(listFiles(expected.sessionDir)).toEqual([`${expected.answer.sessionId}/manifest.json`]);
  return manifest;
}
