import { describe, expect, it } from 'vitest';
import { GENERATED_ID_PATTERN, isUnsafeId, isValidClientSessionId, newId } from '../../src/ids.js';
import { ManualClock, systemClock } from '../../src/clock.js';

describe('newId (docs/behaviour.md §0.1)', () => {
  it('has the prefix, the milliseconds and 9 characters of [0-9a-z]', () => {
    for (const prefix of ['proj', 'task', 'sess', 'evt', 'tmpl'] as const) {
      const id = newId(prefix, undefined, 1_700_000_000_123);
      expect(id).toMatch(new RegExp(`^${prefix}_1700000000123_[0-9a-z]{9}$`));
      expect(id).toMatch(GENERATED_ID_PATTERN);
    }
  });

  it('uses the wall clock by default', () => {
    const before = Date.now();
    const ms = Number(newId('task').split('_')[1]);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });

  it('is random: 2000 ids are distinct and use the whole alphabet', () => {
    const ids = Array.from({ length: 2000 }, () => newId('evt', undefined, 5));
    expect(new Set(ids).size).toBe(ids.length);
    const chars = new Set(ids.flatMap((id) => [...id.slice(-9)]));
    expect(chars.size).toBe(36);
  });

  it('regenerates while the id is taken', () => {
    const seen: string[] = [];
    const id = newId('proj', (candidate) => {
      seen.push(candidate);
      return seen.length < 4;
    });
    expect(seen).toHaveLength(4);
    expect(id).toBe(seen[3]);
  });

  it('gives up (throws) when every id is taken instead of looping forever', () => {
    expect(() => newId('proj', () => true)).toThrow(/free proj id/);
  });
});

describe('isUnsafeId (docs/behaviour.md §5.6)', () => {
  it.each(['a/b', '../x', 'a\\b', 'a\0b', '.', '..', '', '/'])('%j is unsafe', (id) => {
    expect(isUnsafeId(id)).toBe(true);
  });
  it.each(['proj_1_abcdefghi', '...', '.hidden', 'a..b', 'x'.repeat(10_000), 'émoji🙂'])('%j is safe', (id) => {
    expect(isUnsafeId(id)).toBe(false);
  });
});

describe('isValidClientSessionId (docs/behaviour.md §0.1)', () => {
  it.each(['orch-123', 'session-1700000000000-ab12', 'A.b_c-D', 'x'.repeat(128), '...'])('%j is valid', (id) => {
    expect(isValidClientSessionId(id)).toBe(true);
  });
  it.each(['', '.', '..', 'x'.repeat(129), 'a/b', 'a b', 'a\\b', 'a\0', 'ü', 12, null, undefined])('%j is invalid', (id) => {
    expect(isValidClientSessionId(id)).toBe(false);
  });
});

describe('clock', () => {
  it('ManualClock returns its value until moved', () => {
    const c = new ManualClock(10);
    expect(c.now()).toBe(10);
    c.advance();
    expect(c.now()).toBe(11);
    c.advance(5);
    c.set(3);
    expect(c.now()).toBe(3);
  });
  it('systemClock is the wall clock', () => {
    const before = Date.now();
    const v = systemClock.now();
    expect(v).toBeGreaterThanOrEqual(before);
    expect(Number.isInteger(v)).toBe(true);
  });
});
