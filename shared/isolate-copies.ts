import { BoundedMap } from "./bounded-map";

/**
 * What the cache's and the leaderboards' L1s share: copies that Redis answered, by key, in the
 * isolate's LRU bounded by bytes ({@link BoundedMap}); an index from group (a tag, a board) to
 * keys, so a change drops every copy it touches; and a generation that each change made through
 * this isolate advances, so a read that raced such a change keeps nothing and the change takes
 * effect at once. Each L1 adds its own rule for when a copy may be served.
 */
export abstract class IsolateCopies<C extends { bytes: number; confirmedAt: number }> {
  readonly #copies: BoundedMap<string, C>;
  readonly #byGroup = new Map<string, Set<string>>();
  #generation = 0;

  /**
   * @param maxBytes budget in bytes
   * @param groupsOf the groups a copy belongs to (its tags, its board)
   * @param clock the local clock
   */
  protected constructor(
    maxBytes: number,
    private readonly groupsOf: (copy: C) => readonly string[],
    private readonly clock: () => number,
  ) {
    this.#copies = new BoundedMap<string, C>(Number.POSITIVE_INFINITY, {
      maxBytes,
      sizeOf: (_, copy) => copy.bytes,
      onRemove: (key, copy) => this.#unindex(key, copy),
    });
  }

  /** The budget in bytes. */
  get maxBytes(): number {
    return this.#copies.maxBytes;
  }

  /** Changes the budget, dropping the least recently used copies down to it. */
  setBudget(maxBytes: number): void {
    this.#copies.setMaxBytes(maxBytes);
  }

  /** Bytes held now (never above `maxBytes`). */
  get bytes(): number {
    return this.#copies.bytes;
  }

  /** Copies held now. */
  get size(): number {
    return this.#copies.size;
  }

  /** The local clock, as this L1 reads it. */
  now(): number {
    return this.clock();
  }

  /**
   * Counts the changes made through this isolate. A read takes it before asking Redis and
   * passes it back when it keeps what Redis answered: a read that raced a change keeps nothing.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Drops every copy, as a new isolate starts with none. */
  clear(): void {
    this.#generation++;
    this.#copies.clear();
  }

  /** Local time (ms) from which `copy` may no longer be served, whatever the bound. */
  protected abstract endOf(copy: C): number;

  /**
   * The copy of `key`, made the most recently used, and whether Redis confirmed it no longer
   * than `maxStaleMs` ago; none when it has reached its end (then it is forgotten).
   */
  protected live(key: string, maxStaleMs: number): { copy: C; withinBound: boolean } | undefined {
    const copy = this.#copies.use(key);
    if (!copy) return undefined;
    const now = this.now();
    if (now >= this.endOf(copy)) {
      this.forget(key);
      return undefined;
    }
    return { copy, withinBound: now - copy.confirmedAt <= maxStaleMs };
  }

  /** The copy of `key`, leaving the eviction order as it is. */
  protected peek(key: string): C | undefined {
    return this.#copies.get(key);
  }

  /** Forgets the copy of `key` (it expired): not a change, so the generation stays. */
  protected forget(key: string): void {
    this.#copies.delete(key);
  }

  /**
   * Keeps `copy` of `key` unless a change came after `readGeneration`; the key's older copy
   * goes either way. A copy larger than the whole budget is not kept.
   */
  protected store(key: string, copy: C, readGeneration: number): void {
    this.#copies.delete(key);
    if (readGeneration !== this.#generation) return;
    // Indexed before it is set: setting may evict it at once, and eviction unindexes.
    for (const group of this.groupsOf(copy)) {
      let keys = this.#byGroup.get(group);
      if (!keys) this.#byGroup.set(group, (keys = new Set()));
      keys.add(key);
    }
    if (!this.#copies.set(key, copy)) this.#unindex(key, copy);
  }

  /**
   * Runs a change made through this isolate, dropping the copies it touches (every copy in
   * `groups`, and those of `keys`) before it and again after it, also when it failed (it may
   * have been applied): a read that raced it keeps nothing (the generation), and this isolate's
   * readers see it at once.
   */
  async changing<T>(groups: readonly string[], keys: readonly string[], change: () => Promise<T>): Promise<T> {
    this.dropCopies(groups, keys);
    try {
      return await change();
    } finally {
      this.dropCopies(groups, keys);
    }
  }

  /** A change made through this isolate: drops every copy in `groups`, and those of `keys`. */
  protected dropCopies(groups: readonly string[], keys: readonly string[] = []): void {
    this.#generation++;
    for (const group of groups) for (const key of [...(this.#byGroup.get(group) ?? [])]) this.#copies.delete(key);
    for (const key of keys) this.#copies.delete(key);
  }

  #unindex(key: string, copy: C): void {
    for (const group of this.groupsOf(copy)) {
      const keys = this.#byGroup.get(group);
      keys?.delete(key);
      if (keys?.size === 0) this.#byGroup.delete(group);
    }
  }
}
