/**
 * Token-guarded locks: leases with fencing tokens, bounded waiting, counting semaphores,
 * auto-renewal and fenced writes. See docs/locks.md.
 */
export { type Backoff, exponentialJitter, retryWithin } from "./backoff";
export { type FencedWriteResult } from "./codec";
export { FencedStore } from "./fenced-write";
export { type LeaseHint, LeaseMemory, leaseMemory } from "./isolate";
export { type LockClient, Locks } from "./locks";
export { newToken, TOKEN_PATTERN, validateToken } from "./token";
export {
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
export { type HeldLease, LeaseLostError, withLock, type WithLockOptions, type WithLockResult } from "./with-lock";
