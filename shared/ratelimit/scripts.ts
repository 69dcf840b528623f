import { LUA_TIME } from "../lua";
import { defineScript } from "../script";
import { LEASE_WINDOW_MARGIN_MS } from "./types";

/**
 * The rate limiter's Lua: one check script for any mix of policies, decided together and
 * atomically, with each algorithm's decision as a fragment it uses.
 *
 * Every algorithm decides from the Redis time read by `TIME` (never the caller's clock) and
 * returns, for its policy: allowed, remaining, reset_ms (until the full limit is back),
 * retry_ms (until this cost fits; 0 when allowed) and block_ms (until one unit fits; 0 if one
 * fits now).
 */

/**
 * Fixed window. The state is a plain integer counter (key kind `fwc`) whose key expires at the
 * end of its window, aligned to Redis time: `PEXPIREAT (floor(now / window) + 1) * window`. A
 * missing key counts 0.
 *
 * The window boundary: Redis decides whether a key has expired by the time cached when the
 * script started, and `TIME` inside it is a little later. A check that starts just before a
 * boundary and reads TIME just after it would still see the ending window's counter. Within the
 * first `stretch_us` (the algorithm's p3, 10 ms; at most half a window) of a window, `fw_stale`
 * therefore asks the key's PTTL: a counter of the current window has more than half a window
 * left, one of the window that just ended has less (in fact microseconds). Such a counter is
 * treated as missing. This costs one PTTL only in that first stretch of a window, only for a
 * key that exists.
 */
export const LUA_FIXED_WINDOW = String.raw`
local function fw_end(now, window)
  return (math.floor(now / window) + 1) * window
end
local function fw_stale(key, t_us, window, stretch_us)
  local into_us = t_us - math.floor(t_us / (window * 1000)) * (window * 1000)
  if into_us >= math.min(stretch_us, window * 500) then return false end
  local pttl = redis.call("PTTL", key)
  return pttl == -1 or (pttl >= 0 and pttl < window / 2)
end
local function fw_decide(count, now, limit, window, cost)
  local left = fw_end(now, window) - now
  local allowed = count + cost <= limit
  if allowed then count = count + cost end
  local remaining = math.max(0, limit - count)
  local reset, retry, block = 0, 0, 0
  if count > 0 then reset = left end
  if not allowed then retry = left end
  if remaining == 0 then block = left end
  return allowed, remaining, reset, retry, block
end
`;

/**
 * Sliding window (weighted previous window). The state is `"<window number>:<current
 * count>:<previous count>"` (key kind `sw`), kept two windows.
 *
 * The estimate of units spent in the last `window` ms is the current fixed window's count plus
 * the previous window's count weighted by the share of it still inside the sliding window:
 * `floor(previous * (window - elapsed) / window) + current`. `sw_wait` answers "how many ms
 * until `cost` more units fit", solving the estimate for the elapsed time: within this window
 * if only the previous window's weight is in the way, otherwise in the next window, where this
 * window's count becomes the previous one.
 *
 * `sw_decide(state, now, limit, window, _, cost)` also returns the new state and its TTL.
 */
export const LUA_SLIDING_WINDOW = String.raw`
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
local function sw_decide(state, now, limit, window, _, cost)
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
  return allowed, remaining, reset, retry, block, string.format("%d:%d:%d", index, current, previous), 2 * window - elapsed
end
`;

/**
 * Token bucket. The state is `"<tokens>:<time of the last refill, ms>"` (key kind `tb`).
 *
 * The bucket holds up to `capacity` tokens and gains `refill` tokens every `interval` ms,
 * counted in whole intervals from the last refill, so every number stays an integer. A full
 * bucket's refill clock restarts at its next use. A missing key (expired once full, or
 * evicted) is a full bucket, so the key's TTL is the time until the bucket is full again. A
 * negative cost refunds, up to the capacity.
 *
 * `tb_decide(state, now, capacity, refill, interval, cost)` also returns the new state and its TTL.
 */
