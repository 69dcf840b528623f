import { isRedisUnavailable } from "../errors";
import { withRedisDeadline } from "../redis/deadline";
import { assertRawReplies, type RedisClient } from "../redis/client";
import type { BlockCache } from "./block-cache";
import {
  buildCheck,
  cachedBlock,
  failureResult,
  leaseResult,
  parseCheck,
  summarize,
  targetsOf,
  validateCost,
  validatePolicies,
  type Target,
} from "./codec";
import { blockedIdentifiers, leases } from "./isolate";
import type { LeaseStore } from "./lease-store";
import { rateKeys } from "./keys";
import { CHECK } from "./scripts";
import { DEFAULT_TIMEOUT_MS, type CheckMode, type Identity, type LimitResult, type Policy, type RateLimiterOptions } from "./types";

/** The commands a limiter sends: the check script (EVALSHA, EVAL after NOSCRIPT) and DEL for `reset`. */
export type RateLimitClient = Pick<RedisClient, "evalsha" | "eval" | "del">;

/**
 * Checks one or more policies for an identifier in one Redis request (the check script), with
 * a timeout and an explicit failure policy, and remembers blocked identifiers so that the next
 * attempt is rejected without any request.
 *
 * Not retried: a check that reached Redis but whose reply was lost would spend twice if sent
 * again, so give the limiter a client with retries off (`createRedis({ ..., retries: 0 })`);
 * a failed request is handled by the failure policy instead.
 *
 * Leases: when every policy of the limiter has a `lease` option, a check that goes to Redis
 * also reserves a batch of units for this isolate, and later checks are admitted from it with
 * no request (`source: "lease"`) until it is spent or ends. A limiter with some policies
 * without `lease` never leases: it could never admit locally anyway.
 *
 * @throws TypeError when `redis` parses replies as JSON (see `assertRawReplies`)
 * @throws RangeError for invalid policies (none, more than 10, a bad or repeated name)
 * @example
 * const limiter = new RateLimiter(redis, {
 *   policies: [
 *     { name: "per-ip", algorithm: fixedWindow({ limit: 100, windowMs: 60_000 }) },
 *     { name: "per-user", algorithm: tokenBucket({ capacity: 1000, refill: 1000, intervalMs: 3_600_000 }) },
 *   ],
 * });
 * const result = await limiter.limit({ "per-ip": ip, "per-user": userId });
 * if (!result.allowed) return tooManyRequests(result.retryAfterMs);
 */
export class RateLimiter {
  readonly policies: readonly Policy[];
  readonly #redis: RateLimitClient;
  readonly #keyOf: (policy: Policy, id: string) => string;
  readonly #cache: BlockCache | false;
  readonly #leases: LeaseStore | undefined;
  readonly #now: () => number;
  readonly #timeoutMs: number;

  constructor(redis: RateLimitClient, options: RateLimiterOptions) {
    assertRawReplies(redis);
    this.policies = validatePolicies(options.policies);
    this.#redis = redis;
    const keys = rateKeys(options.prefix, options.namespace);
    this.#keyOf = (policy, id) => keys.state(policy.algorithm, policy.name, id);
    this.#cache = options.cache ?? blockedIdentifiers;
    const store = options.leases ?? leases;
    this.#leases = store && this.policies.every((p) => p.lease) ? store : undefined;
    this.#now = options.now ?? (() => Date.now());
    this.#timeoutMs = timeoutOf(this.policies);
  }

