import { IsolateCopies } from "../isolate-copies";
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
  /**
   * Local time (ms) when the read that last confirmed it fresh was sent: Redis looked at the
   * entry at some moment after that, so the bound counts from there, never from the reply.
   */
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

/** Fresh copies by key, in the isolate's LRU bounded by bytes ({@link IsolateCopies}), indexed by tag. */
export class L1Cache extends IsolateCopies<L1Copy> {
  /**
   * @param maxBytes budget in bytes (default {@link DEFAULT_L1_BYTES})
   * @param clock the local clock (default Date.now)
   */
  constructor(maxBytes = DEFAULT_L1_BYTES, clock: () => number = Date.now) {
    super(maxBytes, (copy) => copy.entry.tags, clock);
  }

  /** Looks up `key` for a caller accepting copies confirmed up to `maxStaleMs` ago. */
  lookup(key: string, maxStaleMs: number): L1Lookup {
    const live = this.live(key, maxStaleMs);
    if (!live) return { kind: "none" };
    return { kind: live.withinBound ? "hit" : "revalidate", copy: live.copy };
  }

  protected endOf(copy: L1Copy): number {
    return copy.freshUntil;
  }

  /**
   * Keeps a copy Redis confirmed fresh (`nowUs` and `freshUntilUs` in Redis time) in a read
   * sent at `read.sentAt` (local time), unless an invalidation through this isolate came after
   * `read.generation`. Only fresh copies with a version are kept. A copy larger than the whole
   * budget is not kept.
   */
  keep(key: string, entry: CacheEntry, version: string, timing: { nowUs: number; freshUntilUs: number; storedAtUs: number }, read: L1Read): void {
    if (entry.stale || !version) {
      this.forget(key);
      return;
    }
    this.store(
      key,
      {
        entry,
        version,
        ...confirmedBy(read, timing),
        storedAt: this.now() - (timing.nowUs - timing.storedAtUs) / 1000,
        bytes: sizeOf(key, entry),
      },
      read.generation,
    );
  }

  /** Redis confirmed the copy unchanged in a read sent at `sentAt`: it counts as confirmed then. */
  confirm(key: string, timing: { nowUs: number; freshUntilUs: number }, sentAt: number): void {
    const copy = this.peek(key);
    if (!copy) return;
    Object.assign(copy, confirmedBy({ sentAt }, timing));
  }

  /** Drops every copy carrying one of `tags`, and those of `keys`. */
  invalidate(tags: readonly string[], keys: readonly string[]): void {
    this.dropCopies(tags, keys);
  }
}

/**
 * A read of Redis as the L1 sees it: the generation it started at, and the local time it was
 * sent (taken before the request, so a slow reply cannot stretch the bound).
 */
export interface L1Read {
  generation: number;
  sentAt: number;
}

/**
 * When a copy was confirmed, and until when it is fresh, on the local clock. Both count from
 * the moment the read was sent: Redis measured the time left at some moment after it, so the
 * copy stops being served no later than Redis would stop serving it.
 */
function confirmedBy(read: { sentAt: number }, timing: { nowUs: number; freshUntilUs: number }): { confirmedAt: number; freshUntil: number } {
  return { confirmedAt: read.sentAt, freshUntil: read.sentAt + (timing.freshUntilUs - timing.nowUs) / 1000 };
}

/** Bytes a copy holds, roughly: its value, key and tags as UTF-16, plus a fixed overhead. */
function sizeOf(key: string, entry: CacheEntry): number {
  const value = entry.value;
  const valueBytes =
    value.type === "bytes" ? value.bytes.byteLength : value.type === "text" ? value.text.length * 2 : JSON.stringify(value.value).length * 2;
  return 200 + key.length * 2 + entry.tags.reduce((sum, tag) => sum + tag.length * 2 + 40, 0) + valueBytes;
}
