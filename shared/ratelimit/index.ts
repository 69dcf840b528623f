/**
 * Rate limiting on Redis: fixed window, sliding window and token bucket, any mix of them
 * checked atomically in one request, on Redis time. See docs/rate-limiting.md.
 */
export {
  fixedWindow,
  type FixedWindowOptions,
  MAX_FULL_REFILL_MS,
  slidingWindow,
  type SlidingWindowOptions,
  tokenBucket,
  type TokenBucketOptions,
  type WindowOptions,
} from "./algorithms";
export { BlockCache } from "./block-cache";
export { type Lease, LeaseStore, type LeaseView } from "./lease-store";
export { RateLimiter, type RateLimitClient, timeoutOf } from "./limiter";
export { failureResult } from "./codec";
export { RATE_NAMESPACE, rateKeys } from "./keys";
export {
  type Algorithm,
  DEFAULT_TIMEOUT_MS,
  type FailureMode,
  type Identity,
  LEASE_WINDOW_MARGIN_MS,
  type LeaseOptions,
  type LimitReason,
  type LimitResult,
  type LimitSource,
  MAX_LEASE_TTL_MS,
  MAX_LIMIT,
  MAX_POLICIES,
  MAX_WINDOW_MS,
  type Policy,
  POLICY_NAME,
  type PolicyResult,
  type RateLimiterOptions,
} from "./types";