export const LUA_TOKEN_BUCKET = String.raw`
local function tb_decide(state, now, capacity, refill, interval, cost)
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
 * Leases (see `LeaseOptions` in types.ts). `lease_ms(p, now)` is how long a lease granted now may
 * be used: its ttl, and for a fixed or sliding window also no later than
 * ${LEASE_WINDOW_MARGIN_MS} ms before the window ends, since units counted in this window must
 * never be admitted in the next (a bucket's tokens, once taken, are the same tokens later).
 * 0 or less: no lease now.
 */
export const LUA_LEASE = String.raw`
local function lease_ms(p, now)
  if p.code == "tb" then return p.lease_ttl end
  return math.min(p.lease_ttl, fw_end(now, p.p2) - now - ${LEASE_WINDOW_MARGIN_MS})
end
`;

/** Arguments per policy in the check script's ARG_REST: code, p1, p2, p3, lease units, lease ttl. */
export const ARGS_PER_POLICY = 6;
/** Fields per policy in the check script's reply, after the leading "all allowed". */
export const FIELDS_PER_POLICY = 7;

/**
 * The one script every check runs.
 *
 * KEY_REST: the state key of each policy, in order. ARG.mode: "limit" (spend `cost` from every
 * policy if all allow, otherwise nothing) or "peek" (spend nothing; allowed means one more unit
 * fits, retry is the wait for one unit). ARG.cost: an integer, 0 for "peek", negative only when
 * every policy is a token bucket. ARG_REST: per policy, its code ("fwc", "sw" or "tb"), its
 * p1, p2, p3 (fixed window: limit, window ms, boundary stretch µs; sliding window: limit,
 * window ms, 0; bucket: capacity, refill, interval ms), then the lease wanted: units (0: none)
 * and ttl ms.
 *
 * Leases: when a "limit" check is allowed by every policy, each policy that wants a lease also
 * spends `min(units, remaining)` more units in the same script (none when `lease_ms` is not
 * positive), so the limit can be reached exactly; its result is then that of the larger spend.
 *
 * Two paths, both all-or-nothing, chosen for the fewest billed commands:
 * - "limit" with fixed windows only: `INCRBY` each counter first (its reply is the new count);
 *   a counter just created gets its `PEXPIREAT`; if any policy denies, every increment is
 *   undone (`DECRBY`, or `DEL` for a counter this check created). Steady state: TIME + INCRBY.
 * - otherwise: one `MGET` of every state, decide, then write only if every policy allows
 *   (`SET … PX` per sliding window or bucket; `INCRBY` per existing counter, `SET … PXAT` per
 *   new one). Steady state for one policy: TIME + MGET + SET. A denied or peeking check writes
 *   nothing.
 * The script runs atomically, so no other check ever sees an increment that is undone.
 *
 * Returns a flat array of integers: [all allowed (1/0), then for each policy: allowed (1/0),
 * remaining, reset_ms, retry_ms, block_ms, lease units granted, lease ms].
 */
export const CHECK = defineScript<never, "mode" | "cost", number[]>({
  name: "ratelimit-check",
  keys: [],
  args: ["mode", "cost"],
  restKeys: "the state key of each policy",
  restArgs: "per policy: its code (fwc, sw, tb), then p1, p2, p3, lease units, lease ttl ms",
  uses: [LUA_TIME, LUA_FIXED_WINDOW, LUA_SLIDING_WINDOW, LUA_TOKEN_BUCKET, LUA_LEASE],
  lua: String.raw`
local DECIDE = { sw = sw_decide, tb = tb_decide }
local peek, cost = ARG.mode == "peek", tonumber(ARG.cost)
local t_us = now_us()
local now = math.floor(t_us / 1000)
local n = #KEY_REST
local P, counters_only = {}, true
for i = 1, n do
  local a = (i - 1) * ${ARGS_PER_POLICY}
  P[i] = {
    code = ARG_REST[a + 1], p1 = tonumber(ARG_REST[a + 2]), p2 = tonumber(ARG_REST[a + 3]), p3 = tonumber(ARG_REST[a + 4]),
    lease = tonumber(ARG_REST[a + 5]), lease_ttl = tonumber(ARG_REST[a + 6]),
  }
  if P[i].code ~= "fwc" then counters_only = false end
