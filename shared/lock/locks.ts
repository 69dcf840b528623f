import { InvalidInputError, isRedisUnavailable } from "../errors";
import { DEFAULT_PREFIX, validateName } from "../keys";
import { assertRawReplies, type ScriptClient } from "../redis/client";
import { type Attempt, type Backoff, exponentialJitter, retryWithin } from "./backoff";
import {
  acquireRequest,
  extendRequest,
  parseAcquireReply,
  parseExtendReply,
  parseReleaseReply,
  parseStatusReply,
  releaseRequest,
  statusRequest,
} from "./codec";
import { type LeaseMemory, leaseMemory } from "./isolate";
import { lockKeys, releasedKey } from "./keys";
import { newToken, validateToken } from "./token";
import {
  type AcquireOptions,
  type AcquireResult,
  DEFAULT_FENCE_RETENTION_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RELEASE_MEMORY_MS,
  DEFAULT_TTL_MS,
  type ExtendResult,
  type Lease,
  type LocksOptions,
  type LockStatus,
  MAX_LIMIT,
  MAX_TTL_MS,
  MAX_WAIT_MS,
  type ReleaseResult,
} from "./types";
import { integerIn } from "../integer";

/** The commands the lock core sends: scripts only. */
export type LockClient = ScriptClient;

/** Longest retention of a fence or a release, in ms (30 days). */
const MAX_RETENTION_MS = 30 * 24 * 3600 * 1000;

/**
 * Token-guarded locks and counting semaphores. Every operation is one REST request (one
 * script); `acquire` with `waitMs` repeats that request with backoff until the deadline.
 *
 * Every operation is safe to resend after a lost reply: the token is made before the acquire
 * is sent (a resend finds its own grant), a release leaves a marker that answers its resend,
 * an extend just extends again, and status only reads.
 *
 * A held lock, a refused release or extend are results, not errors. Only invalid input
 * ({@link InvalidInputError}, before any request) and an unreachable Redis throw.
 *
 * @example
 * const locks = new Locks(redis);
 * const lease = await locks.acquire("orders:42", { ttlMs: 5000, waitMs: 1000 });
 * if (lease.acquired) {
 *   try { ... } finally { await locks.release("orders:42", lease.token); }
 * }
 */
export class Locks {
  readonly #redis: LockClient;
  readonly #prefix: string;
  readonly #defaultTtlMs: number;
  readonly #backoff: Backoff;
  readonly #fenceRetentionMs: number;
  readonly #releaseMemoryMs: number;
  readonly #memory: LeaseMemory;

  /** @throws TypeError when `redis` parses replies as JSON (see `assertRawReplies`) */
  constructor(redis: LockClient, options: LocksOptions = {}) {
    assertRawReplies(redis);
    this.#redis = redis;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#defaultTtlMs = integerIn(options.defaultTtlMs ?? DEFAULT_TTL_MS, "defaultTtlMs", 1, MAX_TTL_MS);
    this.#backoff = options.backoff ?? exponentialJitter({ baseMs: 10, maxMs: 100 });
    this.#fenceRetentionMs = integerIn(options.fenceRetentionMs ?? DEFAULT_FENCE_RETENTION_MS, "fenceRetentionMs", 1, MAX_RETENTION_MS);
    this.#releaseMemoryMs = integerIn(options.releaseMemoryMs ?? DEFAULT_RELEASE_MEMORY_MS, "releaseMemoryMs", 1, MAX_RETENTION_MS);
    this.#memory = options.memory ?? leaseMemory;
  }

  /**
   * Tries to take the lock (or a semaphore place) until it succeeds or `waitMs` is used up.
   * Takes at most `waitMs` plus one request, in at most `maxAttempts` requests. A request that
   * fails because Redis is unreachable is resent with the same token while time remains, then
   * the error is thrown.
   */
  async acquire(name: string, options: AcquireOptions = {}): Promise<AcquireResult> {
    validateName(name, "name");
    const ttlMs = integerIn(options.ttlMs ?? this.#defaultTtlMs, "ttlMs", 1, MAX_TTL_MS);
    const waitMs = integerIn(options.waitMs ?? 0, "waitMs", 0, MAX_WAIT_MS);
    const limit = integerIn(options.limit ?? 1, "limit", 1, MAX_LIMIT);
    const maxAttempts = integerIn(options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, "maxAttempts", 1, 10_000);
    const token = newToken();
    const { script, call } = acquireRequest(lockKeys(this.#prefix, name), { token, ttlMs, limit, fenceRetentionMs: this.#fenceRetentionMs });

    const attempt = async (): Promise<Attempt<Lease, { retryAfterMs: number } | { error: unknown }>> => {
      options.onAttempt?.();
      try {
        const outcome = parseAcquireReply(await script.run(this.#redis, call), name, token);
        if (outcome.acquired) {
          this.#memory.remember(token, outcome.hint);
          return { done: true, value: outcome.lease };
        }
        return { done: false, value: { retryAfterMs: outcome.retryAfterMs }, retryAfterMs: outcome.retryAfterMs };
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
    const keys = { ...lockKeys(this.#prefix, name), released: releasedKey(this.#prefix, name, token) };
    const { script, call } = releaseRequest(keys, {
      token,
      hint: this.#memory.recall(token),
      fenceRetentionMs: this.#fenceRetentionMs,
      releaseMemoryMs: this.#releaseMemoryMs,
    });
    const result = parseReleaseReply(await script.run(this.#redis, call));
    // Released or not, this token holds nothing any more.
    this.#memory.forget(token);
    return result;
  }

  /**
   * Makes the lease of `token` end `ttlMs` from now (Redis time), if `token` still holds it.
   * An ended lease cannot be extended: the name may already have had another holder.
   */
  async extend(name: string, token: string, ttlMs: number): Promise<ExtendResult> {
    validateName(name, "name");
    validateToken(token);
    integerIn(ttlMs, "ttlMs", 1, MAX_TTL_MS);
    const { script, call } = extendRequest(lockKeys(this.#prefix, name), {
      token,
      ttlMs,
      hint: this.#memory.recall(token),
      fenceRetentionMs: this.#fenceRetentionMs,
    });
    const result = parseExtendReply(await script.run(this.#redis, call));
    if (!result.extended) this.#memory.forget(token);
    return result;
  }

  /** Whether the name is held, until when, and the holder's fence; never a token. */
  async status(name: string): Promise<LockStatus> {
    validateName(name, "name");
    const { script, call } = statusRequest(lockKeys(this.#prefix, name));
    return parseStatusReply(await script.run(this.#redis, call));
  }
}

