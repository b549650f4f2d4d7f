/** The readable views of src/cli/output.ts: decorated on a terminal, plain when piped; --json exact. */
import { describe, expect, it } from 'vitest';
import { formatJson, formatResult } from '../../src/cli/output.js';

const rows = [
  { id: 'task_1', projectId: 'p', title: 'A title that is much longer than forty characters, surely', status: 'todo', tags: ['x'] },
  { id: 'task_2', projectId: 'p', title: 'Short', status: 'completed', tags: [] },
];

describe('output', () => {
  it('a list is a table: identifying columns first, arrays left out; cut and bold only on a terminal', () => {
    const plain = formatResult(rows, { tty: false });
    expect(plain).toBe(
      [
        'ID      TITLE                                                      STATUS     PROJECTID',
        'task_1  A title that is much longer than forty characters, surely  todo       p',
        'task_2  Short                                                      completed  p',
        '',
      ].join('\n'),
    );
    const tty = formatResult(rows, { tty: true, columns: 80 });
    expect(tty.startsWith('\u001b[1mID')).toBe(true);
    expect(tty).toContain('A title that is much longer than forty …');
    expect(formatResult([], { tty: true })).toBe('(none)\n');
    expect(formatResult([], { tty: false })).toBe('');
  });

  it('an object is key: value lines; nested values as JSON', () => {
    expect(formatResult({ id: 'p', env: { A: '1' }, n: null }, { tty: false })).toBe('id:  p\nenv: {"A":"1"}\nn:   null\n');
  });

  it('--json is the value itself: indented on a terminal, one line when piped', () => {
    const value = { id: 'x', list: [1, 2], nested: { a: null } };
    expect(JSON.parse(formatJson(value, { tty: false }))).toEqual(value);
    expect(formatJson(value, { tty: false })).toBe('{"id":"x","list":[1,2],"nested":{"a":null}}\n');
    expect(formatJson(value, { tty: true })).toBe(`${JSON.stringify(value, null, 2)}\n`);
  });
});
