/** Compares two AsyncAPI 3.0 documents (spec/asyncapi.yaml): channels and the event (message) catalogue. */
import { Changes, show } from './emit.js';
import { side, type Side } from './openapi-compare.js';
import { canonical, isObject, type Ctx, type Schema } from './resolve.js';
import type { Prefix } from './rules.js';
import { compareSchemas } from './schema-compare.js';

export const ASYNCAPI_FILE = 'spec/asyncapi.yaml';

interface Message {
  name: string;
  node: Record<string, any>;
  ctx: Ctx;
  /** `payload` for messages the server sends, `request` for messages it receives (e.g. ping) */
  prefix: Prefix;
  payload: Schema;
  headers: Schema | undefined;
}

function entries(value: unknown): Array<[string, unknown]> {
  return isObject(value) ? Object.entries(value) : [];
}

function payloadSchema(s: Side, value: unknown, ctx: Ctx): Schema {
  // AsyncAPI 3 allows a Multi Format Schema Object { schemaFormat, schema }
  if (isObject(value) && typeof value.schemaFormat === 'string' && value.schema !== undefined) return s.r.schema(value.schema, ctx);
  return s.r.schema(value, ctx);
}

function channels(s: Side): Map<string, { node: Record<string, any>; ctx: Ctx }> {
  const out = new Map<string, { node: Record<string, any>; ctx: Ctx }>();
  for (const [key, raw] of entries(s.doc.channels)) {
    const { node, ctx } = s.r.deref(raw, s.ctx);
    if (isObject(node)) out.set(key, { node, ctx });
  }
  return out;
}

/**
 * Whose point of view the document is written from. AsyncAPI describes "the application": with the server's
 * view `action: send` means the server sends; with a client's view (spec/asyncapi.yaml: "a client *receives*
 * the 23 broadcast events") it means the client sends. An explicit `x-perspective: client|server` (document
 * root or `info`) decides; otherwise the operation carrying the most messages is taken to be the server's
 * broadcast: when its action is `receive`, the document is written from a client's point of view.
 */
export function perspective(s: Side): 'client' | 'server' {
  const explicit = s.doc['x-perspective'] ?? s.doc.info?.['x-perspective'];
  if (explicit === 'client' || explicit === 'server') return explicit;
  let best: { action: unknown; count: number } | undefined;
  for (const [, rawOp] of entries(s.doc.operations)) {
    const { node: op } = s.r.deref(rawOp, s.ctx);
    if (!isObject(op)) continue;
    const count = Array.isArray(op.messages) ? op.messages.length : 0;
    if (!best || count > best.count) best = { action: op.action, count };
  }
  return best?.action === 'receive' ? 'client' : 'server';
}

/**
 * The message catalogue keyed by event name (`name`, else the message key). Direction comes from the
 * operations (see `perspective`; `reply` messages flow the other way): messages the server sends get payload
 * rules, messages it receives (ping) request rules. A message no operation mentions counts as sent by the server.
 */
export function messages(s: Side): Map<string, Message> {
  const raw: Array<{ key: string; node: unknown; ctx: Ctx }> = [];
  for (const [, channel] of channels(s)) {
    for (const [key, msg] of entries(channel.node.messages)) raw.push({ key, node: msg, ctx: channel.ctx });
  }
  for (const [key, msg] of entries(s.doc.components?.messages)) raw.push({ key, node: msg, ctx: s.ctx });

  const view = perspective(s);
  const received = new Set<string>();
  const sent = new Set<string>();
  const mark = (list: unknown, channelRef: unknown, ctx: Ctx, serverSends: boolean) => {
    let items: Array<{ node: unknown; ctx: Ctx }> = Array.isArray(list) ? list.map((m: unknown) => ({ node: m, ctx })) : [];
    if (items.length === 0 && channelRef !== undefined) {
      const channel = s.r.deref(channelRef, ctx);
      if (isObject(channel.node)) items = entries(channel.node.messages).map(([, m]) => ({ node: m, ctx: channel.ctx }));
    }
    for (const item of items) {
      const { node } = s.r.deref(item.node, item.ctx);
      if (isObject(node) && typeof node.name === 'string') (serverSends ? sent : received).add(node.name);
    }
  };
  for (const [, rawOp] of entries(s.doc.operations)) {
    const { node: op, ctx } = s.r.deref(rawOp, s.ctx);
    if (!isObject(op)) continue;
    const appSends = op.action === 'send';
    const serverSends = view === 'server' ? appSends : !appSends;
    mark(op.messages, op.channel, ctx, serverSends);
    if (isObject(op.reply)) {
      const reply = s.r.deref(op.reply, ctx);
      if (isObject(reply.node)) mark(reply.node.messages, reply.node.channel, reply.ctx, !serverSends);
    }
  }

  const out = new Map<string, Message>();
  for (const { key, node: rawMsg, ctx: at } of raw) {
    const { node, ctx } = s.r.deref(rawMsg, at);
    if (!isObject(node)) continue;
    const name = typeof node.name === 'string' ? node.name : key;
    if (out.has(name)) continue;
    const prefix: Prefix = received.has(name) && !sent.has(name) ? 'request' : 'payload';
    out.set(name, {
      name,
      node,
      ctx,
      prefix,
      payload: payloadSchema(s, node.payload, ctx),
      headers: node.headers === undefined ? undefined : payloadSchema(s, node.headers, ctx),
    });
  }
  return out;
}

