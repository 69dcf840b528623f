import { MAX_LIMIT, MAX_WINDOW_MS, type Algorithm } from "./types";
import { isIntegerIn } from "../integer";

/**
 * The three algorithms, as small factories that validate their options and return an
 * {@link Algorithm}: pure data that selects the algorithm's Lua in the check script
 * (`scripts.ts`, where their decisions are written) and carries its parameters. They throw a
 * RangeError for options outside their bounds: a programming or configuration error.
 */

/** The options every windowed algorithm takes. */
export interface WindowOptions {
  /** Units allowed per window (1 to 1e9). */
  limit: number;
  /** Window length in ms (1 ms to 366 days). Windows start at multiples of it in Redis time. */
  windowMs: number;
}

/** Options of {@link fixedWindow}. */
export type FixedWindowOptions = WindowOptions;
/** Options of {@link slidingWindow}. */
export type SlidingWindowOptions = WindowOptions;

/** Options of {@link tokenBucket}. */
export interface TokenBucketOptions {
  /** Most tokens the bucket holds, and holds at first (1 to 1e9). */
  capacity: number;
  /** Tokens added every `intervalMs` (1 to 1e9). */
  refill: number;
  /** Refill interval in ms (1 ms to 366 days; a full refill at most {@link MAX_FULL_REFILL_MS}). */
  intervalMs: number;
}

/**
 * Longest full refill from empty accepted, in ms (1e15, about 31,700 years). The script waits
 * and sets TTLs of up to this long: Redis time plus it stays an exact integer in Lua numbers,
 * and a valid `PX`. Without the bound, `capacity: 1e9, refill: 1` every 366 days would fail
 * in Redis on the first large spend.
 */
export const MAX_FULL_REFILL_MS = 1e15;

/**
 * Fixed window: at most `limit` units per window; the count starts again at each window
 * boundary (aligned to Redis time). Exact and the cheapest (a check is `TIME` + `INCRBY`), but
 * a client can spend `limit` at the end of one window and `limit` again at the start of the next.
 *
 * @example fixedWindow({ limit: 100, windowMs: 60_000 }) // 100 per minute
 */
export function fixedWindow(options: FixedWindowOptions): Algorithm {
  const algorithm = windowAlgorithm("fixed-window", "fwc", options);
  return { ...algorithm, params: [algorithm.params[0], algorithm.params[1], FIXED_WINDOW_BOUNDARY_US] };
}

/**
 * How long after a window starts (µs) the fixed window's script checks that a counter is not
 * the previous window's (one PTTL, see `LUA_FIXED_WINDOW` in scripts.ts). Redis runs a script's
 * first command microseconds after the script starts; 10 ms is a wide margin.
 */
export const FIXED_WINDOW_BOUNDARY_US = 10_000;

/**
 * Sliding window (weighted previous window): smooths the fixed window's boundary burst at the
 * cost of an approximation that assumes the previous window's traffic was spread evenly.
 *
 * Bound: within one aligned window it never admits more than `limit` (the estimate is never
 * below the current count), so any `windowMs`-long interval, which overlaps at most two
 * aligned windows, sees at most `2 × limit`; that worst case needs a full burst at the very end
 * of one window. For traffic spread evenly it admits about `limit` per `windowMs`.
 *
 * @example slidingWindow({ limit: 100, windowMs: 60_000 })
 */
export function slidingWindow(options: SlidingWindowOptions): Algorithm {
  return windowAlgorithm("sliding-window", "sw", options);
}

/**
 * Token bucket: bursts up to `capacity`, then a steady `refill` per `intervalMs`, added in
 * whole intervals. The only algorithm that accepts refunds (a negative cost gives tokens back,
 * up to the capacity).
 *
 * @example tokenBucket({ capacity: 3000, refill: 1000, intervalMs: 1000 }) // 1000/s, bursts of 3000
 */
export function tokenBucket(options: TokenBucketOptions): Algorithm {
  const capacity = checkInteger(options.capacity, "capacity", 1, MAX_LIMIT);
  const refill = checkInteger(options.refill, "refill", 1, MAX_LIMIT);
  const intervalMs = checkInteger(options.intervalMs, "intervalMs", 1, MAX_WINDOW_MS);
  // A full refill from empty, the closest thing a bucket has to a window.
  const fullRefillMs = Math.ceil(capacity / refill) * intervalMs;
  if (fullRefillMs > MAX_FULL_REFILL_MS) {
    throw new RangeError("a full refill, ceil(capacity / refill) × interval, must be at most 1e15 ms");
  }
  return {
    kind: "token-bucket",
    code: "tb",
    limit: capacity,
    windowSeconds: Math.max(1, Math.ceil(fullRefillMs / 1000)),
    refunds: true,
    params: [capacity, refill, intervalMs],
  };
}

function windowAlgorithm(kind: "fixed-window" | "sliding-window", code: "fwc" | "sw", options: WindowOptions): Algorithm {
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

function checkInteger(value: number, name: string, min: number, max: number): number {
  if (!isIntegerIn(value, min, max)) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}
