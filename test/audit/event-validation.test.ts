/**
 * docs/decisions.md "Every broadcast is validated": in every environment (not only NODE_ENV=test) the hub checks
 * each event against the AsyncAPI catalogue before it is sent; a violation is logged as an error, counted and
 * not sent, and the other events of the broadcast still go out. Real server (defaults), real port, real client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { HubEvent } from '../../src/ws/hub.js';
import { testConfig } from '../support/server.js';
import { startAudit, type AuditServer } from './helpers.js';

let s: AuditServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('the hub validates every broadcast in every environment', () => {
  for (const nodeEnv of ['development', 'production', 'test']) {
    it(`NODE_ENV=${nodeEnv}: an off-spec payload or unknown event is logged, counted and not sent; valid events are`, async () => {
      const lines: string[] = [];
      const logger = createLogger({ format: 'json', level: 'info', stream: { write: (l: string) => void lines.push(l) } });
      s = await startAudit({ config: testConfig({ NODE_ENV: nodeEnv }), logger });
      const project = await s.ok('POST', '/api/projects', { name: 'p', workingDir: '/tmp/p' });
      expect((await s.drain(1)).map((e) => e.event)).toEqual(['project:created']);
      // What a handler bug would hand over despite the types (the cast stands for data read from elsewhere).
      s.server.hub.broadcast([
        { name: 'project:updated', data: { id: project.id } } as unknown as HubEvent,
        { name: 'project:renamed', data: project } as unknown as HubEvent,
        { name: 'project:deleted', data: { id: project.id } },
      ]);
      const got = await s.drain(1);
      expect(got.map((e) => e.event)).toEqual(['project:deleted']);
      expect(s.server.hub.invalidEvents).toBe(2);
      const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string; event?: string }).filter((r) => r.level === 50);
      expect(errors.map((r) => [r.event, r.msg])).toEqual([
        ['project:updated', 'event failed validation (violates spec/asyncapi.yaml): not sent'],
        ['project:renamed', 'event failed validation (violates spec/asyncapi.yaml): not sent'],
      ]);
      expect(lines.join('\n')).toContain("must have required property 'name'");
    });
  }
});
