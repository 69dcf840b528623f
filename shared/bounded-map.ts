/**
 * A Map with a most number of entries: setting a key makes it the newest, and past the bound the
 * oldest entries go first. The isolate state of the features (blocked identifiers, lease hints,
 * ...) is held in these, so an isolate's memory stays bounded whatever the traffic.
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>();

  /** @param maxEntries most entries kept */
  constructor(readonly maxEntries: number) {}

  /** Sets `key` as the newest entry, dropping the oldest ones past the bound. */
  set(key: K, value: V): void {
    this.#entries.delete(key); // re-insert: Map order is the eviction order
    this.#entries.set(key, value);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
