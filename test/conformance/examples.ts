/**
 * The spec's examples: every request and response example validates against its schema (our own Ajv), and
 * every request example is replayed against the server after the entities it names have been created: each
 * example id (`proj_…`, `task_…`, `sess_…`, in order of appearance) is replaced by a real id of that kind.
 * A replayed example must get the operation's documented success status and only events from its x-emits.
 */
import { errorsText } from './spec-model.js';
import { must, type Sent } from './harness.js';
import type { Ctx } from './steps.js';

export function exampleProblems(ctx: Ctx): string[] {
  const { spec } = ctx.c;
  const problems: string[] = [];
  let count = 0;
  for (const op of spec.operations) {
    const req = spec.requestValidator(op.operationId);
    for (const ex of op.requestExamples) {
      count++;
      if (!req!(ex.value)) problems.push(`${op.operationId} request example ${ex.name}: ${errorsText(req!)}`);
    }
    for (const [status, r] of op.responses) {
      const v = spec.responseValidator(op.operationId, status);
      for (const ex of r.examples) {
        count++;
        if (!v!(ex.value)) problems.push(`${op.operationId} ${status} example ${ex.name}: ${errorsText(v!)}`);
        if (Number(status) >= 400 && r.codes && !r.codes.includes((ex.value as any)?.code)) problems.push(`${op.operationId} ${status} example ${ex.name}: code not documented`);
      }
    }
  }
  if (count < spec.operations.length) problems.push(`only ${count} examples in the spec`);
  return problems;
}

const EXAMPLE_ID = /^(proj|task|sess|tmpl)_[0-9]+_[0-9a-z]{9}$/;

/** Replays every request example (and each operation without a body once with its documented parameters). */
export async function replayExamples(ctx: Ctx): Promise<number> {
  const { c, t, rec } = ctx;
  let replayed = 0;
  const ok = (s: Sent) => {
    must(s.res.status < 300, `fixture ${s.op.operationId}`, s);
    return s.res.json;
  };
  for (const op of c.spec.operations) {
    for (const ex of op.requestExamples) {
      // A fresh world for each example, so that examples never collide (e.g. a push of a task already queued).
      const P = ok(await c.send(t, 'createProject', { json: { name: 'examples', workingDir: '/tmp/examples' } })).id;
      const tasks: string[] = [];
      for (let i = 0; i < 3; i++) tasks.push(ok(await c.send(t, 'createTask', { json: { projectId: P, title: `E${i}` } })).id);
      const S = ok(await c.send(t, 'createSession', { json: { projectId: P, taskIds: [] } })).id;
      const Q = ok(await c.send(t, 'createSession', { json: { projectId: P, taskIds: [tasks[2]], strategy: 'queue' } })).id;
      const Q0 = ok(await c.send(t, 'createSession', { json: { projectId: P, taskIds: [], strategy: 'queue' } })).id;
      ok(await c.send(t, 'startQueueItem', { path: c.pathOf('startQueueItem', { id: Q }) }));
      const tpl = ok(await c.send(t, 'createTemplate', { json: { name: 'examples', role: 'worker', content: '# e' } })).id;
      await rec.fence();
      const pools: Record<string, string[]> = { proj: [P], task: tasks, sess: [S], tmpl: [tpl] };
      const mapping = new Map<string, string>();
      const used: Record<string, number> = { proj: 0, task: 0, sess: 0, tmpl: 0 };
      const substitute = (v: unknown): unknown => {
        if (typeof v === 'string' && EXAMPLE_ID.test(v)) {
          if (!mapping.has(v)) {
            const kind = v.split('_')[0]!;
            const pool = pools[kind]!;
            mapping.set(v, pool[Math.min(used[kind]!++, pool.length - 1)]!);
          }
          return mapping.get(v);
        }
        if (Array.isArray(v)) return v.map(substitute);
        if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x)]));
        return v;
      };
      const body = substitute(ex.value) as Record<string, unknown>;
      if (op.operationId === 'createSession' && typeof body.id === 'string') body.id = `${body.id}-${replayed}`;
      const params: Record<string, string> = {};
      for (const prm of op.params.filter((x) => x.in === 'path')) {
        if (prm.name === 'role') params.role = 'worker';
        else if (op.path.startsWith('/api/projects')) params[prm.name] = P;
        else if (op.path.startsWith('/api/tasks')) params[prm.name] = tasks[0]!;
        else if (op.path.startsWith('/api/templates')) params[prm.name] = tpl;
        // Q has a processing item (fail, complete, skip act on it); Q0 an empty queue (push; start answers "empty").
        else if (['failQueueItem', 'completeQueueItem', 'skipQueueItem'].includes(op.operationId)) params[prm.name] = Q;
        else if (['pushQueueItem', 'startQueueItem'].includes(op.operationId)) params[prm.name] = Q0;
        else params[prm.name] = S;
      }
      const sent = await c.send(t, op.operationId, { path: c.pathOf(op.operationId, params), json: body }, `example ${ex.name}`);
      const success = [...op.responses.keys()].find((s) => s.startsWith('2'));
      must(String(sent.res.status) === success, `${op.operationId} example ${ex.name}: expected ${success}`, sent);
      const events = await rec.fence();
      for (const e of events) must(op.emits.includes(e.event), `${op.operationId} example ${ex.name}: event ${e.event} not in x-emits`, sent);
      if (op.emits.length > 0 && !['addTaskToSession', 'removeTaskFromSession', 'startQueueItem', 'deleteSession'].includes(op.operationId)) {
        must(events[0]?.event === op.emits[0], `${op.operationId} example ${ex.name}: first event ${events[0]?.event}, expected ${op.emits[0]}`, sent);
      }
      replayed++;
    }
  }
  return replayed;
}
