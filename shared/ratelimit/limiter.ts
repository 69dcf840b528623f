import { InvalidInputError, isRedisUnavailable, RedisUnavailableError } from "../errors";
import { keyspace, validateName } from "../keys";
import type { RedisClient } from "../redis/client";
import { BlockCache } from "./block-cache";
import { CHECK_SCRIPT, FIELDS_PER_POLICY } from "./check-script";
import { MAX_LIMIT, type LimitResult, type Policy, type PolicyResult } from "./types";

/** The commands a limiter sends: the check script (EVALSHA/EVAL) and DEL for `reset`. */
export type RateLimitClient = Pick<RedisClient, "evalsha" | "eval" | "del">;

/** The identifier checked: one id for every policy, or one per policy name. */
export type Identity = string | Readonly<Record<string, string>>;

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Key prefix (KEY_PREFIX); state keys are `<prefix>:<namespace>:<code>:<policy>:<id>`. */
  prefix: string;
  /**
   * Key namespace (default `"rate"`). Limiters in different namespaces never share state,
   * even for the same policy and id: the Worker's middleware uses its own, so a caller of
   * `/v1/rate/...` can never spend or reset the middleware's counters.
   */
  namespace?: string;
  /** One to {@link MAX_POLICIES} policies, checked together by every call. */
  policies: readonly Policy[];
  /**
   * Cache of blocked identifiers. Default: one cache shared by every limiter of the isolate
   * (limiters are cheap and usually made per request; the cache must outlive them).
   * `false` disables it.
   */
  cache?: BlockCache | false;
  /** Local clock, used only to expire cache entries. Default `Date.now`. */
  now?: () => number;
}

/** Most policies one check may combine. */
export const MAX_POLICIES = 10;
/** Default `timeoutMs` of a policy. */
export const DEFAULT_TIMEOUT_MS = 1000;

/** A policy name: 1–64 characters of A-Z a-z 0-9 _ . - */
export const POLICY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const sharedCache = new BlockCache();

interface Target {
  policy: Policy;
  id: string;
  key: string;
}

/**
 * Checks one or more policies for an identifier in one Redis request (the check script), with
 * a timeout and an explicit failure policy, and remembers blocked identifiers so that the next
 * attempt is rejected without any request.
 *
 * Not retried: a check that reached Redis but whose reply was lost would spend twice if sent
 * again, so give the limiter a client with retries off (`createRedis(..., { retries: 0 })`);
 * a failed request is handled by the failure policy instead.
 *
 * @example
 * const limiter = new RateLimiter(redis, {
 *   prefix: "erf",
 *   policies: [
 *     { name: "per-ip", algorithm: fixedWindow({ limit: 100, windowMs: 60_000 }) },
 *     { name: "per-user", algorithm: tokenBucket({ capacity: 1000, refill: 1000, intervalMs: 3_600_000 }) },
 *   ],
 * });
 * const result = await limiter.limit({ "per-ip": ip, "per-user": userId });
 */
export class RateLimiter {
  readonly policies: readonly Policy[];
  readonly #redis: RateLimitClient;
  readonly #key: (kind: string, ...names: string[]) => string;
  readonly #cache: BlockCache | false;
  readonly #now: () => number;
  readonly #timeoutMs: number;

  constructor(redis: RateLimitClient, options: RateLimiterOptions) {
    const { policies } = options;
    if (policies.length < 1 || policies.length > MAX_POLICIES) {
      throw new RangeError(`a limiter needs 1 to ${MAX_POLICIES} policies`);
    }
    const names = new Set<string>();
    for (const policy of policies) {
      if (!POLICY_NAME.test(policy.name)) throw new RangeError(`invalid policy name "${policy.name}"`);
      if (names.has(policy.name)) throw new RangeError(`duplicate policy name "${policy.name}"`);
      names.add(policy.name);
    }
    this.policies = policies;
    this.#redis = redis;
    this.#key = keyspace(options.prefix, options.namespace ?? "rate");
    this.#cache = options.cache ?? sharedCache;
    this.#now = options.now ?? (() => Date.now());
    this.#timeoutMs = timeoutOf(policies);
  }

