import { BoundedMap } from "../bounded-map";

/**
 * The isolate's leases: units a check reserved in Redis (counted there as spent at once) that
 * this isolate may admit locally, with no request, until they are spent or the lease ends.
 *
 * A lease's end is reported by Redis as a duration from the moment its script ran; the
 * limiter converts it with the local clock read *before* the request was sent, so the local
 * end falls at or before the real one (as for the block cache). A lease that has ended is
 * never used again: its unused units are lost (bounded under-admission), never moved to a
 * later window.
 *
 * One isolate interleaves requests at every await, so it takes at most one lease per key at a
 * time: while a lease request is in flight (`track`), other checks of the key wait for it
 * (`pendingFor`) rather than each reserve their own batch, which would leave units stranded.
 * Bounded: least recently granted leases are dropped first (their units are lost).
 */
export class LeaseStore {
  readonly #leases: BoundedMap<string, Lease>;
  readonly #pending = new Map<string, Promise<unknown>>();

  /** @param maxEntries most leases held (default 10,000) */
  constructor(readonly maxEntries = 10_000) {
    this.#leases = new BoundedMap(maxEntries);
  }

  /**
   * Takes `cost` units from the lease of every key, if each holds that many at local time
   * `nowMs`; otherwise takes nothing and answers undefined. Synchronous, so all or nothing even
   * with requests interleaved.
   */
  take(keys: readonly string[], cost: number, nowMs: number): LeaseView[] | undefined {
    if (!keys.every((key) => this.#usable(key, nowMs) >= cost)) return undefined;
    return keys.map((key) => {
      const lease = this.#leases.get(key)!;
      lease.units -= cost;
      return { units: lease.units, remaining: lease.base + lease.units, resetMs: Math.max(0, lease.resetAt - nowMs) };
    });
  }

  /** Units of `key`'s lease usable at local time `nowMs` (0: none, or it has ended). */
  units(key: string, nowMs: number): number {
    return this.#usable(key, nowMs);
  }

  /** Holds a lease granted by Redis for `key`, replacing any it held; `units` 0 holds none. */
  grant(key: string, lease: Lease): void {
    if (lease.units > 0) this.#leases.set(key, { ...lease });
    else this.#leases.delete(key);
  }

  /** Forgets `key`'s lease (a reset through this isolate: its units are gone in Redis too). */
  delete(key: string): void {
    this.#leases.delete(key);
  }

  /** A lease request in flight for any of `keys`, to wait for before asking Redis again. */
  pendingFor(keys: readonly string[]): Promise<unknown> | undefined {
    for (const key of keys) {
      const pending = this.#pending.get(key);
      if (pending) return pending;
    }
    return undefined;
  }

  /** Whether a lease request for `key` is in flight. */
  isPending(key: string): boolean {
    return this.#pending.has(key);
  }

  /** Marks `keys` as having a lease request in flight until `request` settles. */
  track(keys: readonly string[], request: Promise<unknown>): void {
    const settled = request.then(
      () => undefined,
      () => undefined,
    );
    for (const key of keys) this.#pending.set(key, settled);
    void settled.then(() => {
      for (const key of keys) if (this.#pending.get(key) === settled) this.#pending.delete(key);
    });
  }

  /** Number of leases held, ended ones included until they are looked up or pushed out. */
  get size(): number {
    return this.#leases.size;
  }

  #usable(key: string, nowMs: number): number {
    const lease = this.#leases.get(key);
    if (lease === undefined) return 0;
    if (lease.expiresAt <= nowMs) {
      this.#leases.delete(key);
      return 0;
    }
    return lease.units;
  }
}

/** A lease as held: units left, and the policy's state in Redis when it was granted. */
export interface Lease {
  /** Units left to admit locally. */
  units: number;
  /** Local time at which the lease ends (never after its end in Redis time). */
  expiresAt: number;
  /** Units Redis had left once this lease was counted as spent. */
  base: number;
  /** Local time at which the full limit is back if nothing more is spent (Redis's `reset_ms`). */
  resetAt: number;
}

/** What a local admission reports for one policy. */
export interface LeaseView {
  /** Units left in the lease after this admission. */
  units: number;
  /** Units left: those Redis had when the lease was granted, plus those still leased. */
  remaining: number;
  /** Milliseconds until the full limit is back if nothing more is spent. */
  resetMs: number;
}
