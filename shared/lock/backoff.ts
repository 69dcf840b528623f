/**
 * Bounded waiting: try, sleep with backoff and jitter, try again, and never wait past a
 * deadline. Used by lock acquisition; pure apart from the injected clock and sleep, so the
 * schedule is testable without Redis.
 */

/** A backoff strategy: how long to sleep after failed attempt number `attempt` (from 0). */
export interface Backoff {
  delayMs(attempt: number): number;
}

/** Options of {@link exponentialJitter}. */
export interface ExponentialJitterOptions {
  /** First ceiling in ms (default 10). */
  baseMs?: number;
  /** Largest ceiling in ms (default 100). */
  maxMs?: number;
  /** Source of randomness in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/**
 * Exponential backoff with "equal jitter": the ceiling doubles per attempt up to `maxMs`, and
 * each sleep is half the ceiling plus a random half. The random half spreads waiters that
 * failed together, so they do not all come back in the same millisecond; the fixed half keeps
 * one waiter from polling in a tight loop.
 *
 * @example exponentialJitter({ baseMs: 5, maxMs: 100 }).delayMs(3) // between 20 and 40
 */
export function exponentialJitter(options: ExponentialJitterOptions = {}): Backoff {
  const { baseMs = 10, maxMs = 100, random = Math.random } = options;
  return {
    delayMs(attempt) {
      const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
      return ceiling / 2 + random() * (ceiling / 2);
    },
  };
}

/** The outcome of one attempt: done with a value, or not yet (with an optional hint). */
export type Attempt<T, F> =
  | { done: true; value: T }
  | {
      done: false;
      value: F;
      /** Known time until a retry can succeed (e.g. the holder's remaining lease); sleeps are capped by it. */
      retryAfterMs?: number;
    };

/** Options of {@link retryWithin}. */
export interface RetryWithinOptions {
  /** Longest total wait in ms; 0 makes exactly one attempt. */
  waitMs: number;
  backoff: Backoff;
  /**
   * Most attempts in all (default unlimited). When fewer remain than the backoff would use, the
   * remaining time is shared out between them, so the last one still comes at the deadline.
   */
  maxAttempts?: number;
  /** Clock in ms (default `Date.now`; in Workers it advances across the awaited I/O). */
  now?: () => number;
  /** Sleep (default `setTimeout`). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `attempt` until it is done or `waitMs` is used up, sleeping between attempts. The
 * sleep before the last attempt is clipped to the deadline, so the whole call takes at most
 * `waitMs` plus the duration of one attempt, and never more than `maxAttempts` attempts.
 * Returns the last attempt's outcome.
 */
export async function retryWithin<T, F>(
  attempt: () => Promise<Attempt<T, F>>,
  options: RetryWithinOptions,
): Promise<Attempt<T, F>> {
  const { waitMs, backoff, maxAttempts = Infinity, now = Date.now, sleep = defaultSleep } = options;
  const deadline = now() + waitMs;
  for (let made = 1; ; made++) {
    const outcome = await attempt();
    if (outcome.done) return outcome;
    const remaining = deadline - now();
    if (remaining <= 0 || made >= maxAttempts) return outcome;
    let delay = backoff.delayMs(made - 1);
    // Waking when the holder's lease ends is never later than needed.
    if (outcome.retryAfterMs !== undefined) delay = Math.min(delay, Math.max(1, outcome.retryAfterMs));
    // Spread the attempts left over the time left, so the budget is not spent early.
    delay = Math.max(delay, remaining / (maxAttempts - made));
    await sleep(Math.min(delay, remaining));
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
