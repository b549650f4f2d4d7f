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

  /** Every key with its ids (for consistency checks in tests). */
  entries(): IterableIterator<[K, Set<string>]> {
    return this.map.entries();
  }
}
