import { checkInteger, MAX_LIMIT, MAX_WINDOW_MS, type Algorithm } from "./types";

/**
 * Lua function of the token bucket, installed in the check script's algorithm table `A`.
 *
 * The bucket holds up to `capacity` tokens and gains `refill` tokens every `interval` ms,
 * counted in whole intervals from the last refill, so every number stays an integer. A full
 * bucket's refill clock restarts at its next use. A missing key (expired once full, or
 * evicted) is a full bucket, so the key's TTL is the time until the bucket is full again.
 * The state is one string `"<tokens>:<time of the last refill, ms>"`.
 *
 * Arguments: state (string or false), now (Redis time, ms), p1 = capacity, p2 = refill,
 * p3 = interval in ms, cost (negative refunds tokens, up to the capacity; 0 reads).
 * Returns: allowed, remaining, reset_ms, retry_ms, block_ms, new_state, ttl_ms.
 */
export const TOKEN_BUCKET_LUA = `
A.tb = function(state, now, capacity, refill, interval, cost)
  local tokens, refilled = capacity, now
  if state then
    local n, at = string.match(state, "^(%d+):(%d+)$")
    if n then
      tokens, refilled = math.min(tonumber(n), capacity), tonumber(at)
      -- Redis time may step back after a failover: never refill for negative time.
      if now > refilled then
        local steps = math.floor((now - refilled) / interval)
        tokens = math.min(capacity, tokens + steps * refill)
        refilled = refilled + steps * interval
      end
    end
  end
  if tokens >= capacity then refilled = now end
  local allowed = cost <= tokens
  if allowed then tokens = math.min(capacity, tokens - cost) end
  local function wait_for(n)
    if tokens >= n then return 0 end
    return math.max(0, refilled + math.ceil((n - tokens) / refill) * interval - now)
  end
  local reset = wait_for(capacity)
  local retry = 0
  if not allowed then retry = wait_for(cost) end
  return allowed, tokens, reset, retry, wait_for(1), string.format("%d:%d", tokens, refilled), reset
end
`;

/**
 * Longest full refill from empty accepted, in ms (1e15, about 31,700 years). The script waits
 * and sets TTLs of up to this long: Redis time plus it stays an exact integer in Lua numbers,
 * and a valid `PX`. Without the bound, `capacity: 1e9, refill: 1` every 366 days would fail
 * in Redis on the first large spend.
 */
export const MAX_FULL_REFILL_MS = 1e15;

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
 * Token bucket: bursts up to `capacity`, then a steady `refill` per `intervalMs`. The only
 * algorithm that accepts refunds (a negative cost gives tokens back, up to the capacity).
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
