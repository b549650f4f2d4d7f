/**
 * spec/asyncapi.yaml (docs/spec-conventions.md §4, docs/behaviour.md §4.4): parses with @asyncapi/parser (relative
 * `../schemas` refs resolved from the file), one message per event of docs/behaviour.md plus ping/pong, and each event
 * payload is the envelope narrowed to its name and payload schema.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Parser, fromFile, DiagnosticSeverity, type AsyncAPIDocumentInterface, type MessageInterface } from '@asyncapi/parser';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './schema-kit.js';

const file = path.join(repoRoot, 'spec', 'asyncapi.yaml');

/** docs/behaviour.md §4.4: event → payload schema file. */
const CATALOGUE: Record<string, string> = {
  'project:created': 'entities/project.json',
  'project:updated': 'entities/project.json',
  'project:deleted': 'events/id-payload.json',
  'task:created': 'entities/task.json',
  'task:updated': 'entities/task.json',
  'task:deleted': 'events/id-payload.json',
  'task:session_added': 'events/task-session-link.json',
  'task:session_removed': 'events/task-session-link.json',
  'session:created': 'entities/session.json',
  'session:spawn': 'events/spawn-request-event.json',
  'session:updated': 'entities/session.json',
  'session:deleted': 'events/id-payload.json',
  'session:task_added': 'events/session-task-link.json',
  'session:task_removed': 'events/session-task-link.json',
  'queue:created': 'events/queue-payload.json',
  'queue:updated': 'events/queue-payload.json',
  'queue:item_started': 'events/queue-item-payload.json',
  'queue:item_completed': 'events/queue-item-payload.json',
  'queue:item_failed': 'events/queue-item-failed-payload.json',
  'queue:item_skipped': 'events/queue-item-payload.json',
  'template:created': 'entities/template.json',
  'template:updated': 'entities/template.json',
  'template:deleted': 'events/id-payload.json',
};

const messageKey = (name: string) =>
  name.split(/[:_]/).map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');

let document: AsyncAPIDocumentInterface | undefined;
let errors: string[] = [];
const raw = parseYaml(readFileSync(file, 'utf8'));

beforeAll(async () => {
  const { document: doc, diagnostics } = await fromFile(new Parser(), file).parse();
  document = doc;
  errors = diagnostics
    .filter((d) => d.severity === DiagnosticSeverity.Error)
    .map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
}, 60_000);

describe('spec/asyncapi.yaml', () => {
  it('parses without errors (every relative schema reference resolves)', () => {
    expect(errors).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toBe('3.0.0');
    expect(document!.info().version()).toBe('1.2.0');
  });

  it('has one channel `events` at address `/` with a WebSocket binding', () => {
    const channels = document!.channels().all();
    expect(channels.map((c) => c.id())).toEqual(['events']);
    expect(channels[0]!.address()).toBe('/');
    expect(channels[0]!.bindings().has('ws')).toBe(true);
  });

  it('has the 23 event messages of docs/behaviour.md §4.4 plus ping and pong, keyed by camel-cased name', () => {
    const names = document!.allMessages().all().map((m) => m.name());
    expect(names).toHaveLength(25);
    expect(new Set(names)).toEqual(new Set([...Object.keys(CATALOGUE), 'ping', 'pong']));
    const keys = Object.keys(raw.components.messages);
    expect(keys.sort()).toEqual([...Object.keys(CATALOGUE).map(messageKey), 'ping', 'pong'].sort());
    for (const [key, m] of Object.entries<any>(raw.components.messages)) {
      if (key !== 'ping' && key !== 'pong') expect(messageKey(m.name)).toBe(key);
    }
  });

  it('gives each event the envelope with const type/event and the payload of docs/behaviour.md as data', () => {
    for (const [name, payloadFile] of Object.entries(CATALOGUE)) {
      const m = raw.components.messages[messageKey(name)];
      expect(m.name).toBe(name);
      expect(m.payload.allOf[0]).toEqual({ $ref: '../schemas/events/envelope.json' });
      expect(m.payload.allOf[1].properties).toEqual({
        type: { const: name },
        event: { const: name },
        data: { $ref: `../schemas/${payloadFile}` },
      });
    }
    // resolved by the parser: the data schema of session:spawn is the SpawnRequestEvent file
    const spawn = document!.allMessages().all().find((m) => m.name() === 'session:spawn')!;
    const data = spawn.payload()!.allOf()![1]!.properties()!['data']!;
    expect(data.title()).toBe('SpawnRequestEvent');
  });

  it('references ping.json and pong.json for the ping/pong exchange', () => {
    expect(raw.components.messages.ping.payload).toEqual({ $ref: '../schemas/events/ping.json' });
    expect(raw.components.messages.pong.payload).toEqual({ $ref: '../schemas/events/pong.json' });
  });

  it('has the operations receiveEvents (23 events) and sendPing (reply pong)', () => {
    const ops = Object.fromEntries(document!.operations().all().map((o) => [o.id(), o]));
    expect(Object.keys(ops).sort()).toEqual(['receiveEvents', 'sendPing']);
    const received = ops['receiveEvents']!.messages().all().map((m: MessageInterface) => m.name());
    expect(new Set(received)).toEqual(new Set(Object.keys(CATALOGUE)));
    expect(received).toHaveLength(23);
    expect(ops['sendPing']!.messages().all().map((m: MessageInterface) => m.name())).toEqual(['ping']);
    expect(ops['sendPing']!.reply()!.messages().all().map((m: MessageInterface) => m.name())).toEqual(['pong']);
    // client's point of view: events are received, ping is sent
    expect(ops['receiveEvents']!.action()).toBe('receive');
    expect(ops['sendPing']!.action()).toBe('send');
  });
});
