import { windowAlgorithm, type Algorithm, type WindowOptions } from "./types";

/**
 * Lua function of the fixed window, installed in the check script's algorithm table `A`.
 *
 * Windows are aligned to Redis time: window number `floor(now / window)`. The state is one
 * string `"<window number>:<count>"`; a state from an older window (or a missing key, after
 * expiry or eviction) counts as 0.
 *
 * Arguments: state (string or false), now (Redis time, ms), p1 = limit, p2 = window in ms,
 * p3 unused, cost (>= 0; 0 reads without spending).
 * Returns: allowed, remaining, reset_ms, retry_ms, block_ms, new_state, ttl_ms (see
 * `check-script.ts` for their meaning).
 */
export const FIXED_WINDOW_LUA = `
A.fw = function(state, now, limit, window, _, cost)
  local index = math.floor(now / window)
  local count = 0
  if state then
    local i, n = string.match(state, "^(%d+):(%d+)$")
    if tonumber(i) == index then count = tonumber(n) end
  end
  local window_end = (index + 1) * window - now
  local allowed = count + cost <= limit
  if allowed then count = count + cost end
  local remaining = math.max(0, limit - count)
  local reset = 0
  if count > 0 then reset = window_end end
  local retry = 0
  if not allowed then retry = window_end end
  local block = 0
  if remaining == 0 then block = window_end end
  return allowed, remaining, reset, retry, block, string.format("%d:%d", index, count), window_end
end
`;

/** Options of {@link fixedWindow}. */
export type FixedWindowOptions = WindowOptions;

/**
 * Fixed window: at most `limit` units per window; the count starts again at each window
 * boundary. Exact (no over-admission) and cheap, but a client can spend `limit` at the end of
 * one window and `limit` again at the start of the next.
 *
 * @example fixedWindow({ limit: 100, windowMs: 60_000 }) // 100 per minute
 */
export function fixedWindow(options: FixedWindowOptions): Algorithm {
  return windowAlgorithm("fixed-window", "fw", options);
}
