/**
 * Request-validation cost per request: the router's body step (src/http/api-router.ts: strip nulls →
 * precompiled Ajv validator → on failure, map the errors to one ContractError) on typical bodies, in µs per call.
 *
 * The body rules are the router's own (generated/routes/router.ts `apiRoutes`), run with the runtime's
 * `stripNulls` and the same `toContractError`; a failure returns its error instead of throwing it, so that the
 * figure is the mapping, not the throw. Also counts Ajv compiles during the run (must be zero: validators are
 * precompiled).
 */
import { Ajv } from 'ajv';
import { apiRoutes } from '../../generated/routes/router.js';
import { stripNulls, type BodyRule } from '../../src/http/api-router.js';
import { toContractError } from '../../src/http/validation-errors.js';

/** The body rule of an operation of the router's table. */
function bodyOf(operationId: string): BodyRule<unknown> {
  const body = apiRoutes.find((route) => route.operationId === operationId)?.body;
  if (!body) throw new Error(`${operationId}: no request body in generated/routes/router.ts`);
  return body;
}

export interface ValidationCase {
  name: string;
  us: number;
}

export interface ValidationResult {
  cases: ValidationCase[];
  /** Mean over the valid-body cases: what a successful request pays. */
  typicalUs: number;
  /** The slowest case (an invalid body: validation plus error mapping). */
  worstUs: number;
  runtimeCompiles: number;
}

/** Time `fn` over `iterations` calls after a warm-up; µs per call (best of 3 rounds: least disturbed). */
function timeIt(fn: () => void, iterations: number): number {
  for (let i = 0; i < iterations / 5; i++) fn();
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    const ns = Number(process.hrtime.bigint() - t0);
    best = Math.min(best, ns / iterations / 1000);
  }
  return Math.round(best * 100) / 100;
}

export function measureValidation(iterations: number): ValidationResult {
  let compiles = 0;
  // Patch compile where it is defined (ajv's core class, shared by Ajv and Ajv2020).
  let proto = Ajv.prototype as unknown as { compile: (...a: unknown[]) => unknown };
  while (!Object.prototype.hasOwnProperty.call(proto, 'compile')) proto = Object.getPrototypeOf(proto) as typeof proto;
  const originalCompile = proto.compile;
  proto.compile = function (this: unknown, ...args: unknown[]) {
    compiles++;
    return originalCompile.apply(this, args);
  };
  try {
    const step = (rule: BodyRule<unknown>) => (raw: Record<string, unknown>) => {
      const body = stripNulls(raw, rule.nullStrip);
      if (!rule.validate(body)) return toContractError(rule.validate.errors, rule.rules);
      return body;
    };
    const taskCreate = step(bodyOf('createTask'));
    const taskUpdate = step(bodyOf('updateTask'));
    const spawn = step(bodyOf('spawnSession'));
    const sessionCreate = step(bodyOf('createSession'));

    const createBody = {
      projectId: 'proj_1750000000000_abcdefghi',
      title: 'Add pagination to the task list',
      description: 'The list endpoint returns everything; add limit/offset and document them in the spec.',
      priority: 'high',
      parentId: null,
      initialPrompt: 'Implement pagination for GET /api/tasks',
      skillIds: ['maestro-worker'],
      dependencies: [],
      model: 'sonnet',
    };
    const updateBody = { status: 'in_progress', priority: 'medium', title: 'Add pagination (limit/offset)' };
    const spawnBody = {
      projectId: 'proj_1750000000000_abcdefghi',
      taskIds: ['task_1750000001000_abcdefghi', 'task_1750000002000_abcdefghi'],
      role: 'worker',
      strategy: 'queue',
      spawnSource: 'ui',
      sessionName: 'Worker for pagination',
      skills: ['maestro-worker'],
      context: { reason: 'bench', primaryTask: 'task_1750000001000_abcdefghi' },
    };
    const sessionBody = {
      projectId: 'proj_1750000000000_abcdefghi',
      taskIds: ['task_1750000001000_abcdefghi'],
      name: 'Manual session',
      strategy: 'simple',
      metadata: { source: 'bench' },
    };
    const invalidCreate = { projectId: 'proj_1750000000000_abcdefghi', title: '', priority: 'urgent' };

    const cases: ValidationCase[] = [
      { name: 'POST /api/tasks (valid)', us: timeIt(() => taskCreate(createBody), iterations) },
      { name: 'PATCH /api/tasks/:id (valid)', us: timeIt(() => taskUpdate(updateBody), iterations) },
      { name: 'POST /api/sessions/spawn (valid)', us: timeIt(() => spawn(spawnBody), iterations) },
      { name: 'POST /api/sessions (valid)', us: timeIt(() => sessionCreate(sessionBody), iterations) },
      { name: 'POST /api/tasks (invalid → error mapping)', us: timeIt(() => taskCreate(invalidCreate), iterations) },
    ];
    const valid = cases.filter((c) => c.name.includes('(valid)'));
    return {
      cases,
      typicalUs: Math.round((valid.reduce((n, c) => n + c.us, 0) / valid.length) * 100) / 100,
      worstUs: Math.max(...cases.map((c) => c.us)),
      runtimeCompiles: compiles,
    };
  } finally {
    proto.compile = originalCompile;
  }
}
