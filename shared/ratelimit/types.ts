/**
 * Types shared by the rate-limit algorithms and the limiter that coordinates them. The
 * algorithms are small factories (`fixedWindow`, `slidingWindow`, `tokenBucket`) returning an
 * {@link Algorithm}: its parameters and a short code that selects its Lua function inside the
 * one check script (`check-script.ts`).
 */

/** What an algorithm factory returns. Pure data: nothing here talks to Redis. */
export interface Algorithm {
  /** The algorithm's name, as in RATE_POLICIES. */
  readonly kind: "fixed-window" | "sliding-window" | "token-bucket";
  /** Selects the algorithm's function in the check script; also part of its state key. */
  readonly code: "fw" | "sw" | "tb";
  /** Units a fresh identifier may spend at once: the window's limit or the bucket's capacity. */
  readonly limit: number;
  /** Seconds for the `w` parameter of `RateLimit-Policy` (the window, or a full refill). */
  readonly windowSeconds: number;
  /** Whether a negative cost (a refund) is accepted. */
  readonly refunds: boolean;
  /** The three numbers the algorithm's Lua function receives as p1, p2 and p3. */
  readonly params: readonly [number, number, number];
}

/** What a check does when Redis does not answer in time. */
export type FailureMode = "open" | "closed";

/** A named policy: an algorithm with its parameters and failure behaviour. */
export interface Policy {
  /** Name, part of every state key and of the RateLimit headers (letters, digits, `_.-`). */
  readonly name: string;
  readonly algorithm: Algorithm;
  /**
   * `"open"`: a check that cannot reach Redis is allowed with `reason: "redis-unavailable"`;
   * `"closed"`: it is denied with that reason (503 over HTTP). Default `"open"`.
   */
  readonly failure?: FailureMode;
  /** Milliseconds a check waits for Redis before applying `failure`. Default 1000. */
  readonly timeoutMs?: number;
}

/** Why a result did not come from a Redis decision. */
export type LimitReason = "redis-unavailable" | "cached-block";

/** The state of one policy for one identifier after a check. */
export interface PolicyResult {
  policy: string;
  id: string;
  allowed: boolean;
  /** The policy's limit (or bucket capacity). */
  limit: number;
  /** Units left after this check. */
  remaining: number;
  /** Milliseconds until the full limit is available again if nothing more is spent (0: now). */
  resetMs: number;
  /** Milliseconds until a check of the same cost would be allowed (0 when allowed). */
  retryAfterMs: number;
}

/**
 * The outcome of `limit()` or `peek()`. The top-level numbers are those of the policy that
 * decided: when denied, the denying policy that frees up last; when allowed, the one with the
 * fewest units left.
 */
export interface LimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
  /**
   * Absent for a normal decision. `"redis-unavailable"`: Redis failed or timed out and the
   * failure policy decided (numbers are then 0, unknown). `"cached-block"`: rejected from the
   * isolate's cache of blocked identifiers without asking Redis.
   */
  reason?: LimitReason;
  /** One entry per policy whose state is known (all of them for a Redis decision). */
  policies: PolicyResult[];
}

/** Largest limit, capacity or refill amount accepted (keeps every count exact in Lua numbers). */
export const MAX_LIMIT = 1_000_000_000;
/** Longest window or refill interval accepted: 366 days in ms. */
export const MAX_WINDOW_MS = 366 * 24 * 3600 * 1000;

/** Throws a RangeError unless `value` is an integer in [min, max]. */
export function checkInteger(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** The options every windowed algorithm takes. */
export interface WindowOptions {
  /** Units allowed per window (1 to 1e9). */
  limit: number;
  /** Window length in ms (1 ms to 366 days). Windows start at multiples of it in Redis time. */
  windowMs: number;
}

/** Validates {@link WindowOptions} into the {@link Algorithm} of a windowed algorithm. */
export function windowAlgorithm(
  kind: "fixed-window" | "sliding-window",
  code: "fw" | "sw",
  options: WindowOptions,
): Algorithm {
  const limit = checkInteger(options.limit, "limit", 1, MAX_LIMIT);
  const windowMs = checkInteger(options.windowMs, "windowMs", 1, MAX_WINDOW_MS);
  return {
    kind,
    code,
    limit,
    windowSeconds: Math.max(1, Math.ceil(windowMs / 1000)),
    refunds: false,
    params: [limit, windowMs, 0],
  };
}
