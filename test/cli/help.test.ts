/**
 * `maestro-api --help` at every level, checked against spec/openapi.yaml read here (not through the generator):
 * every tag is a group with its description, every operation a command whose help carries its summary,
 * description, request line, and a flag for each path/query parameter and top-level body property (enums with
 * their values). Per-command help runs in-process (runCli, the bin's code with its input/output handed in); the
 * root and a group also through the bin and `npm run api`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createClient } from '../../generated/client/index.js';
import { commands, groups, info } from '../../generated/cli/commands.js';
import { commandName, kebab } from '../../codegen/emit-cli.js';
import { runCli as runInProcess } from '../../src/cli/run.js';
import { REPO, buildCliBundle, runCli } from './helpers.js';

type Json = Record<string, any>;
const spec = parse(fs.readFileSync(path.join(REPO, 'spec/openapi.yaml'), 'utf8')) as Json;

function schemaAt(ref: string, from: string): Json {
  const file = path.resolve(path.dirname(from), ref);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
}

/** The body properties of a request schema, branches (then/else/anyOf) included. */
function bodyProperties(schema: Json): Json {
  const out: Json = {};
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as Json;
    for (const [k, v] of Object.entries(n.properties ?? {})) if (!(k in out)) out[k] = v;
    for (const key of ['allOf', 'anyOf', 'oneOf', 'then', 'else']) [n[key]].flat().forEach(visit);
  };
  visit(schema);
  return out;
}

const flat = (text: string): string => text.replace(/\s+/g, ' ');

async function help(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runInProcess(
    { info, groups, commands, createClient, ApiError },
    {
      argv: args,
      env: {},
      stdout: { write: (t: string) => (out += t), isTTY: false },
      stderr: { write: (t: string) => (err += t), isTTY: false },
      readFile: async () => '',
      readStdin: async () => '',
      stop: new Promise(() => undefined),
      WebSocket: undefined as never,
    },
  );
  return { code, out, err };
}

interface SpecOperation {
  method: string;
  path: string;
  op: Json;
  pathItem: Json;
}

const operations: SpecOperation[] = Object.entries(spec.paths as Json).flatMap(([p, item]) =>
  ['get', 'post', 'put', 'patch', 'delete'].filter((m) => item[m] && item[m]['x-static'] !== true).map((m) => ({ method: m, path: p, op: item[m], pathItem: item })),
);

describe('maestro-api --help follows the spec', { timeout: 60_000 }, () => {
  beforeAll(() => buildCliBundle());

  it('names commands from tag and operationId', () => {
    expect(commandName('listTasks', 'tasks')).toEqual({ group: 'tasks', name: 'list' });
    expect(commandName('createTask', 'tasks')).toEqual({ group: 'tasks', name: 'create' });
    expect(commandName('spawnSession', 'spawn')).toEqual({ group: 'sessions', name: 'spawn' });
    expect(commandName('addTaskToSession', 'sessions')).toEqual({ group: 'sessions', name: 'add-task' });
    expect(commandName('addTaskTimelineEntry', 'tasks')).toEqual({ group: 'tasks', name: 'add-timeline-entry' });
    expect(commandName('startQueueItem', 'queue')).toEqual({ group: 'queue', name: 'start-item' });
    expect(commandName('getWsStatus', 'health')).toEqual({ group: 'health', name: 'get-ws-status' });
    expect(commands).toHaveLength(operations.length);
  });

  it('the root help lists every tag with its description; a group lists its commands with their summaries', async () => {
    const root = await runCli(['--help']);
    expect(root.code).toBe(0);
    for (const tag of spec.tags as Json[]) {
      if (!operations.some((o) => o.op.tags[0] === tag.name && commandName(o.op.operationId, tag.name).group === tag.name)) continue;
      expect(flat(root.stdout)).toContain(`${tag.name} ${flat(tag.description)}`);
    }
    expect(root.stdout).toContain('watch');
    expect(root.stdout).toMatch(/Exit codes:\s+0 success, 1 API error \(CODE: message on stderr\), 2 usage error, 3 server unreachable/);
    for (const group of groups) {
      const out = (await help([group.name, '--help'])).out;
      for (const c of commands.filter((x) => x.group === group.name)) {
        const op = operations.find((o) => o.op.operationId === c.operationId)!;
        const listed = [`${c.name} [options] ${op.op.summary}`, `${c.name} ${op.op.summary}`];
        expect(listed.some((line) => flat(out).includes(line)), `${group.name} ${c.name}`).toBe(true);
      }
    }
    // the bin launcher and the npm script print the same root help
    const viaBin = await runCli(['--help'], { command: [path.join(REPO, 'bin/maestro-api.mjs')] });
    expect(viaBin.stdout).toBe(root.stdout);
  });

  it('`npm run api -- …` runs the CLI inside the repo', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('npm', ['run', '-s', 'api', '--', 'tasks', '--help'], { cwd: REPO });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (text += c));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
    });
    expect(out).toMatch(/^Usage: maestro-api tasks \[options\] \[command\]/);
  });

  it('every operation: summary, description, request line and one flag per parameter and body field', async () => {
    for (const { method, path: p, op, pathItem } of operations) {
      const { group, name } = commandName(op.operationId, op.tags[0]);
      const { code, out } = await help([group, name, '--help']);
      expect(code, `${group} ${name}`).toBe(0);
      const text = flat(out);
      expect(out.startsWith(`Usage: maestro-api ${group} ${name} [options]`)).toBe(true);
      expect(text).toContain(flat(op.summary));
      if (op.description) expect(text).toContain(flat(op.description));
      const success = Object.keys(op.responses).filter((s) => /^2/.test(s)).sort()[0];
      expect(text).toContain(`Request: ${method.toUpperCase()} ${p} → ${success}`);
      for (const param of [...(pathItem.parameters ?? []), ...(op.parameters ?? [])]) {
        expect(text, `${op.operationId} ${param.name}`).toContain(`--${kebab(param.name)} <`);
        if (param.description) expect(text).toContain(flat(param.description));
      }
      const ref = op.requestBody?.content?.['application/json']?.schema?.$ref;
      if (ref) {
        expect(text).toContain('--data <json|@file|->');
        const schemaFile = path.resolve(REPO, 'spec', ref);
        for (const [prop, node] of Object.entries(bodyProperties(schemaAt(schemaFile, schemaFile)))) {
          const flag = ['data', 'url', 'token', 'json'].includes(kebab(prop)) ? `body-${kebab(prop)}` : kebab(prop);
          expect(text, `${op.operationId} ${prop}`).toContain(`--${flag} <`);
          const target = (node as Json).$ref ? schemaAt((node as Json).$ref, schemaFile) : (node as Json);
          if (Array.isArray(target.enum)) expect(text, `${op.operationId} ${prop}`).toContain(`choices: ${target.enum.map((v: string) => `"${v}"`).join(', ')}`);
          if (typeof (node as Json).description === 'string') expect(text).toContain(flat((node as Json).description));
        }
      }
    }
  }, 60_000);
});
