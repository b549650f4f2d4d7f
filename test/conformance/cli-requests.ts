/**
 * docs/behaviour.md §14.5, §11.3: the requests the `maestro` CLI v0.1.0 really sends to queue start, complete and skip —
 * a `{}` body with `Content-Type: application/json` — exactly as it sends them, next to the same operations with
 * no body at all and with the CLI's Content-Type on an empty body (all accepted exactly as before API 1.2), and a
 * body with keys that are ignored. Each response is checked against the spec (harness) and each event against
 * the AsyncAPI catalogue (recorder).
 */
import { isDeepStrictEqual } from 'node:util';
import { must } from './harness.js';
import { step, type Ctx } from './steps.js';

/** Byte-exact: what the CLI's HTTP client writes for `queue start|complete|skip`. */
const CLI = { raw: '{}', headers: { 'Content-Type': 'application/json' } };
/** No body and no Content-Type (curl -X POST). */
const NONE = {};
/** The CLI's Content-Type on a 0-byte body (it sends the header on every request, §11.3). */
const EMPTY_JSON = { raw: '', headers: { 'Content-Type': 'application/json' } };
/** Keys are ignored (§0.5). */
const EXTRA = { json: { reason: 'ignored here', taskId: 'ignored too', nested: { a: [1] } } };

const STARTED = ['queue:item_started', 'queue:updated', 'task:updated'];
const COMPLETED = ['queue:item_completed', 'queue:updated', 'task:updated'];
const SKIPPED = ['queue:item_skipped', 'queue:updated', 'task:updated'];

/** Drops ids and stamps, so that answers for different sessions and tasks can be compared. */
function shape(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (key, v) => (/^(taskId|addedAt|startedAt|completedAt)$/.test(key) ? '…' : typeof v === 'string' ? v.replace(/task_\w+/g, 'task_…') : v));
}

export async function cliQueueRequests(ctx: Ctx): Promise<void> {
  const p = await step(ctx, 'createProject', { json: { name: 'cli queue', workingDir: '/tmp/cli-queue' } }, { status: 201, events: ['project:created'] });
  const answers = new Map<string, unknown[]>();
  for (const [label, body] of [['cli {}', CLI], ['no body', NONE], ['empty body, JSON type', EMPTY_JSON], ['extra keys', EXTRA]] as const) {
    const taskIds: string[] = [];
    for (const title of ['one', 'two', 'three']) {
      const t = await step(ctx, 'createTask', { json: { projectId: p.body.id, title } }, { status: 201, events: ['task:created'] });
      taskIds.push(t.body.id);
    }
    const s = await step(ctx, 'createSession', { json: { projectId: p.body.id, taskIds, strategy: 'queue' } }, {
      status: 201,
      events: ['session:created', ...taskIds.map(() => 'task:session_added'), 'queue:created'],
    });
    const params = { id: s.body.id };
    // The CLI's loop: start → complete → start → skip (the processing one) → skip (a queued one) → start on an empty queue.
    const got = [
      await step(ctx, 'startQueueItem', { params, ...body }, { status: 200, events: STARTED }),
      await step(ctx, 'completeQueueItem', { params, ...body }, { status: 200, events: COMPLETED }),
      await step(ctx, 'startQueueItem', { params, ...body }, { status: 200, events: STARTED }),
      await step(ctx, 'skipQueueItem', { params, ...body }, { status: 200, events: SKIPPED }),
      await step(ctx, 'skipQueueItem', { params, ...body }, { status: 200, events: SKIPPED }),
      await step(ctx, 'startQueueItem', { params, ...body }, { status: 200 }),
      // Errors keep their codes with the CLI's body too.
      await step(ctx, 'completeQueueItem', { params, ...body }, { status: 400, code: 'VALIDATION_ERROR' }),
      await step(ctx, 'skipQueueItem', { params, ...body }, { status: 400, code: 'VALIDATION_ERROR' }),
      await step(ctx, 'startQueueItem', { params: { id: 'sess_missing' }, ...body }, { status: 404, code: 'NOT_FOUND' }),
    ];
    must(got[5]!.body.item === null && got[5]!.body.empty === true, `${label}: start on an empty queue answers item: null, empty: true`, got[5]!.sent);
    answers.set(label, got.map((r) => shape(r.body)));
  }
  const [reference, ...others] = [...answers.entries()];
  for (const [label, bodies] of others) {
    must(isDeepStrictEqual(bodies, reference![1]), `queue answers with ${label} differ from those with ${reference![0]}: ${JSON.stringify(bodies).slice(0, 400)}`);
  }
}
