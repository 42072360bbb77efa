// The webhook's caches are bounded the same way: a Map or Set iterates in insertion order, so the
// first key is the oldest (or, where a hit re-inserts its key, the least recently used).

interface KeyedCollection<K> {
  readonly size: number;
  keys(): IterableIterator<K>;
  delete(key: K): boolean;
}

/** Drop the oldest entries until at most `max` are left. */
export function evictOldest<K>(entries: KeyedCollection<K>, max: number): void {
  while (entries.size > max) {
    const oldest = entries.keys().next();
    if (oldest.done === true) return;
    entries.delete(oldest.value);
  }
}
