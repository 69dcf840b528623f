/**
 * Token-guarded locks: leases with fencing tokens, bounded waiting, counting semaphores,
 * auto-renewal and fenced writes. See docs/locks.md.
 */
export { type Backoff, exponentialJitter, retryWithin } from "./backoff";
export { FencedStore, type FencedWriteResult } from "./fenced-write";
export {
  type AcquireOptions,
  type AcquireResult,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TTL_MS,
  type ExtendResult,
  type Lease,
  type LockStatus,
  Locks,
  type LocksOptions,
  MAX_LIMIT,
  MAX_TTL_MS,
  MAX_WAIT_MS,
  type ReleaseResult,
} from "./locks";
export { newToken, TOKEN_PATTERN, validateToken } from "./token";
export { type HeldLease, LeaseLostError, LockBusyError, withLock, type WithLockOptions } from "./with-lock";
