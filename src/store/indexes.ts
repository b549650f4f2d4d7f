/**
 * Secondary indexes of the store: key → set of entity ids. A filtered list walks only the ids of its most
 * selective index, so it costs what it returns (plus the sort), not the size of the store.
 */
const EMPTY: ReadonlySet<string> = new Set();

export class MultiIndex<K> {
  private readonly map = new Map<K, Set<string>>();

  add(key: K, id: string): void {
    let set = this.map.get(key);
    if (set === undefined) this.map.set(key, (set = new Set()));
    set.add(id);
  }

  remove(key: K, id: string): void {
    const set = this.map.get(key);
    if (set === undefined) return;
    set.delete(id);
    if (set.size === 0) this.map.delete(key);
  }

  /** The ids under `key` (a live view: do not keep it across mutations). */
  get(key: K): ReadonlySet<string> {
    return this.map.get(key) ?? EMPTY;
  }

  size(key: K): number {
    return this.map.get(key)?.size ?? 0;
  }

  /** Number of keys that have ids. */
  get keyCount(): number {
    return this.map.size;
  }

  /** Every key with its ids (for consistency checks in tests). */
  entries(): IterableIterator<[K, Set<string>]> {
    return this.map.entries();
  }
}

/**
 * A two-key index, (a, b) → ids: a MultiIndex of `b` per value of `a`, so that adding an entity does not build
 * a combined key string (the load adds 100 000 tasks).
 */
export class PairIndex<A, B> {
  private readonly map = new Map<A, MultiIndex<B>>();

  add(a: A, b: B, id: string): void {
    let inner = this.map.get(a);
    if (inner === undefined) this.map.set(a, (inner = new MultiIndex<B>()));
    inner.add(b, id);
  }

  remove(a: A, b: B, id: string): void {
    const inner = this.map.get(a);
    if (inner === undefined) return;
    inner.remove(b, id);
    if (inner.keyCount === 0) this.map.delete(a);
  }

  /** The ids under (a, b) (a live view: do not keep it across mutations). */
  get(a: A, b: B): ReadonlySet<string> {
    return this.map.get(a)?.get(b) ?? EMPTY;
  }

  /** Every (a, b) pair with its ids, as `[[a, b], ids]` (for consistency checks in tests). */
  *entries(): IterableIterator<[[A, B], Set<string>]> {
    for (const [a, inner] of this.map) for (const [b, ids] of inner.entries()) yield [[a, b], ids];
  }
}
