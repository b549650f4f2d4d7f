/**
 * The startup load reads large folders on a reader thread (src/store/parallel-read.ts); the result must be the
 * same as reading on the main thread: order ("first one wins"), quarantine of bad files, link data.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { ParallelReader } from '../../src/store/parallel-read.js';
import { Store } from '../../src/store/store.js';
import { cleanupTempDirs, project, recordingLogger, session, task, tempDir } from './helpers.js';

afterEach(cleanupTempDirs);

const serialize = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

describe('startup load with read-ahead (≥ 2000 files in a folder group)', () => {
  it('loads every task and session, quarantines the bad files, keeps the first of a duplicate id', async () => {
    const dataDir = await tempDir();
    await mkdir(join(dataDir, 'projects'), { recursive: true });
    await mkdir(join(dataDir, 'sessions'), { recursive: true });
    for (const p of ['pa', 'pb']) {
      await writeFile(join(dataDir, 'projects', `${p}.json`), serialize(project(p)));
      await mkdir(join(dataDir, 'tasks', p), { recursive: true });
    }
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 1500; i++) {
      for (const p of ['pa', 'pb']) {
        const id = `t_${p}_${String(i).padStart(4, '0')}`;
        writes.push(writeFile(join(dataDir, 'tasks', p, `${id}.json`), serialize(task(id, p, { title: `Task ${i}`, sessionIds: i === 7 ? ['s1'] : [] }))));
      }
    }
    for (let i = 0; i < 2100; i++) {
      const id = `s${i}`;
      writes.push(writeFile(join(dataDir, 'sessions', `${id}.json`), serialize(session(id, 'pa', { taskIds: i === 1 ? ['t_pa_0007', 't_pb_0007'] : [] }))));
    }
    await Promise.all(writes);
    await writeFile(join(dataDir, 'tasks', 'pa', 't_pa_0100.json'), '{ not json');
    await writeFile(join(dataDir, 'sessions', 's5.json'), '[1, 2]');
    // Same id in the legacy place (read after the project folders): the one in its folder wins.
    await writeFile(join(dataDir, 'tasks', 't_pb_0001.json'), serialize(task('t_pb_0001', 'pb', { title: 'legacy copy' })));

    const logger = recordingLogger();
    const store = await Store.open({ dataDir, logger, clock: new ManualClock(1_800_000_000_000), hostname: 'h', platform: 'p' });
    expect(store.listTasks({}).length).toBe(2999);
    expect(store.listSessions({}).length).toBe(2099);
    expect(store.getTask('t_pa_0100')).toBeUndefined();
    expect(store.getTask('t_pb_0001')!.title).toBe('Task 1');
    expect(store.getTask('t_pa_1499')!.title).toBe('Task 1499');
    expect(store.getSession('s1')!.taskIds).toEqual(['t_pa_0007', 't_pb_0007']);
    // Link repair saw the read-ahead data: s1 ↔ t_pb_0007 was recorded on one side only.
    expect(store.getTask('t_pb_0007')!.sessionIds).toEqual(['s1']);
    expect(store.quarantinedCount).toBe(2);
    expect(store.isSessionIdTaken('s5')).toBe(true);
    expect((await readdir(join(dataDir, 'quarantine', 'tasks', 'pa'))).length).toBe(1);
    await store.close();
  });

  it('ParallelReader answers every index in order, and undefined for a file it could not read', async () => {
    const dir = await tempDir();
    const paths: string[] = [];
    for (let i = 0; i < 1203; i++) {
      const path = join(dir, `f${i}.txt`);
      await writeFile(path, `content ${i}`);
      paths.push(path);
    }
    paths.push(join(dir, 'missing.txt'));
    const reader = new ParallelReader(paths, 2);
    const texts = await Promise.all(paths.map((_, i) => reader.text(i)));
    await reader.close();
    expect(texts.slice(0, 1203)).toEqual(paths.slice(0, 1203).map((_, i) => `content ${i}`));
    expect(texts[1203]).toBeUndefined();
  });

  it('ParallelReader take/arrived: UTF-8 texts exactly, empty files, each file handed over once, in any chunk', async () => {
    const dir = await tempDir();
    const contents: string[] = [];
    const paths: string[] = [];
    for (let i = 0; i < 1100; i++) {
      // Multi-byte characters, a BOM, an empty file and one larger than a chunk's first buffer (64 KiB).
      const text = i === 3 ? '' : i === 4 ? '\ufeff{"a":1}' : i === 600 ? 'x'.repeat(300_000) : `{"n":${i},"s":"é ✓ 😀 ${i}"}`;
      const path = join(dir, `f${i}.json`);
      await writeFile(path, text);
      contents.push(text);
      paths.push(path);
    }
    paths.splice(10, 0, join(dir, 'missing.json'));
    contents.splice(10, 0, '');
    const reader = new ParallelReader(paths);
    const got: (string | null)[] = [];
    for (let i = 0; i < paths.length; i++) {
      let t = reader.take(i);
      if (t === undefined) {
        await reader.arrived(i);
        t = reader.take(i);
      }
      expect(t).not.toBeUndefined();
      got.push(t!);
    }
    expect(reader.take(5)).toBeNull(); // already handed over
    await reader.close();
    expect(got[10]).toBeNull();
    got.splice(10, 1);
    contents.splice(10, 1);
    expect(got).toEqual(contents);
  });
});
