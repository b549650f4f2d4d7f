/**
 * `step`: one request whose status, error code and exact event sequence are stated by the test (derived from
 * docs/behaviour.md for that concrete request), plus the context shared by the phases of the suite.
 */
import { isDeepStrictEqual } from 'node:util';
import { must, type Conformance, type Envelope, type EventRecorder, type SendOptions, type Sent, type Target } from './harness.js';
import type { Started } from './servers.js';

export interface Ctx {
  c: Conformance;
  t: Target;
  rec: EventRecorder;
  main: Started;
}

export interface StepResult {
  sent: Sent;
  body: any;
  events: Envelope[];
}

export interface Expect {
  status: number;
  code?: string;
  /** Exact event names, in order. Default: none. */
  events?: string[];
  field?: string;
}

/**
 * Sends the request, checks it against the spec (harness), then the stated status/code and that exactly
 * `events` arrived (in order, within 100 ms) and that each is one the operation's `x-emits` documents.
 */
export async function step(ctx: Ctx, operationId: string, options: SendOptions & { params?: Record<string, string>; query?: Record<string, string> }, expect: Expect): Promise<StepResult> {
  const { c, t, rec } = ctx;
  const path = options.path ?? (options.params || options.query ? c.pathOf(operationId, options.params ?? {}, options.query) : undefined);
  // A stated 4xx is a request the suite sends knowing it is to be refused (the second oracle records whether
  // the spec itself already forbids it); any other stated status means the request is valid.
  const expectReject = expect.status >= 400 && expect.status < 500 ? `expected ${expect.status}${expect.code ? ` ${expect.code}` : ''}` : undefined;
  const sent = await c.send(t, operationId, { ...options, ...(path ? { path } : {}), ...(expectReject ? { expectReject } : {}) });
  const body = sent.res.json;
  must(sent.res.status === expect.status, `${operationId}: expected ${expect.status}`, sent);
  if (expect.code !== undefined) must(body?.code === expect.code, `${operationId}: expected code ${expect.code}`, sent);
  if (expect.field !== undefined) must(body?.details?.field === expect.field, `${operationId}: expected details.field ${expect.field}`, sent);
  const events = await rec.fence();
  const names = events.map((e) => e.event);
  const want = expect.events ?? [];
  must(isDeepStrictEqual(names, want), `${operationId}: events ${JSON.stringify(names)}, expected ${JSON.stringify(want)}`, sent);
  const emits = sent.op.emits;
  for (const n of names) must(emits.includes(n), `${operationId}: event ${n} is not in its x-emits ${JSON.stringify(emits)}`, sent);
  if (sent.res.status >= 400) must(names.length === 0, `${operationId}: an error emitted events`, sent);
  for (const e of events) must(e.type === e.event, `envelope type ${e.type} != event ${e.event}`, sent);
  return { sent, body, events };
}

export function same(a: unknown, b: unknown, what: string, sent?: Sent): void {
  must(isDeepStrictEqual(a, b), `${what}: ${JSON.stringify(a)?.slice(0, 400)} != ${JSON.stringify(b)?.slice(0, 400)}`, sent);
}
