import type { BlockCache } from "./block-cache";
import type { LeaseStore } from "./lease-store";

/**
 * Options and results of the rate limiter. The algorithms are small factories
 * (`fixedWindow`, `slidingWindow`, `tokenBucket` in `algorithms.ts`) returning an
 * {@link Algorithm}: its parameters, and a short code that selects its Lua in the one check
 * script (`scripts.ts`) and names its kind of state key (`keys.ts`).
 */

/** What an algorithm factory returns. Pure data: nothing here talks to Redis. */
export interface Algorithm {
  /** The algorithm's name, as in RATE_POLICIES. */
  readonly kind: "fixed-window" | "sliding-window" | "token-bucket";
  /**
   * Selects the algorithm in the check script, and is the kind of its state key: `fwc` (a
   * fixed window's plain counter), `sw` and `tb` (a string state).
   */
  readonly code: "fwc" | "sw" | "tb";
  /** Units a fresh identifier may spend at once: the window's limit or the bucket's capacity. */
  readonly limit: number;
  /** Seconds for the `w` parameter of `RateLimit-Policy` (the window, or a full refill). */
  readonly windowSeconds: number;
  /** Whether a negative cost (a refund) is accepted. */
  readonly refunds: boolean;
  /** The three numbers the algorithm's Lua receives as p1, p2 and p3. */
  readonly params: readonly [number, number, number];
}

/** What a check does when Redis does not answer in time. */
export type FailureMode = "open" | "closed";

/** A named policy: an algorithm with its parameters and failure behaviour. */
export interface Policy {
  /** Name, part of every state key and of the RateLimit headers: 1–64 of `A-Z a-z 0-9 _ . -`. */
  readonly name: string;
  readonly algorithm: Algorithm;
  /**
   * `"open"`: a check that cannot reach Redis is allowed with `reason: "redis-unavailable"`;
   * `"closed"`: it is denied with that reason (503 over HTTP). Default `"open"`.
   */
  readonly failure?: FailureMode;
  /** Milliseconds a check waits for Redis before applying `failure`. Default 1000. */
  readonly timeoutMs?: number;
  /**
   * Opt-in local leases for hot identifiers (see {@link LeaseOptions}). Default: none, every
   * check asks Redis.
   * @example { name: "api", algorithm: fixedWindow({ limit: 1000, windowMs: 60_000 }), lease: { units: 10, ttlMs: 1000 } }
   */
  readonly lease?: LeaseOptions;
}

/**
 * A lease: a check that goes to Redis also reserves up to `units` more units, counted as
 * spent in Redis at once, and the isolate then admits from them with no request until they are
 * spent or the lease ends (after `ttlMs`; for a fixed or sliding window also
 * {@link LEASE_WINDOW_MARGIN_MS} before its window ends). Fewer are granted when fewer remain.
 * Units leased and never used are lost until the state frees up: the price is bounded
 * under-admission, at most (isolates − 1) × `units` per lease lifetime.
 */
export interface LeaseOptions {
  /** Most units reserved per lease, beyond the check's own cost (1 to the policy's limit). */
  readonly units: number;
  /** How long a lease may be used, in ms (1 to {@link MAX_LEASE_TTL_MS}). */
  readonly ttlMs: number;
}

/** Why a result did not come from a Redis decision. */
export type LimitReason = "redis-unavailable" | "cached-block";

/** Where an allowed result came from when not a fresh Redis decision: `"lease"`, the isolate's lease. */
export type LimitSource = "lease";

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
  /**
   * Units this isolate holds in its lease for the policy after this check (policies with
   * `lease` only; counted in `remaining`).
   */
  leased?: number;
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
  /**
   * `"lease"`: admitted from the isolate's leases with no request. The numbers are then those
   * Redis gave when the lease was taken, with the units spent locally since taken off: units
   * other isolates spent since are not seen.
   */
  source?: LimitSource;
  /** One entry per policy whose state is known (all of them for a Redis decision). */
  policies: PolicyResult[];
}

/** The identifier checked: one id for every policy, or one per policy name. */
export type Identity = string | Readonly<Record<string, string>>;

/** Options of `RateLimiter`. */
export interface RateLimiterOptions {
  /** Key prefix (default `DEFAULT_PREFIX`, "erf"); state keys are `<prefix>:<namespace>:<code>:<policy>:<id>`. */
  prefix?: string;
  /**
   * Key namespace (default `"rate"`). Limiters in different namespaces never share state,
   * even for the same policy and id: the Worker's Upstash-backed middleware uses its own, so a
   * caller of `/v1/rate/...` can never spend or reset the middleware's counters.
   */
  namespace?: string;
  /** One to {@link MAX_POLICIES} policies, checked together by every call. */
  policies: readonly Policy[];
  /**
   * Cache of blocked identifiers. Default: the isolate's (`isolate.ts`), shared by every
   * limiter of the isolate (limiters are cheap and made per request; the cache must outlive
   * them). Pass another to simulate another isolate; `false` disables it.
   */
  cache?: BlockCache | false;
  /**
   * Leases of policies with a `lease` option. Default: the isolate's (`isolate.ts`). Pass
   * another to simulate another isolate; `false` disables leasing (every check asks Redis).
   */
  leases?: LeaseStore | false;
  /** Local clock, used only to expire cache entries and leases. Default `Date.now`. */
  now?: () => number;
}

/** Whether a check spends (`"limit"`) or only reads (`"peek"`). */
export type CheckMode = "limit" | "peek";

/** Largest limit, capacity or refill amount accepted (keeps every count exact in Lua numbers). */
export const MAX_LIMIT = 1_000_000_000;
/** Longest window or refill interval accepted: 366 days in ms. */
export const MAX_WINDOW_MS = 366 * 24 * 3600 * 1000;
/** Most policies one check may combine. */
export const MAX_POLICIES = 10;
/** Longest lease accepted, in ms: one hour. */
export const MAX_LEASE_TTL_MS = 3_600_000;
/**
 * A lease of a fixed or sliding window ends this long before its window does, so that units
 * counted in one window are never admitted in the next. It covers the isolate's clock lagging
 * real time: in Workers `Date.now()` stands still while the isolate runs code between two I/O.
 * In a window's last second no lease is granted: checks go to Redis.
 */
export const LEASE_WINDOW_MARGIN_MS = 1000;
/** Default `timeoutMs` of a policy. */
export const DEFAULT_TIMEOUT_MS = 1000;
/** A policy name: 1–64 characters of A-Z a-z 0-9 _ . - */
export const POLICY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
