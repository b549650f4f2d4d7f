/**
 * The plan of a commit round (src/store/round-plan.ts): which files a round writes or removes, with what content,
 * in which phase. Every round writer carries out this plan (the per-file writer today, a write-ahead log later),
 * so its order rules are checked here on their own: a queue is written after its session and removed before it,
 * removals come after writes, an unchanged entity writes nothing, a moved file is removed from its old path.
 */
import { describe, expect, it } from 'vitest';
import type { AnyEntity, EntityKind } from '../../src/store/entities.js';
import { serializeEntity } from '../../src/store/entities.js';
import { Layout } from '../../src/store/layout.js';
import { markReached, planRound, type FileOp } from '../../src/store/round-plan.js';
import { newTouch, type Touch } from '../../src/store/touch.js';
import { project, queue, session, task } from './helpers.js';

const layout = new Layout('/data');

/** The plan for touches whose current states are `now` (by kind + id). */
function plan(touches: Touch[], now: Record<string, AnyEntity | undefined>) {
  return planRound(touches, (kind: EntityKind, id: string) => now[`${kind}:${id}`], layout);
}

const ops = (list: FileOp[]) => list.map((o) => `${o.op} ${o.path.slice('/data/'.length)}`);

describe('planRound', () => {
  it('writes sessions, tasks and projects first and queues second; removes queues first and the rest second', () => {
    const s = session('s1', 'p1');
    const q = queue('s1');
    const gone = session('s2', 'p1');
    const goneQueue = queue('s2');
    const touches = [newTouch('queue', 's1', undefined), newTouch('session', 's1', undefined), newTouch('session', 's2', gone), newTouch('queue', 's2', goneQueue)];
    const p = plan(touches, { 'queue:s1': q, 'session:s1': s, 'session:s2': undefined, 'queue:s2': undefined });
    expect(ops(p.first)).toEqual(['write sessions/s1.json', 'remove queues/s2.json']);
    expect(ops(p.second)).toEqual(['write queues/s1.json', 'remove sessions/s2.json']);
    expect(p.first[0]!.text).toBe(serializeEntity(s));
    expect(p.second[0]!.text).toBe(serializeEntity(q));
  });

  it('an entity whose file already holds its current state plans nothing, but is still reached', () => {
    const p1 = project('p1');
    const touch = newTouch('project', 'p1', p1);
    const p = plan([touch], { 'project:p1': p1 });
    expect([...p.first, ...p.second]).toEqual([]);
    expect(p.reached).toEqual([{ touch, state: p1 }]);
  });

  it('a task that moves to another project is written at its new path and removed from the old one afterwards', () => {
    const before = task('t1', 'p1');
    const after = { ...before, projectId: 'p2' };
    const p = plan([newTouch('task', 't1', before)], { 'task:t1': after });
    expect(ops(p.first)).toEqual(['write tasks/p2/t1.json']);
    expect(ops(p.second)).toEqual(['remove tasks/p1/t1.json']);
  });

  it('a deleted project is removed in the second phase and named for the folder clean-up', () => {
    const p = plan([newTouch('project', 'p1', project('p1')), newTouch('project', 'p2', undefined)], { 'project:p2': project('p2') });
    expect(ops(p.first)).toEqual(['write projects/p2.json']);
    expect(ops(p.second)).toEqual(['remove projects/p1.json']);
    expect(p.deletedProjects).toEqual(['p1']);
  });

  it('the plan reads the state when it is made, and markReached records it on the touches', () => {
    const touch = newTouch('project', 'p1', undefined);
    const now: Record<string, AnyEntity | undefined> = { 'project:p1': project('p1', { name: 'first' }) };
    const p = plan([touch], now);
    now['project:p1'] = project('p1', { name: 'later' });
    expect(JSON.parse(p.first[0]!.text!).name).toBe('first');
    expect(touch.onDisk).toBeUndefined();
    markReached(p);
    expect((touch.onDisk as { name: string }).name).toBe('first');
    expect(touch.dirty).toBe(false);
  });
});
