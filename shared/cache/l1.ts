import { BoundedMap } from "../bounded-map";
import type { CacheEntry } from "./types";

/**
 * The isolate's L1: copies of entries Redis confirmed fresh, served from memory to callers who
 * accept a bounded staleness (`maxStaleMs`), so a hot key costs no request at all.
 *
 * The rule that keeps every guarantee within the bound: a copy is served only while
 * - it was confirmed fresh by Redis no longer ago than the caller's bound, and
 * - its own TTL has not passed (fresh-until, carried over from Redis time when confirmed).
 * So an entry invalidated, deleted or expired elsewhere is never served more than the bound
 * after the change. Changes made through this isolate (invalidate, delete, set) drop the copies
 * they touch at once. Only fresh copies are kept; a stale entry is always read from Redis.
 *
 * Memory is bounded by bytes: least recently used copies go first once the budget is reached.
 */

/** Default budget: 16 MiB, well inside an isolate's 128 MB. */
export const DEFAULT_L1_BYTES = 16 * 1024 * 1024;

/** A copy in L1. */
export interface L1Copy {
  entry: CacheEntry;
  /** The id of the store that wrote the entry: revalidation asks Redis whether it is still the one. */
  version: string;
  /** Local time (ms) when Redis last confirmed it fresh. */
  confirmedAt: number;
  /** Local time (ms) when it stops being fresh, from its fresh-until in Redis time. */
  freshUntil: number;
  /** Local time (ms) when it was stored, for its age. */
  storedAt: number;
  bytes: number;
}

/** What {@link L1Cache.lookup} found. */
export type L1Lookup =
  /** Servable: confirmed within the bound and fresh. */
  | { kind: "hit"; copy: L1Copy }
  /** Known but confirmed too long ago (or nothing servable): revalidate with `version`. */
  | { kind: "revalidate"; copy: L1Copy }
  | { kind: "none" };

/** Fresh copies by key, in the isolate's LRU bounded by bytes ({@link BoundedMap}). */
export class L1Cache {
  readonly #copies: BoundedMap<string, L1Copy>;
  readonly #byTag = new Map<string, Set<string>>();
  #generation = 0;

  /**
   * @param maxBytes budget in bytes (default {@link DEFAULT_L1_BYTES})
   * @param clock the local clock (default Date.now)
   */
  constructor(
    maxBytes = DEFAULT_L1_BYTES,
    private readonly clock: () => number = Date.now,
  ) {
    this.#copies = new BoundedMap<string, L1Copy>(Number.POSITIVE_INFINITY, {
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
   * Counts the invalidations made through this isolate. A read takes it before asking Redis
   * and passes it to {@link keep}: a copy whose read raced an invalidation of this isolate is
   * not kept, so such an invalidation takes effect at once.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Looks up `key` for a caller accepting copies confirmed up to `maxStaleMs` ago. */
  lookup(key: string, maxStaleMs: number): L1Lookup {
    const copy = this.#copies.use(key);
    if (!copy) return { kind: "none" };
    const now = this.clock();
    if (now >= copy.freshUntil) {
      this.#copies.delete(key);
      return { kind: "none" };
    }
    return now - copy.confirmedAt <= maxStaleMs ? { kind: "hit", copy } : { kind: "revalidate", copy };
  }

  /**
   * Keeps a copy Redis just confirmed fresh (`nowUs` and `freshUntilUs` in Redis time).
   * A copy larger than the whole budget is not kept.
   */
  keep(key: string, entry: CacheEntry, version: string, timing: { nowUs: number; freshUntilUs: number; storedAtUs: number }, readGeneration: number): void {
    const now = this.clock();
    const bytes = sizeOf(key, entry);
    this.#copies.delete(key);
    if (readGeneration !== this.#generation || entry.stale || !version) return;
    const copy: L1Copy = {
      entry,
      version,
      confirmedAt: now,
      freshUntil: now + (timing.freshUntilUs - timing.nowUs) / 1000,
      storedAt: now - (timing.nowUs - timing.storedAtUs) / 1000,
      bytes,
    };
    // Indexed before it is set: setting may evict it at once (larger than the budget), and
    // eviction unindexes.
    for (const tag of entry.tags) {
      let keys = this.#byTag.get(tag);
      if (!keys) this.#byTag.set(tag, (keys = new Set()));
      keys.add(key);
    }
    if (!this.#copies.set(key, copy)) this.#unindex(key, copy);
  }

  /** Redis confirmed the copy unchanged: it counts as confirmed now. */
  confirm(key: string, timing: { nowUs: number; freshUntilUs: number }): void {
    const copy = this.#copies.get(key);
    if (!copy) return;
    const now = this.clock();
    copy.confirmedAt = now;
    copy.freshUntil = now + (timing.freshUntilUs - timing.nowUs) / 1000;
  }

  /** Drops the copy of `key`, as a change made through this isolate does. */
  drop(key: string): void {
    this.#generation++;
    this.#copies.delete(key);
  }

  #unindex(key: string, copy: L1Copy): void {
    for (const tag of copy.entry.tags) {
      const keys = this.#byTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.#byTag.delete(tag);
    }
  }

  /** Drops every copy, as a new isolate starts with none. */
  clear(): void {
    this.#generation++;
    this.#copies.clear();
  }

  /** Drops every copy carrying one of `tags`, and those of `keys`. */
  invalidate(tags: readonly string[], keys: readonly string[]): void {
    this.#generation++;
    for (const tag of tags) for (const key of [...(this.#byTag.get(tag) ?? [])]) this.#copies.delete(key);
    for (const key of keys) this.#copies.delete(key);
  }
}

/** Bytes a copy holds, roughly: its value, key and tags as UTF-16, plus a fixed overhead. */
function sizeOf(key: string, entry: CacheEntry): number {
  const value = entry.value;
  const valueBytes =
    value.type === "bytes" ? value.bytes.byteLength : value.type === "text" ? value.text.length * 2 : JSON.stringify(value.value).length * 2;
  return 200 + key.length * 2 + entry.tags.reduce((sum, tag) => sum + tag.length * 2 + 40, 0) + valueBytes;
}
