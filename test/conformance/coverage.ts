/**
 * Spec coverage bookkeeping: which operations, (operation, status) pairs and catalogue events the suite has
 * exercised, against what the spec documents (the static file routes, `x-static`, included). Pairs listed in exclusions.yaml are taken out of the
 * denominator (each has a written reason there).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot, type SpecModel } from './spec-model.js';

export interface Exclusion {
  operationId: string;
  status: string;
  reason: string;
}

export function loadExclusions(): Exclusion[] {
  const file = path.join(repoRoot, 'test', 'conformance', 'exclusions.yaml');
  const doc = parseYaml(readFileSync(file, 'utf8')) as { exclusions?: Exclusion[] | null };
  const list = doc.exclusions ?? [];
  for (const e of list) {
    if (!e.operationId || !e.status || typeof e.reason !== 'string' || e.reason.trim().length < 10) {
      throw new Error(`exclusions.yaml: every entry needs operationId, status and a real reason: ${JSON.stringify(e)}`);
    }
    e.status = String(e.status);
  }
  return list;
}

export class Coverage {
  readonly operations = new Set<string>();
  readonly pairs = new Set<string>();
  readonly events = new Set<string>();

  constructor(private readonly spec: SpecModel, readonly exclusions: Exclusion[] = loadExclusions()) {
    for (const e of exclusions) {
      const op = spec.byId.get(e.operationId);
      if (!op || !op.responses.has(e.status)) throw new Error(`exclusions.yaml names an undocumented pair ${e.operationId} ${e.status}`);
    }
  }

  hit(operationId: string, status: number): void {
    this.operations.add(operationId);
    this.pairs.add(`${operationId} ${status}`);
  }

  event(name: string): void {
    this.events.add(name);
  }

  private documentedPairs(): string[] {
    const out: string[] = [];
    for (const op of [...this.spec.operations, ...this.spec.staticOperations]) for (const s of op.responses.keys()) out.push(`${op.operationId} ${s}`);
    return out;
  }

  summary() {
    const excluded = new Set(this.exclusions.map((e) => `${e.operationId} ${e.status}`));
    const pairs = this.documentedPairs().filter((p) => !excluded.has(p));
    const ops = [...this.spec.operations, ...this.spec.staticOperations].map((o) => o.operationId);
    const events = [...this.spec.eventValidators.keys()];
    return {
      line:
        `spec coverage: operations ${ops.filter((o) => this.operations.has(o)).length}/${ops.length}, ` +
        `responses ${pairs.filter((p) => this.pairs.has(p)).length}/${pairs.length}, ` +
        `events ${events.filter((e) => this.events.has(e)).length}/${events.length}`,
      missingOperations: ops.filter((o) => !this.operations.has(o)),
      missingPairs: pairs.filter((p) => !this.pairs.has(p)),
      missingEvents: events.filter((e) => !this.events.has(e)),
      pairRatio: pairs.filter((p) => this.pairs.has(p)).length / pairs.length,
      excludedButHit: [...excluded].filter((p) => this.pairs.has(p)),
    };
  }
}