/** Every string equal to `from` replaced by `to` (an envelope usually carries its own event name as a const). */
function renamed(value: unknown, from: string, to: string): unknown {
  if (value === from) return to;
  if (Array.isArray(value)) return value.map((v) => renamed(v, from, to));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renamed(v, from, to)]));
  return value;
}

function compareMessage(out: Changes, before: Message, after: Message): void {
  const location = `event ${after.name}`;
  compareSchemas(out, after.prefix, before.payload, after.payload, `${location} payload`);
  if (before.headers !== undefined || after.headers !== undefined) {
    compareSchemas(out, after.prefix, before.headers ?? {}, after.headers ?? {}, `${location} headers`);
  }
  for (const key of ['summary', 'description', 'title']) {
    if (before.node[key] !== after.node[key]) out.add(key === 'summary' ? 'summary-changed' : 'description-changed', location, `${key} changed`);
  }
  if (canonical(before.node.examples) !== canonical(after.node.examples)) out.add('example-changed', location, 'examples changed');
  const keys = new Set([...Object.keys(before.node), ...Object.keys(after.node)].filter((k) => k.startsWith('x-')));
  for (const key of keys) {
    if (canonical(before.node[key]) !== canonical(after.node[key])) out.add('extension-changed', location, `${key} ${show(before.node[key], 40)} → ${show(after.node[key], 40)}`);
  }
}

export function compareAsyncApi(a: Side, b: Side): Changes {
  const out = new Changes('asyncapi');
  if (a.doc.info?.version !== b.doc.info?.version && a.doc.info?.version !== undefined && b.doc.info?.version !== undefined) {
    out.add('version-changed', 'info.version', `event catalogue version ${a.doc.info.version} → ${b.doc.info.version}`);
  }

  const oldChannels = channels(a);
  const newChannels = channels(b);
  for (const [key] of oldChannels) if (!newChannels.has(key)) out.add('channel-removed', `channel ${key}`, 'channel removed');
  for (const [key, channel] of newChannels) {
    const old = oldChannels.get(key);
    if (!old) out.add('channel-added', `channel ${key}`, `new channel at ${show(channel.node.address)}`);
    else if (canonical(old.node.address) !== canonical(channel.node.address)) {
      out.add('channel-address-changed', `channel ${key}`, `address ${show(old.node.address)} → ${show(channel.node.address)}`);
    }
  }

  const oldMessages = messages(a);
  const newMessages = messages(b);
  const removed = [...oldMessages.keys()].filter((name) => !newMessages.has(name));
  const added = new Set([...newMessages.keys()].filter((name) => !oldMessages.has(name)));
  for (const name of removed) {
    const old = oldMessages.get(name)!;
    const match = [...added].find((candidate) => {
      const now = newMessages.get(candidate)!;
      return canonical(renamed(old.payload, name, candidate)) === canonical(now.payload);
    });
    if (match !== undefined) {
      added.delete(match);
      out.add('event-renamed', `event ${name}`, `event renamed to ${match} (identical payload)`);
    } else out.add('event-removed', `event ${name}`, 'event removed from the catalogue');
  }
  for (const name of added) out.add('event-added', `event ${name}`, 'new event');
  for (const [name, now] of newMessages) {
    const old = oldMessages.get(name);
    if (old) compareMessage(out, old, now);
  }
  return out;
}
