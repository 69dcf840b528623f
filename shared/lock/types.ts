import type { Backoff } from "./backoff";
import type { LeaseMemory } from "./isolate";

/** Longest lease in ms. */
export const MAX_TTL_MS = 300_000;
/** Longest bounded wait for an acquire in ms. */
export const MAX_WAIT_MS = 10_000;
/** Most holders a semaphore admits. */
export const MAX_LIMIT = 1000;
/** Default lease in ms. */
export const DEFAULT_TTL_MS = 10_000;
/**
 * Default most attempts of one acquire. A Worker may make 50 subrequests per request on the
 * free plan; 40 leaves room for the request's other calls, even with `waitMs` at its maximum.
 */
export const DEFAULT_MAX_ATTEMPTS = 40;
/** Default of {@link LocksOptions.fenceRetentionMs}: 24 hours. */
export const DEFAULT_FENCE_RETENTION_MS = 24 * 3600 * 1000;
/** Default of {@link LocksOptions.releaseMemoryMs}: 60 seconds. */
export const DEFAULT_RELEASE_MEMORY_MS = 60_000;

/** A granted lease. `expiresAt` is in ms since the epoch by Redis's clock. */
export interface Lease {
  name: string;
  /** 128 random bits as 32 hex characters: proves ownership (extend, release). */
  token: string;
  /** Greater than the fence of every earlier grant of this name (docs/locks.md "Fencing tokens"). */
  fence: number;
  expiresAt: number;
}

/** What `acquire` returns: the lease, or when a retry could succeed. */
export type AcquireResult =
  | ({ acquired: true } & Lease)
  | {
      acquired: false;
      /** Until the holder's lease (a semaphore: the earliest lease) ends, unless it is extended. */
      retryAfterMs: number;
    };

/** What `release` returns. `not-held`: nobody holds the name with this token (free, or the lease ended). */
export type ReleaseResult = { released: true } | { released: false; reason: "held-by-another" | "not-held" };

/** What `extend` returns. An ended lease cannot be extended: the name may have had another holder. */
export type ExtendResult = { extended: true; expiresAt: number } | { extended: false; reason: "held-by-another" | "not-held" };

/** A name's state. Never carries a token. */
export type LockStatus =
  | { locked: false }
  | {
      locked: true;
      /** 1 for an exclusive lock; the number of live holders of a semaphore. */
      holders: number;
      /** When the lease (a semaphore: the last lease) ends, in ms since the epoch. */
      expiresAt: number;
      /** The holder's fence (a semaphore: the highest among live holders). */
      fence?: number;
    };

/** Options of one acquire. */
export interface AcquireOptions {
  /** Lease in ms, 1–300000 (default: the `defaultTtlMs` of `Locks`, itself default 10000). */
  ttlMs?: number;
  /** How long to keep trying in ms, 0–10000 (default 0: one attempt). */
  waitMs?: number;
  /** Holders admitted at once, 1–1000 (default 1: an exclusive lock; above 1: a counting semaphore). */
  limit?: number;
  /** Backoff between attempts (default: the `Locks` backoff). */
  retry?: Backoff;
  /** Most attempts within `waitMs`, 1–10000 (default 40); the last one still comes at the deadline. */
  maxAttempts?: number;
  /** Called just before each attempt is sent, e.g. to time the granted lease on the local clock. */
  onAttempt?: () => void;
}

/** Options of `Locks`. */
export interface LocksOptions {
  /** Key prefix (default `DEFAULT_PREFIX`, "erf"). */
  prefix?: string;
  /** Lease when an acquire gives none, 1–300000 ms (default 10000). */
  defaultTtlMs?: number;
  /** Backoff between acquire attempts (default `exponentialJitter({ baseMs: 10, maxMs: 100 })`). */
  backoff?: Backoff;
  /**
   * How long a name keeps its last fence after its last holder released it (the release
   * marker), and a semaphore's fence counter after its last grant, in ms (default 24 h). Within
   * it, the next grant continues from the last fence even if Redis's clock stepped back; after
   * it, the clock floor alone orders fences (docs/locks.md "Fencing tokens").
   */
  fenceRetentionMs?: number;
  /**
   * How long a semaphore remembers that a holder released its place, so that a resent
   * release still answers "released", in ms (default 60 s). An exclusive release is
   * remembered by the release marker instead, for `fenceRetentionMs`.
   */
  releaseMemoryMs?: number;
  /**
   * What this isolate remembers of the leases it granted (default: the module's
   * `leaseMemory`). Pass `new LeaseMemory()` to act as another isolate would.
   */
  memory?: LeaseMemory;
}
