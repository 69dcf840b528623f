import { InvalidInputError, isRedisUnavailable } from "../errors";
import { keyspace, validateName } from "../keys";
import type { ScriptClient } from "../redis/client";
import { type Attempt, type Backoff, exponentialJitter, retryWithin } from "./backoff";
import { ACQUIRE_EXCLUSIVE, ACQUIRE_SHARED, EXTEND, RELEASE, STATUS } from "./scripts";
import { newToken, validateToken } from "./token";

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

/** The commands the lock core sends: scripts only. */
export type LockClient = ScriptClient;

/** A granted lease. `expiresAt` is in ms since the epoch by Redis's clock. */
export interface Lease {
  name: string;
  token: string;
  /** Greater than the fence of every earlier grant of this name (docs/locks.md). */
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

export type ReleaseResult = { released: true } | { released: false; reason: "held-by-another" | "not-held" };
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
  /** Lease in ms, 1–300000 (default: the `defaultTtlMs` of {@link Locks}, itself default 10000). */
  ttlMs?: number;
  /** How long to keep trying in ms, 0–10000 (default 0: one attempt). */
  waitMs?: number;
  /** Holders admitted at once, 1–1000 (default 1: an exclusive lock; above 1: a counting semaphore). */
  limit?: number;
  /** Backoff between attempts (default: the {@link Locks} backoff). */
  retry?: Backoff;
  /** Most attempts within `waitMs` (default 40); the last one still comes at the deadline. */
  maxAttempts?: number;
  /** Called just before each attempt is sent, e.g. to time the granted lease on the local clock. */
  onAttempt?: () => void;
}

/** Options of {@link Locks}. */
export interface LocksOptions {
  /** Key prefix, e.g. KEY_PREFIX (default "erf"). */
  prefix?: string;
  /** Lease when an acquire gives none (default 10000 ms). */
  defaultTtlMs?: number;
  /** Backoff between acquire attempts (default `exponentialJitter({ baseMs: 10, maxMs: 100 })`). */
  backoff?: Backoff;
  /** How long a fence counter outlives the name's last grant (default 24 h); see docs/locks.md. */
  fenceRetentionMs?: number;
  /** How long a release is remembered so that a retried release still succeeds (default 60 s). */
  releaseMemoryMs?: number;
}

/**
 * Token-guarded locks and counting semaphores over Redis scripts. Every operation is one REST
 * request; `acquire` with `waitMs` repeats that request with backoff until the deadline.
 *
 * Every operation is safe to retry after a lost reply: the token is made before the acquire is
 * sent (a retry finds its own grant), a release is remembered for `releaseMemoryMs`, an extend
 * just extends again, and status only reads.
 *
 * @example
 * const locks = new Locks(redis, { prefix: "erf" });
 * const lease = await locks.acquire("orders:42", { ttlMs: 5000, waitMs: 1000 });
 * if (lease.acquired) {
 *   try { ... } finally { await locks.release("orders:42", lease.token); }
 * }
 */
export class Locks {
  readonly #key: (kind: string, ...names: string[]) => string;
  readonly #defaultTtlMs: number;
  readonly #backoff: Backoff;
  readonly #fenceRetentionMs: number;
  readonly #releaseMemoryMs: number;

  constructor(
    private readonly redis: LockClient,
    options: LocksOptions = {},
  ) {
    this.#key = keyspace(options.prefix ?? "erf", "lock");
    this.#defaultTtlMs = checkInt(options.defaultTtlMs ?? DEFAULT_TTL_MS, "defaultTtlMs", 1, MAX_TTL_MS);
    this.#backoff = options.backoff ?? exponentialJitter({ baseMs: 10, maxMs: 100 });
    this.#fenceRetentionMs = options.fenceRetentionMs ?? 24 * 3600 * 1000;
    this.#releaseMemoryMs = options.releaseMemoryMs ?? 60_000;
  }

