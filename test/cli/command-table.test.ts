/**
 * codegen/emit-cli.ts on the repository's spec, read in memory: the table it emits is the committed one, and a
 * spec it cannot turn into distinct commands (two operations with one name, no tag) stops codegen with a message.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readCliTable } from '../../codegen/emit-cli.js';
import { loadSpec, type LoadedSpec } from '../../codegen/load-spec.js';
import { commands, groups } from '../../generated/cli/commands.js';
import { REPO } from './helpers.js';

let spec: LoadedSpec;
beforeAll(() => {
  spec = loadSpec({ root: REPO });
});

function withOperation(path: string, operation: Record<string, unknown>): LoadedSpec {
  const paths = { ...(spec.openapi.paths as Record<string, unknown>), [path]: { get: operation } };
  return { ...spec, openapi: { ...spec.openapi, paths } };
}

const ok = { 'x-emits': [], responses: { '200': { description: 'ok' } } };

describe('the command table', () => {
  it('is the committed one: one command per operation, groups in tag order', () => {
    const table = readCliTable(spec);
    expect(table.commands).toEqual(commands);
    expect(table.groups).toEqual(groups);
    expect(table.groups.map((g) => g.name)).toEqual(['projects', 'tasks', 'sessions', 'skills', 'queue', 'templates', 'health']);
  });

  it('a body property named like a global flag gets the body- prefix', () => {
    const addEvent = commands.find((c) => c.operationId === 'addSessionEvent')!;
    expect(addEvent.flags.map((f) => f.flag)).toEqual(['id', 'type', 'body-data']);
  });

  it('two operations that would share a command stop codegen', () => {
    const clash = withOperation('/api/tasks-again', { ...ok, operationId: 'listTask', tags: ['tasks'], summary: 's' });
    expect(() => readCliTable(clash)).toThrow('operations listTask and listTasks both become the CLI command "tasks list"');
  });

  it('an operation without a tag stops codegen', () => {
    expect(() => readCliTable(withOperation('/api/untagged', { ...ok, operationId: 'getUntagged', summary: 's' }))).toThrow(
      'getUntagged: no tag',
    );
  });
});
