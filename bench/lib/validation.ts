/**
 * Request-validation cost per request: the generated router's `validateBody` step (strip nulls → precompiled
 * Ajv validator → on failure, map the errors to one ContractError) on typical bodies, in µs per call.
 *
 * The router keeps its rules and null-strip lists module-private, so they are read from
 * generated/routes/router.ts (they are JSON literals there) — the measured code is the same validator modules
 * and the same `toContractError` the router calls; the null strip is re-implemented here with the same work. Also counts Ajv compiles during the run (must be zero:
 * validators are precompiled).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { ROOT } from './procs.js';
import {
  validateTaskCreateRequest as validateTaskCreate,
  validateTaskUpdateRequest as validateTaskUpdate,
  validateSpawnRequest as validateSpawn,
  validateSessionCreateRequest as validateSessionCreate,
} from '../../generated/validators/index.js';
import { toContractError, type ValidationRules } from '../../src/http/validation-errors.js';

type Validator = ((data: unknown) => boolean) & { errors?: unknown };

function routerLiteral<T>(source: string, name: string): T {
  const m = new RegExp(`const ${name}: [^=]+= ([\\s\\S]*?);\\n`).exec(source);
  if (!m) throw new Error(`${name} not found in generated/routes/router.ts`);
  return JSON.parse(m[1]!) as T;
}

/** The router's null-strip rules: a field list (older generated code) or `{ fields, items }`. */
type StripRules = readonly string[] | { fields: readonly string[]; items?: Readonly<Record<string, readonly string[]>> };

/** Same work as the router's `stripNulls` (docs/behaviour.md §0.5: null = absent): copy, drop the listed nulls. */
function stripNulls(body: Record<string, unknown>, rules: StripRules): Record<string, unknown> {
  const fields = Array.isArray(rules) ? (rules as readonly string[]) : (rules as { fields: readonly string[] }).fields;
  const items = Array.isArray(rules) ? undefined : (rules as { items?: Readonly<Record<string, readonly string[]>> }).items;
  const out: Record<string, unknown> = { ...body };
  for (const field of fields) if (out[field] === null) delete out[field];
  if (items) {
    for (const [field, keys] of Object.entries(items)) {
      const list = out[field];
      if (!Array.isArray(list)) continue;
      out[field] = list.map((el: unknown) => {
        if (typeof el !== 'object' || el === null) return el;
        const copy = { ...(el as Record<string, unknown>) };
        for (const k of keys) if (copy[k] === null) delete copy[k];
        return copy;
      });
    }
  }
  return out;
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
    const source = fs.readFileSync(path.join(ROOT, 'generated/routes/router.ts'), 'utf8');
    const step = (validate: Validator, rulesName: string, stripName: string) => {
      const rules = routerLiteral<ValidationRules>(source, rulesName);
      const strip = routerLiteral<StripRules>(source, stripName);
      return (raw: Record<string, unknown>) => {
        const body = stripNulls(raw, strip);
        if (!validate(body)) return toContractError(validate.errors as never, rules);
        return body;
      };
    };
    const taskCreate = step(validateTaskCreate as Validator, 'rulesTaskCreateRequest', 'stripNullTaskCreateRequest');
    const taskUpdate = step(validateTaskUpdate as Validator, 'rulesTaskUpdateRequest', 'stripNullTaskUpdateRequest');
    const spawn = step(validateSpawn as Validator, 'rulesSpawnRequest', 'stripNullSpawnRequest');
    const sessionCreate = step(validateSessionCreate as Validator, 'rulesSessionCreateRequest', 'stripNullSessionCreateRequest');

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