end

local out, all = { 1 }, true
local function record(i, allowed, remaining, reset, retry, block)
  if peek then allowed, retry = remaining >= 1, block end
  all = all and allowed
  local o = 1 + (i - 1) * ${FIELDS_PER_POLICY}
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = allowed and 1 or 0, remaining, reset, retry, block
  out[o + 6], out[o + 7] = out[o + 6] or 0, out[o + 7] or 0
end
-- The units policy i may lease now (0: none), and for how long; the caller spends them.
local function grant(i)
  local p = P[i]
  if peek or p.lease <= 0 then return 0 end
  local ms, o = lease_ms(p, now), 1 + (i - 1) * ${FIELDS_PER_POLICY}
  local g = math.min(p.lease, out[o + 2])
  if ms <= 0 or g <= 0 then return 0 end
  out[o + 6], out[o + 7] = g, ms
  return g
end

if not peek and counters_only then
  local created = {}
  for i = 1, n do
    local key, limit, window = KEY_REST[i], P[i].p1, P[i].p2
    if fw_stale(key, t_us, window, P[i].p3) then redis.call("DEL", key) end
    local count = redis.call("INCRBY", key, cost)
    created[i] = count == cost
    record(i, fw_decide(count - cost, now, limit, window, cost))
  end
  for i = 1, n do
    local key = KEY_REST[i]
    if not all then
      if created[i] then redis.call("DEL", key) else redis.call("DECRBY", key, cost) end
    else
      if created[i] then redis.call("PEXPIREAT", key, fmt(fw_end(now, P[i].p2))) end
      local g = grant(i)
      if g > 0 then
        local count = redis.call("INCRBY", key, g)
        record(i, fw_decide(count - cost - g, now, P[i].p1, P[i].p2, cost + g))
      end
    end
  end
  if not all then out[1] = 0 end
  return out
end

local states = redis.call("MGET", unpack(KEY_REST))
local writes = {}
for i = 1, n do
  local p, key = P[i], KEY_REST[i]
  if p.code == "fwc" then
    local count = tonumber(states[i]) or 0
    if count > 0 and fw_stale(key, t_us, p.p2, p.p3) then count = 0 end
    record(i, fw_decide(count, now, p.p1, p.p2, cost))
    writes[i] = { fresh = count == 0, count = count, spend = cost }
  else
    local allowed, remaining, reset, retry, block, state, ttl = DECIDE[p.code](states[i], now, p.p1, p.p2, p.p3, cost)
    record(i, allowed, remaining, reset, retry, block)
    writes[i] = { state = state, ttl = ttl }
  end
end
if not all then out[1] = 0 end
if not peek and all then
  for i = 1, n do
    local p, key, w = P[i], KEY_REST[i], writes[i]
    local g = grant(i)
    -- A grant never exceeds what remains after this cost, so deciding the larger spend allows it.
    if g > 0 and p.code == "fwc" then
      w.spend = cost + g
      record(i, fw_decide(w.count, now, p.p1, p.p2, w.spend))
    elseif g > 0 then
      local allowed, remaining, reset, retry, block, state, ttl = DECIDE[p.code](states[i], now, p.p1, p.p2, p.p3, cost + g)
      record(i, allowed, remaining, reset, retry, block)
      w.state, w.ttl = state, ttl
    end
    if w.state then
      redis.call("SET", key, w.state, "PX", math.max(1, w.ttl))
    elseif w.fresh then
      redis.call("SET", key, w.spend, "PXAT", fmt(fw_end(now, p.p2)))
    else
      redis.call("INCRBY", key, w.spend)
    end
  end
end
return out
`,
});
