import { parseCacheControl } from "../../shared/cache/http-policy";

/**
 * The one convention for reads that may be answered from the isolate's memory (the cache's and
 * the leaderboards' L1): the request's `Cache-Control: max-stale=<seconds>` says how long ago
 * Redis may have confirmed the answer, and `no-cache` asks Redis whatever the default.
 */

/** Longest staleness a read may accept from an isolate's L1: 5 minutes. */
export const MAX_L1_MS = 300_000;

/**
 * How stale a copy from the isolate's memory this read accepts, in ms: `Cache-Control:
 * max-stale=<seconds>` on the request (capped at 300 s; `max-stale` without a value means the
 * cap), else the surface's default (`fallbackMs`, 0 when off); `no-cache` means 0 (always ask
 * Redis). A `max-stale` that is not a number of seconds is ignored, as HTTP caches ignore it.
 *
 * @example l1Bound("max-stale=5", 0) // 5000
 */
export function l1Bound(cacheControl: string | undefined, fallbackMs: number): number {
  const directives = parseCacheControl(cacheControl ?? null);
  if (directives.has("no-cache")) return 0;
  const maxStale = directives.get("max-stale");
  if (maxStale === undefined) return fallbackMs;
  if (maxStale === true) return MAX_L1_MS;
  return /^\d+$/.test(maxStale) ? Math.min(Number(maxStale) * 1000, MAX_L1_MS) : fallbackMs;
}

/**
 * A read's L1 option as the cores take it (`{ maxStaleMs }`, or none when the bound is 0), with
 * the isolate's L1 held to the surface's configured budget: the one place a variable reaches it.
 */
export function l1ReadOptions(
  cacheControl: string | undefined,
  l1: { setBudget(maxBytes: number): void },
  config: { bytes: number; defaultMs: number },
): { maxStaleMs?: number } {
  l1.setBudget(config.bytes);
  const maxStaleMs = l1Bound(cacheControl, config.defaultMs);
  return maxStaleMs > 0 ? { maxStaleMs } : {};
}
