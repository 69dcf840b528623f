import { BoundedMap } from "../bounded-map";

/**
 * What one isolate remembers of the leases it granted: each token's fence, and the token of
 * the release its grant replaced. Release and extend send these as hints, so Redis can write
 * the new state in one command instead of reading it first (docs/locks.md "Cost"). A hint is
 * never trusted: the script checks it against the state it replaced and corrects a wrong or
 * missing one with one more command. So another isolate, or a Worker restarted since the
 * acquire, is exactly as correct, at one command more.
 */

/** Hints about one granted lease. */
export interface LeaseHint {
  fence: number;
  /** The token of the release this grant replaced ("" when none). */
  prev: string;
}

/** A bounded map token → {@link LeaseHint}; the oldest entries go first when it is full. */
export class LeaseMemory {
  readonly #hints: BoundedMap<string, LeaseHint>;

  /** @param capacity most leases remembered (default 10000: a few MB at most) */
  constructor(readonly capacity = 10_000) {
    this.#hints = new BoundedMap(capacity);
  }

  /** Remembers a lease this isolate was granted. */
  remember(token: string, hint: LeaseHint): void {
    this.#hints.set(token, hint);
  }

  /** The hint for `token`, if this isolate granted it and still remembers it. */
  recall(token: string): LeaseHint | undefined {
    return this.#hints.get(token);
  }

  /** Forgets `token`: its lease was released or is known lost. */
  forget(token: string): void {
    this.#hints.delete(token);
  }

  /** How many leases are remembered. */
  get size(): number {
    return this.#hints.size;
  }
}

/** The isolate's lease memory, shared by every `Locks` built without a `memory` option. */
export const leaseMemory = new LeaseMemory();
