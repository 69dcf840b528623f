import type { Locks } from "./locks";
import { type AcquireOptions, DEFAULT_TTL_MS, type Lease } from "./types";

/** The reason of the signal {@link withLock} aborts when the lease is lost. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

/** Options of {@link withLock}: those of an acquire, plus the renewal period. */
export interface WithLockOptions extends AcquireOptions {
  /** Lease in ms (default 10000); renewed before it ends, for as long as `fn` runs. */
  ttlMs?: number;
  /** Renew this often in ms (default a third of `ttlMs`, so two renewals may fail before the lease ends). */
  renewEveryMs?: number;
}

/** What `fn` receives: its lease, and a signal that fires if the lease is lost. */
export interface HeldLease extends Lease {
  signal: AbortSignal;
}

/** What {@link withLock} returns: `fn`'s value, or, when the lock stayed held, when to retry. */
export type WithLockResult<T> = { acquired: true; value: T } | { acquired: false; retryAfterMs: number };

/**
 * Runs `fn` while holding the lock `name`, and always releases it afterwards.
 *
 * The lease is renewed in the background every `renewEveryMs`. `fn` receives an AbortSignal
 * that fires (reason: {@link LeaseLostError}) when a renewal finds another owner, or when the
 * lease ran out by the local clock because renewals could not reach Redis. After that, `fn`
 * holds nothing: it should stop, and guard any write it still makes with its fence.
 *
 * A lock still held after `waitMs` is a result, `{ acquired: false, retryAfterMs }`, and `fn`
 * never runs; what `fn` throws is thrown after the release.
 *
 * @returns `{ acquired: true, value }` with what `fn` returned
 * @example
 * const run = await withLock(locks, "nightly-report", async ({ signal, fence }) => {
 *   for (const page of pages) { signal.throwIfAborted(); await write(page, fence); }
 * }, { ttlMs: 5000, waitMs: 0 });
 * if (!run.acquired) console.log(`busy, retry in ${run.retryAfterMs} ms`);
 */
export async function withLock<T>(
  locks: Locks,
  name: string,
  fn: (lease: HeldLease) => Promise<T> | T,
  options: WithLockOptions = {},
): Promise<WithLockResult<T>> {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const renewEveryMs = Math.max(1, options.renewEveryMs ?? Math.floor(ttlMs / 3));
  // The lease began after the winning attempt was sent, so counting from that instant never
  // overestimates what is left of it.
  let attemptSentAt = Date.now();
  const result = await locks.acquire(name, {
    ...options,
    ttlMs,
    onAttempt: () => {
      attemptSentAt = Date.now();
      options.onAttempt?.();
    },
  });
  if (!result.acquired) return { acquired: false, retryAfterMs: result.retryAfterMs };
  let leaseEndsLocal = attemptSentAt + ttlMs;
  const lease: Lease = { name, token: result.token, fence: result.fence, expiresAt: result.expiresAt };

  const controller = new AbortController();
  let stopped = false;
  let renewTimer: ReturnType<typeof setTimeout> | undefined;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let renewing: Promise<void> | undefined;

  const lose = (message: string) => {
    if (stopped || controller.signal.aborted) return;
    cancel(renewTimer);
    cancel(watchdog);
    controller.abort(new LeaseLostError(message));
  };
  // Fires if no renewal succeeded before the lease ran out (Redis unreachable or slow).
  const armWatchdog = () => {
    cancel(watchdog);
    watchdog = setTimeout(() => lose(`lease of '${name}' ran out before it could be renewed`), Math.max(0, leaseEndsLocal - Date.now()));
  };
  const scheduleRenewal = (delayMs: number) => {
    renewTimer = setTimeout(() => {
      renewing = renew().finally(() => (renewing = undefined));
    }, delayMs);
  };
  const renew = async () => {
    const started = Date.now();
    try {
      const outcome = await locks.extend(name, lease.token, ttlMs);
      if (stopped || controller.signal.aborted) return;
      if (!outcome.extended) return lose(`lease of '${name}' was lost (${outcome.reason})`);
      leaseEndsLocal = started + ttlMs;
      armWatchdog();
      scheduleRenewal(renewEveryMs);
    } catch {
      if (stopped || controller.signal.aborted) return;
      // Try again soon, but well before the lease runs out; the watchdog fires if none succeeds.
      scheduleRenewal(Math.max(1, Math.min(renewEveryMs, (leaseEndsLocal - Date.now()) / 3)));
    }
  };

  armWatchdog();
  scheduleRenewal(renewEveryMs);
  try {
    return { acquired: true, value: await fn({ ...lease, signal: controller.signal }) };
  } finally {
    stopped = true;
    cancel(renewTimer);
    cancel(watchdog);
    await renewing;
    // A failed release is not worth masking fn's outcome for: the lease ends by itself at its TTL.
    await locks.release(name, lease.token).catch(() => undefined);
  }
}

function cancel(timer: ReturnType<typeof setTimeout> | undefined): void {
  if (timer !== undefined) clearTimeout(timer);
}