  /**
   * Spends `cost` (default 1) from every policy if all allow, otherwise spends nothing.
   * A negative cost refunds, when every policy is a token bucket. A denial is a result
   * (`allowed: false`), never an error. With leases (every policy has `lease`), a check that
   * every lease can pay is admitted locally (`source: "lease"`, no request); while this
   * isolate's lease request for the identifier is in flight, the check waits for it first.
   * Redis unavailable or slower than the timeout: allowed if every policy fails open,
   * denied otherwise, with `reason: "redis-unavailable"`; never throws for that.
   * @throws InvalidInputError for a bad id or cost (before any request)
   */
  async limit(identity: Identity, options: { cost?: number } = {}): Promise<LimitResult> {
    const targets = this.#targets(identity);
    const cost = validateCost(options.cost ?? 1, this.policies);
    const leasing = cost > 0 ? this.#leases : undefined;
    if (leasing) {
      const keys = targets.map((t) => t.key);
      for (;;) {
        const views = leasing.take(keys, cost, this.#now());
        if (views) return leaseResult(targets, views);
        const pending = leasing.pendingFor(keys);
        if (!pending) break;
        await pending;
      }
    }
    if (cost > 0 && this.#cache) {
      const now = this.#now();
      for (const target of targets) {
        const ms = this.#cache.blockedFor(target.key, now);
        if (ms > 0) return cachedBlock(target, ms);
      }
    }
    try {
      const result = await this.#check("limit", cost, targets, leasing);
      if (cost < 0 && this.#cache) for (const target of targets) this.#cache.delete(target.key);
      return result;
    } catch (error) {
      if (!isRedisUnavailable(error)) throw error;
      return failureResult(this.policies);
    }
  }

  /**
   * The state without spending: `allowed` tells whether one more unit fits now.
   * @throws InvalidInputError for a bad id (before any request)
   * @throws RedisUnavailableError when Redis fails or does not answer in time: a read has
   * nothing to fail open to
   */
  async peek(identity: Identity): Promise<LimitResult> {
    return this.#check("peek", 0, this.#targets(identity));
  }

  /**
   * Forgets everything spent by the identifier under every policy (one DEL).
   * @throws InvalidInputError for a bad id; RedisUnavailableError as {@link peek}
   */
  async reset(identity: Identity): Promise<void> {
    const targets = this.#targets(identity);
    await withRedisDeadline(this.#redis.del(...targets.map((t) => t.key)), this.#timeoutMs);
    if (this.#cache) for (const target of targets) this.#cache.delete(target.key);
    if (this.#leases) for (const target of targets) this.#leases.delete(target.key);
  }

  async #check(mode: CheckMode, cost: number, targets: Target[], leasing?: LeaseStore): Promise<LimitResult> {
    // Read before the request: a block's or a lease's local end must not fall after its end in Redis time.
    const sentAt = this.#now();
    // A lease only for the policies whose lease cannot pay this cost (another policy's may).
    const wanted = targets.map((t) => (leasing && leasing.units(t.key, sentAt) < cost ? t.policy.lease!.units : 0));
    const request = withRedisDeadline(CHECK.run(this.#redis, buildCheck(mode, cost, targets, wanted)), this.#timeoutMs);
    if (leasing) leasing.track(targets.filter((_, i) => wanted[i]! > 0).map((t) => t.key), request);
    const { results, blockMs, grants } = parseCheck(await request, targets);
    const cache = this.#cache;
    if (cache) {
      const now = this.#now();
      results.forEach((result, i) => {
        const ms = blockMs[i]!;
        if (result.remaining === 0 && ms > 0) cache.block(targets[i]!.key, sentAt + ms, now);
      });
    }
    if (leasing) {
      const now = this.#now();
      results.forEach((result, i) => {
        const key = targets[i]!.key;
        const grant = grants[i]!;
        if (wanted[i]! > 0) {
          leasing.grant(key, { units: grant.units, expiresAt: sentAt + grant.ms, base: result.remaining, resetAt: sentAt + result.resetMs });
        }
        // Leased units are spent in Redis but still admissible here: they count as remaining.
        const held = leasing.units(key, now);
        result.remaining += held;
        result.leased = held;
      });
    }
    return summarize(results);
  }

  #targets(identity: Identity): Target[] {
    return targetsOf(this.policies, identity, this.#keyOf);
  }
}

/** How long a check of these policies waits for Redis: the shortest of their timeouts. */
export function timeoutOf(policies: readonly Policy[]): number {
  return Math.min(...policies.map((p) => p.timeoutMs ?? DEFAULT_TIMEOUT_MS));
}
