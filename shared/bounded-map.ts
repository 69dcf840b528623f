/** Options of a {@link BoundedMap} bounded by bytes as well as by entries. */
export interface ByteBound<K, V> {
  /** Most bytes kept, as `sizeOf` counts them (default: no byte bound). */
  maxBytes?: number;
  /** Bytes one entry holds; required with `maxBytes`. */
  sizeOf?: (key: K, value: V) => number;
  /** Called for every entry that leaves the map (evicted, deleted or replaced), e.g. to keep an index. */
  onRemove?: (key: K, value: V) => void;
}

/**
 * The one LRU of the isolate state: a Map with a most number of entries and, optionally, a
 * byte budget. Setting a key (or {@link use}-ing it) makes it the newest; past a bound the
 * oldest entries go first. Blocked identifiers, lease hints and the L1 copies of the cache and
 * the leaderboards are held in these, so an isolate's memory stays bounded whatever the traffic.
 *
 * @example
 * const copies = new BoundedMap<string, string>(Infinity, { maxBytes: 1024, sizeOf: (k, v) => 2 * (k.length + v.length) });
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #sizes = new Map<K, number>();
  readonly #sizeOf: ((key: K, value: V) => number) | undefined;
  readonly #onRemove: ((key: K, value: V) => void) | undefined;
  #maxBytes: number;
  #bytes = 0;

  /**
   * @param maxEntries most entries kept (`Infinity`: bounded by bytes only)
   * @param bound a byte budget, and a hook on removal
   */
  constructor(
    readonly maxEntries: number,
    bound: ByteBound<K, V> = {},
  ) {
    if (bound.maxBytes !== undefined && !bound.sizeOf) throw new TypeError("BoundedMap: maxBytes needs sizeOf");
    this.#maxBytes = bound.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#sizeOf = bound.sizeOf;
    this.#onRemove = bound.onRemove;
  }

  /**
   * Sets `key` as the newest entry, dropping the oldest ones past the bounds. An entry larger
   * than the whole byte budget is not kept (and any older value of `key` is dropped).
   * @returns whether the entry is kept
   */
  set(key: K, value: V): boolean {
    this.delete(key); // re-insert: Map order is the eviction order
    const bytes = this.#sizeOf ? this.#sizeOf(key, value) : 0;
    if (bytes > this.#maxBytes) return false;
    this.#entries.set(key, value);
    if (this.#sizeOf) this.#sizes.set(key, bytes);
    this.#bytes += bytes;
    this.#evict();
    return true;
  }

  /** The value of `key`, leaving its place in the eviction order as it is. */
  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** The value of `key`, made the newest entry (the least recently used goes first). */
  use(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  delete(key: K): void {
    if (!this.#entries.has(key)) return;
    const value = this.#entries.get(key) as V;
    this.#entries.delete(key);
    this.#bytes -= this.#sizes.get(key) ?? 0;
    this.#sizes.delete(key);
    this.#onRemove?.(key, value);
  }

  /** Removes every entry (each reported to `onRemove`). */
  clear(): void {
    for (const key of [...this.#entries.keys()]) this.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Bytes held now, as `sizeOf` counts them (0 without a byte bound). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The byte budget (`Infinity` without one). */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Changes the byte budget, dropping the least recently used entries down to it. */
  setMaxBytes(maxBytes: number): void {
    if (!this.#sizeOf) throw new TypeError("BoundedMap: a byte budget needs sizeOf");
    this.#maxBytes = maxBytes;
    this.#evict();
  }

  #evict(): void {
    while (this.#entries.size > this.maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }
}
