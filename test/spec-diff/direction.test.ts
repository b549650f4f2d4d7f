/** Which messages of the AsyncAPI document the server sends (payload rules) and which it receives (request rules). */
import { describe, expect, it } from 'vitest';
import { compareTrees } from '../../codegen/spec-diff/compare.js';
import type { SpecTree } from '../../codegen/spec-diff/types.js';

function doc(view: 'client' | 'server', options: { pingType: string; pongRequired: string[]; explicit?: string }) {
  // client view (as spec/asyncapi.yaml): the client receives the broadcasts and sends ping
  const broadcast = view === 'client' ? 'receive' : 'send';
  const ping = view === 'client' ? 'send' : 'receive';
  return {
    asyncapi: '3.0.0',
    info: { title: 'events', version: '1.0.0', ...(options.explicit ? { 'x-perspective': options.explicit } : {}) },
    channels: {
      events: {
        address: '/',
        messages: {
          a: { $ref: '#/components/messages/a' },
          b: { $ref: '#/components/messages/b' },
          ping: { $ref: '#/components/messages/ping' },
          pong: { $ref: '#/components/messages/pong' },
        },
      },
    },
    operations: {
      events: { action: broadcast, channel: { $ref: '#/channels/events' }, messages: [{ $ref: '#/channels/events/messages/a' }, { $ref: '#/channels/events/messages/b' }] },
      ping: {
        action: ping,
        channel: { $ref: '#/channels/events' },
        messages: [{ $ref: '#/channels/events/messages/ping' }],
        reply: { channel: { $ref: '#/channels/events' }, messages: [{ $ref: '#/channels/events/messages/pong' }] },
      },
    },
    components: {
      messages: {
        a: { name: 'a', payload: { type: 'object', properties: { x: { type: 'string' } } } },
        b: { name: 'b', payload: { type: 'object', properties: { x: { type: 'string' } } } },
        ping: { name: 'ping', payload: { type: 'object', properties: { type: { type: options.pingType } }, required: ['type'] } },
        pong: { name: 'pong', payload: { type: 'object', properties: { type: { type: 'string' }, timestamp: { type: 'integer' } }, required: options.pongRequired } },
      },
    },
  };
}

const tree = (value: unknown): SpecTree => ({ label: 't', files: new Map([['spec/asyncapi.yaml', value]]) });

describe.each(['client', 'server'] as const)('an AsyncAPI document written from the %s point of view', (view) => {
  it('applies request rules to ping (sent by clients) and payload rules to the pong reply (sent by the server)', () => {
    const before = doc(view, { pingType: 'string', pongRequired: ['type', 'timestamp'] });
    const after = doc(view, { pingType: 'integer', pongRequired: ['type'] });
    const { changes } = compareTrees(tree(before), tree(after));
    expect(changes.map((c) => [c.severity, c.rule, c.location])).toEqual([
      ['breaking', 'request-type-changed', 'event ping payload.type'],
      ['breaking', 'payload-property-made-optional', 'event pong payload.timestamp'],
    ]);
  });
});

describe('x-perspective', () => {
  it('overrides the guess from the largest operation', () => {
    // written like a server view (broadcast = send) but declared as a client view: ping becomes server-sent
    const before = doc('server', { pingType: 'string', pongRequired: ['type'], explicit: 'client' });
    const after = doc('server', { pingType: 'string', pongRequired: ['type'], explicit: 'client' });
    before.components.messages.ping.payload.properties = { type: { type: 'string' }, extra: { type: 'string' } } as never;
    const { changes } = compareTrees(tree(before), tree(after));
    // client view + action "send" on the broadcast ⇒ the server receives a and b and *sends* ping
    expect(changes.map((c) => [c.rule, c.location])).toEqual([['payload-property-removed', 'event ping payload.extra']]);
  });
});