  /**
   * Tries to take the lock (or a semaphore place) until it succeeds or `waitMs` is used up.
   * Takes at most `waitMs` plus one request, in at most `maxAttempts` requests. A request that fails because Redis is unreachable
   * is retried with the same token while time remains, then the error is thrown.
   */
  async acquire(name: string, options: AcquireOptions = {}): Promise<AcquireResult> {
    validateName(name, "name");
    const ttlMs = checkInt(options.ttlMs ?? this.#defaultTtlMs, "ttlMs", 1, MAX_TTL_MS);
    const waitMs = checkInt(options.waitMs ?? 0, "waitMs", 0, MAX_WAIT_MS);
    const limit = checkInt(options.limit ?? 1, "limit", 1, MAX_LIMIT);
    const maxAttempts = checkInt(options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, "maxAttempts", 1, 10_000);
    const token = newToken();
    const keys = [this.#key("lease", name), this.#key("holders", name), this.#key("fence", name)];
    const args = limit === 1 ? [token, ttlMs, this.#fenceRetentionMs] : [token, ttlMs, this.#fenceRetentionMs, limit];
    const script = limit === 1 ? ACQUIRE_EXCLUSIVE : ACQUIRE_SHARED;

    const attempt = async (): Promise<Attempt<Lease, { retryAfterMs: number } | { error: unknown }>> => {
      options.onAttempt?.();
      try {
        const [granted, a, b] = await script.run(this.redis, keys, args);
        if (granted === 1) return { done: true, value: { name, token, fence: Number(a), expiresAt: Number(b) } };
        const retryAfterMs = Math.max(0, Number(a));
        return { done: false, value: { retryAfterMs }, retryAfterMs };
      } catch (error) {
        if (!isRedisUnavailable(error)) throw error;
        return { done: false, value: { error } };
      }
    };
    const outcome = await retryWithin(attempt, { waitMs, maxAttempts, backoff: options.retry ?? this.#backoff });
    if (outcome.done) return { acquired: true, ...outcome.value };
    if ("error" in outcome.value) throw outcome.value.error;
    return { acquired: false, retryAfterMs: outcome.value.retryAfterMs };
  }

  /** Ends the lease of `token`; only its holder can. Says whether it did, and if not, why. */
  async release(name: string, token: string): Promise<ReleaseResult> {
    validateName(name, "name");
    validateToken(token);
    const keys = [this.#key("lease", name), this.#key("holders", name), this.#key("released", name, token)];
    const outcome = Number(await RELEASE.run(this.redis, keys, [token, this.#releaseMemoryMs]));
    if (outcome === 1) return { released: true };
    return { released: false, reason: outcome === 0 ? "held-by-another" : "not-held" };
  }

  /**
   * Makes the lease of `token` end `ttlMs` from now (Redis time), if `token` still holds it.
   * An expired lease cannot be extended: the name may already have a new holder.
   */
  async extend(name: string, token: string, ttlMs: number): Promise<ExtendResult> {
    validateName(name, "name");
    validateToken(token);
    checkInt(ttlMs, "ttlMs", 1, MAX_TTL_MS);
    const [outcome, expiresAt] = await EXTEND.run(this.redis, [this.#key("lease", name), this.#key("holders", name)], [token, ttlMs]);
    if (outcome === 1) return { extended: true, expiresAt: Number(expiresAt) };
    return { extended: false, reason: outcome === 0 ? "held-by-another" : "not-held" };
  }

  /** Whether the name is held, until when, and the holder's fence; never a token. */
  async status(name: string): Promise<LockStatus> {
    validateName(name, "name");
    const [holders, expiresAt, fence] = await STATUS.run(this.redis, [this.#key("lease", name), this.#key("holders", name)], []);
    if (!holders) return { locked: false };
    return {
      locked: true,
      holders: Number(holders),
      expiresAt: Number(expiresAt),
      ...(fence !== undefined && fence !== null ? { fence: Number(fence) } : {}),
    };
  }
}

function checkInt(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`${field} must be an integer from ${min} to ${max}`, field);
  }
  return value;
}
