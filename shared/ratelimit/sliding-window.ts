import { windowAlgorithm, type Algorithm, type WindowOptions } from "./types";

/**
 * Lua function of the sliding window, installed in the check script's algorithm table `A`.
 *
 * The estimate of units spent in the last `window` ms is the current fixed window's count plus
 * the previous window's count weighted by the share of it still inside the sliding window:
 * `floor(previous * (window - elapsed) / window) + current`. The state is one string
 * `"<window number>:<current count>:<previous count>"`.
 *
 * `sw_wait` answers "how many ms until `cost` more units fit", solving the estimate for the
 * elapsed time: within this window if only the previous window's weight is in the way,
 * otherwise in the next window, where this window's count becomes the previous one.
 *
 * Arguments: state (string or false), now (Redis time, ms), p1 = limit, p2 = window in ms,
 * p3 unused, cost (>= 0; 0 reads without spending; never more than the limit).
 * Returns: allowed, remaining, reset_ms, retry_ms, block_ms, new_state, ttl_ms.
 */
export const SLIDING_WINDOW_LUA = `
local function sw_wait(current, previous, elapsed, window, limit, cost)
  local room = limit - current - cost
  if room >= 0 then
    if previous <= room then return 0 end
    local e = math.floor(window - (room + 1) * window / previous) + 1
    return math.max(0, e - elapsed)
  end
  room = limit - cost
  local e = 0
  if current > room then e = math.floor(window - (room + 1) * window / current) + 1 end
  return window - elapsed + e
end

A.sw = function(state, now, limit, window, _, cost)
  local index = math.floor(now / window)
  local current, previous = 0, 0
  if state then
    local i, c, p = string.match(state, "^(%d+):(%d+):(%d+)$")
    i = tonumber(i)
    if i == index then
      current, previous = tonumber(c), tonumber(p)
    elseif i == index - 1 then
      previous = tonumber(c)
    end
  end
  local elapsed = now - index * window
  local estimate = math.floor(previous * (window - elapsed) / window) + current
  local allowed = estimate + cost <= limit
  if allowed then
    current = current + cost
    estimate = estimate + cost
  end
  local remaining = math.max(0, limit - estimate)
  local retry = 0
  if not allowed then retry = sw_wait(current, previous, elapsed, window, limit, cost) end
  local block = 0
  if remaining == 0 then block = sw_wait(current, previous, elapsed, window, limit, 1) end
  local reset = sw_wait(current, previous, elapsed, window, limit, limit)
  local state_out = string.format("%d:%d:%d", index, current, previous)
  return allowed, remaining, reset, retry, block, state_out, 2 * window - elapsed
end
`;

/** Options of {@link slidingWindow}. */
export type SlidingWindowOptions = WindowOptions;

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