  /**
   * Spends `cost` (default 1) from every policy if all allow, otherwise spends nothing.
   * A negative cost refunds, when every policy is a token bucket.
   * Redis unavailable or slower than the timeout: allowed if every policy fails open,
   * denied otherwise, with `reason: "redis-unavailable"`; never throws for that.
   * @throws InvalidInputError for a bad id or cost (before any request)
   */
  async limit(identity: Identity, options: { cost?: number } = {}): Promise<LimitResult> {
    const cost = options.cost ?? 1;
    const targets = this.#targets(identity);
    this.#checkCost(cost);
    if (cost > 0 && this.#cache) {
      const now = this.#now();
      for (const target of targets) {
        const ms = this.#cache.blockedFor(target.key, now);
        if (ms > 0) return cachedBlock(target, ms);
      }
    }
    try {
      const result = await this.#check("limit", cost, targets);
      if (cost < 0 && this.#cache) for (const target of targets) this.#cache.delete(target.key);
      return result;
    } catch (error) {
      if (!isRedisUnavailable(error)) throw error;
      return failureResult(this.policies);
    }
  }

  /**
   * The state without spending: `allowed` tells whether one more unit fits now.
   * @throws when Redis fails or does not answer in time (an error `isRedisUnavailable` accepts:
   * RedisUnavailableError on timeout); a read has nothing to fail open to
   */
  async peek(identity: Identity): Promise<LimitResult> {
    const targets = this.#targets(identity);
    return this.#check("peek", 0, targets);
  }

  /** Forgets everything spent by the identifier under every policy (one DEL). */
  async reset(identity: Identity): Promise<void> {
    const targets = this.#targets(identity);
    await withTimeout(this.#redis.del(...targets.map((t) => t.key)), this.#timeoutMs);
    if (this.#cache) for (const target of targets) this.#cache.delete(target.key);
  }

  async #check(mode: "limit" | "peek", cost: number, targets: Target[]): Promise<LimitResult> {
    const { keys, args } = buildCheck(mode, cost, targets);
    // Read before the request: a block's local expiry must not fall after its end in Redis time.
    const sentAt = this.#now();
    const reply = await withTimeout(CHECK_SCRIPT.run(this.#redis, keys, args), this.#timeoutMs);
    const results = parseReply(reply, targets);
    const cache = this.#cache;
    if (cache) {
      const now = this.#now();
      results.forEach((result, i) => {
        const blockMs = Number(reply[1 + i * FIELDS_PER_POLICY + 4]);
        if (result.remaining === 0 && blockMs > 0) cache.block(targets[i]!.key, sentAt + blockMs, now);
      });
    }
    return summarize(results);
  }

  #targets(identity: Identity): Target[] {
    return this.policies.map((policy) => {
      const id = typeof identity === "string" ? identity : identity[policy.name];
      if (id === undefined) throw new InvalidInputError(`an id for policy "${policy.name}" is required`, "id");
      validateName(id, "id");
      return { policy, id, key: this.#key(policy.algorithm.code, policy.name, id) };
    });
  }

  #checkCost(cost: number): void {
    if (!Number.isInteger(cost) || Math.abs(cost) > MAX_LIMIT) {
      throw new InvalidInputError(`cost must be an integer from -${MAX_LIMIT} to ${MAX_LIMIT}`, "cost");
    }
    if (cost === 0) throw new InvalidInputError("cost must not be 0 (peek reads without spending)", "cost");
    if (cost < 0 && !this.policies.every((p) => p.algorithm.refunds)) {
      throw new InvalidInputError("cost must be a positive integer: only token buckets accept refunds", "cost");
    }
    for (const { name, algorithm } of this.policies) {
      if (cost > algorithm.limit) {
        throw new InvalidInputError(`cost must be at most ${algorithm.limit}, the limit of policy "${name}"`, "cost");
      }
    }
  }
}

/** How long a check of these policies waits for Redis: the shortest of their timeouts. */
export function timeoutOf(policies: readonly Policy[]): number {
  return Math.min(...policies.map((p) => p.timeoutMs ?? DEFAULT_TIMEOUT_MS));
}

/**
 * The result of a check that could not reach Redis: allowed only if every policy fails open.
 * The numbers are unknown and given as 0 (the limit is that of the deciding policy).
 */
export function failureResult(policies: readonly Policy[]): LimitResult {
  const closed = policies.find((p) => (p.failure ?? "open") === "closed");
  const decider = closed ?? policies[0]!;
  return {
    allowed: !closed,
    limit: decider.algorithm.limit,
    remaining: 0,
    resetMs: 0,
    retryAfterMs: 0,
    reason: "redis-unavailable",
    policies: [],
  };
}

/** KEYS and ARGV of the check script (pure; see `check-script.ts` for the layout). */
export function buildCheck(
  mode: "limit" | "peek",
  cost: number,
  targets: ReadonlyArray<{ policy: Policy; key: string }>,
): { keys: string[]; args: Array<string | number> } {
  const args: Array<string | number> = [mode, cost];
  for (const { policy } of targets) args.push(policy.algorithm.code, ...policy.algorithm.params);
  return { keys: targets.map((t) => t.key), args };
}

function parseReply(reply: unknown, targets: Target[]): PolicyResult[] {
  if (!Array.isArray(reply) || reply.length !== 1 + targets.length * FIELDS_PER_POLICY) {
    throw new Error("unexpected reply from the rate-limit script");
  }
  return targets.map(({ policy, id }, i) => {
    const at = 1 + i * FIELDS_PER_POLICY;
    return {
      policy: policy.name,
      id,
      allowed: Number(reply[at]) === 1,
      limit: policy.algorithm.limit,
      remaining: Number(reply[at + 1]),
      resetMs: Number(reply[at + 2]),
      retryAfterMs: Number(reply[at + 3]),
    };
  });
}

/** The top-level numbers: the denying policy that frees up last, else the tightest one. */
function summarize(policies: PolicyResult[]): LimitResult {
  const denied = policies.filter((p) => !p.allowed);
  const pick = denied.length
    ? denied.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a))
    : policies.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a));
  const { limit, remaining, resetMs, retryAfterMs } = pick;
  return { allowed: denied.length === 0, limit, remaining, resetMs, retryAfterMs, policies };
}

function cachedBlock(target: Target, ms: number): LimitResult {
  const policy: PolicyResult = {
    policy: target.policy.name,
    id: target.id,
    allowed: false,
    limit: target.policy.algorithm.limit,
    remaining: 0,
    resetMs: ms,
    retryAfterMs: ms,
  };
  const { limit, remaining, resetMs, retryAfterMs } = policy;
  return { allowed: false, limit, remaining, resetMs, retryAfterMs, reason: "cached-block", policies: [policy] };
}

/** Rejects with RedisUnavailableError after `ms`, so no caller ever waits longer. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(`Redis did not answer within ${ms} ms`, "timeout")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}
