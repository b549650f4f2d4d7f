/**
 * The event catalogue read from spec/asyncapi.yaml (docs/spec-conventions.md §4): for each message whose
 * `name` is an event (`task:created`, …) the schema file of its `data`. `ping`/`pong` are not events.
 */
import { type LoadedSpec, type SchemaFile, SpecError, derefLocal } from './load-spec.js';
import { isObject, schemaFileForRef } from './schema-tools.js';

export interface EventModel {
  /** event name, e.g. `task:created` */
  name: string;
  /** AsyncAPI message key, e.g. `taskCreated` */
  messageKey: string;
  payload: SchemaFile;
}

export interface ControlMessageModel {
  name: string;
  messageKey: string;
  payload?: SchemaFile;
}

/** Finds `properties.data` in a message payload (directly or in an `allOf` branch). */
function findDataSchema(doc: unknown, payload: unknown, depth = 0): unknown {
  const node = derefLocal(doc, payload);
  if (!isObject(node) || depth > 8) return undefined;
  if (isObject(node.properties) && node.properties.data !== undefined) return node.properties.data;
  if (Array.isArray(node.allOf)) {
    for (const branch of node.allOf) {
      const found = findDataSchema(doc, branch, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

export function readEvents(spec: LoadedSpec): { events: EventModel[]; control: ControlMessageModel[] } {
  const doc = spec.asyncapi;
  const from = spec.asyncapiSource.relPath;
  const channels = isObject(doc.channels) ? doc.channels : {};
  const events: EventModel[] = [];
  const control: ControlMessageModel[] = [];
  const seen = new Set<string>();
  for (const rawChannel of Object.values(channels)) {
    const channel = derefLocal(doc, rawChannel);
    const messages = isObject(channel.messages) ? channel.messages : {};
    for (const [messageKey, rawMessage] of Object.entries(messages)) {
      const message = derefLocal(doc, rawMessage);
      const name = message.name;
      if (typeof name !== 'string') throw new SpecError(`${from}: message ${messageKey} has no name`);
      if (seen.has(name)) continue;
      seen.add(name);
      if (!name.includes(':')) {
        const payload = derefLocal(doc, message.payload);
        const file = isObject(payload) && typeof payload.$ref === 'string' ? schemaFileForRef(spec, from, payload.$ref) : undefined;
        control.push({ name, messageKey, payload: file });
        continue;
      }
      const data = derefLocal(doc, findDataSchema(doc, message.payload));
      if (!isObject(data) || typeof data.$ref !== 'string' || data.$ref.startsWith('#')) {
        throw new SpecError(`${from}: message ${messageKey} (${name}): payload.data must $ref a schema file (spec-conventions §4)`);
      }
      events.push({ name, messageKey, payload: schemaFileForRef(spec, from, data.$ref) });
    }
  }
  return { events, control };
}
