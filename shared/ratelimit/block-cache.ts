import { BoundedMap } from "../bounded-map";

/**
 * The isolate's memory of identifiers known to be blocked, so a client that keeps knocking
 * after a denial is rejected without a request to Redis.
 *
 * An entry is written only when Redis said the policy has no unit left, and it expires when
 * Redis said one unit would be back (`block_ms` in the check script). That duration is
 * relative to Redis time at the moment the script ran; the limiter converts it with the local
 * clock read *before* the request was sent, which is never later than that moment, so the local
 * expiry falls at or before the real end of the block: the cache can only reject inside a block
 * Redis reported. (In Workers `Date.now()` stands still between I/O but advances at each I/O,
 * including the arrival of every request, so a later request sees a fresh enough clock.)
 * A clock that has not moved since the block was learned cannot tell how much of the block is
 * left (a test may freeze it), so the cache then answers "not known" and Redis decides.
 *
 * What the cache cannot see: a reset or a refund made through another isolate. Such an
 * identifier stays rejected here until its cached expiry. Bounded: least recently written
 * entries are dropped first.
 */
export class BlockCache {
  readonly #entries: BoundedMap<string, { until: number; seenAt: number }>;

  /** @param maxEntries most identifiers remembered (default 10,000) */
  constructor(readonly maxEntries = 10_000) {
    this.#entries = new BoundedMap(maxEntries);
  }

  /** Remembers, at local time `nowMs`, that `key` is blocked until local time `untilMs`. */
  block(key: string, untilMs: number, nowMs: number): void {
    this.#entries.set(key, { until: untilMs, seenAt: nowMs });
  }

  /** Milliseconds `key` stays blocked at local time `nowMs`; 0 when it is not (known to be) blocked. */
  blockedFor(key: string, nowMs: number): number {
    const entry = this.#entries.get(key);
    if (entry === undefined || nowMs <= entry.seenAt) return 0;
    if (entry.until <= nowMs) {
      this.#entries.delete(key);
      return 0;
    }
    return entry.until - nowMs;
  }

  /** Forgets `key` (after a reset through this isolate). */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Number of entries, expired ones included until they are looked up or pushed out. */
  get size(): number {
    return this.#entries.size;
  }
}
