/**
 * generated/model (codegen/emit-model.ts): what it emits follows the schemas, a new plain field reaches the
 * create/update functions, and a spec the model cannot serve stops codegen with a message that says why.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generate } from '../../codegen/generate.js';
import * as model from '../../generated/model/index.js';
import { REPO } from './helpers.js';

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function readSchema(rel: string): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(REPO, 'schemas', rel), 'utf8'));
}

/** A copy of the repository's schemas/ and spec/ that a test may change. */
function specCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maestro-model-'));
  temps.push(dir);
  for (const sub of ['schemas', 'spec']) fs.cpSync(path.join(REPO, sub), path.join(dir, sub), { recursive: true });
  return dir;
}

function editSchema(root: string, rel: string, edit: (schema: Record<string, any>) => void): void {
  const file = path.join(root, 'schemas', rel);
  const schema = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(schema);
  fs.writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
}

async function modelText(root: string): Promise<string> {
  const files = await generate({ root, promptsDir: path.join(REPO, 'templates/prompts') });
  return files.get('model/index.ts')!;
}

describe('generated/model follows the schemas', () => {
  it('lists every stored entity with exactly its schema keys, shapes and defaults', () => {
    const stored = fs
      .readdirSync(path.join(REPO, 'schemas/entities'))
      .map((f) => readSchema(`entities/${f}`))
      .filter((s) => s['x-stored-as'] !== undefined);
    expect(stored.map((s) => s['x-stored-as']).sort()).toEqual([...model.storedKinds]);
    for (const schema of stored) {
      const kind = schema['x-stored-as'] as model.StoredKind;
      expect(model.entityKeys[kind], kind).toEqual(Object.keys(schema.properties));
      const fields = model.entityFields[kind] as Record<string, model.FieldShape>;
      for (const [key, property] of Object.entries<Record<string, unknown>>(schema.properties)) {
        expect(fields[key]!.required, `${kind}.${key}`).toBe(schema.required.includes(key));
        expect(fields[key]!.default, `${kind}.${key}`).toEqual(property.default);
      }
    }
  });

  it('lists every common enum with its values in schema order', () => {
    for (const file of fs.readdirSync(path.join(REPO, 'schemas/common'))) {
      const schema = readSchema(`common/${file}`);
      if (!Array.isArray(schema.enum)) continue;
      expect((model as Record<string, unknown>)[`${schema.title}Values`], file).toEqual(schema.enum);
    }
    expect(model.SessionStatusGroups.terminal).toEqual(readSchema('common/session-status.json')['x-value-groups'].terminal);
  });

  it('builds and updates entities from requests: request value, else request default, else entity default', () => {
    expect(model.projectFromCreate({ name: 'n' })).toEqual({ name: 'n', workingDir: '', description: '' });
    expect(model.taskFromCreate({ projectId: 'p', title: 't', model: 'opus' })).toMatchObject({
      status: 'todo', priority: 'medium', parentId: null, sessionIds: [], model: 'opus',
    });
    expect(model.taskFromCreate({ projectId: 'p', title: 't' })).not.toHaveProperty('model');
    // Fresh arrays on every call: one entity's list is never another's.
    expect(model.taskFromCreate({ projectId: 'p', title: 't' }).skillIds).not.toBe(model.taskFromCreate({ projectId: 'p', title: 't' }).skillIds);
    const current = { id: 'p', ...model.projectDefaults(), name: 'a', workingDir: 'w', description: 'd', createdAt: 1, updatedAt: 1 };
    expect(model.projectWithUpdate(current, { description: 'x' })).toEqual({ ...current, description: 'x' });
    expect(current.description).toBe('d');
  });
});

describe('emit-model on a changed spec', () => {
  it('a new plain field reaches the create and update functions with no other change', async () => {
    const root = specCopy();
    editSchema(root, 'entities/project.json', (s) => {
      s.properties.color = { type: 'string', default: '#808080' };
      s.required.push('color');
    });
    for (const rel of ['requests/project-create.json', 'requests/project-update.json']) {
      editSchema(root, rel, (s) => {
        s.properties.color = { type: 'string' };
        if (Array.isArray(s['x-validation-order'])) s['x-validation-order'].push('color');
      });
    }
    const text = await modelText(root);
    expect(text).toContain('color: body.color ?? "#808080",');
    expect(text).toContain('if (body.color !== undefined) next.color = body.color;');
    expect(text).toMatch(/project: \[[^\]]*"color"\]/);
  });

  it('stops when a required entity key is optional in its create request and has no default', async () => {
    const root = specCopy();
    editSchema(root, 'entities/project.json', (s) => {
      s.properties.color = { type: 'string' };
      s.required.push('color');
    });
    editSchema(root, 'requests/project-create.json', (s) => {
      s.properties.color = { type: 'string' };
      s['x-validation-order'].push('color');
    });
    await expect(modelText(root)).rejects.toThrow(/color is optional in the request but required in schemas\/entities\/project\.json and has no default/);
  });

  it('stops on an x-apply it does not know and on a default that does not fit its schema', async () => {
    const bad = specCopy();
    editSchema(bad, 'requests/task-update.json', (s) => {
      s.else.properties.title['x-apply'] = 'later';
    });
    await expect(modelText(bad)).rejects.toThrow(/x-apply "later"/);
    const wrongDefault = specCopy();
    editSchema(wrongDefault, 'entities/task.json', (s) => {
      s.properties.priority.default = 'urgent';
    });
    await expect(modelText(wrongDefault)).rejects.toThrow(/the default of priority does not fit/);
  });
});
