import type { Tx } from '../store/index.js';

/**
 * The "stamps only move forward" rule of docs/behaviour.md §0.2, applied once per entity per request: the first change
 * of an entity in a request gets `max(now, previous + 1)` from its pre-request value; later changes of the same
 * entity in the same request (a PATCH that also links it, say) reuse that stamp instead of bumping again.
 */
export class RequestStamps {
  private readonly stamps = new Map<string, number>();

  constructor(private readonly tx: Tx) {}

  /** The request's stamp for `kind:id`, whose value before this request was `previous`. */
  for(kind: 'project' | 'task' | 'session' | 'template' | 'queue', id: string, previous: number): number {
    const key = `${kind}\u0000${id}`;
    let stamp = this.stamps.get(key);
    if (stamp === undefined) {
      stamp = this.tx.bump(previous);
      this.stamps.set(key, stamp);
    }
    return stamp;
  }
}
