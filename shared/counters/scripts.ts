import { LUA_TIME } from "../lua";
import { defineScript } from "../script";

/**
 * The Lua of windowed counters. Each granularity of a counter is one hash whose fields are
 * bucket starts (ms, Redis time) and whose values are counts, so a hit is one `HINCRBY` per
 * granularity and a series one `HMGET`. Time comes from `TIME`, never from the caller, and
 * every key is in KEYS.
 */

/**
 * Adds ARG.by to the current bucket of each granularity.
 *
 * KEY_REST: the bucket hash of each granularity. ARG.by: a positive integer. ARG_REST: each
 * granularity's step (ms) and size (buckets kept), in KEY_REST order.
 *
 * `HINCRBY` answers the new count; when it equals `by`, this hit started the bucket, and only
 * then does the script do the upkeep: `PEXPIRE` the hash one full ring from now (so it expires
 * by itself once its newest bucket has left the ring), and when the hash holds more than two
 * rings of fields (`HLEN`), delete the fields of buckets that left the ring (`HKEYS`, `HDEL`).
 * Memory stays bounded at two rings of fields per hash; a hit that does not start a bucket
 * costs one command per granularity.
 *
 * Returns the new count of the current bucket of each granularity, in KEY_REST order.
 */
export const HIT = defineScript<never, "by", number[]>({
  name: "counter-hit",
  keys: [],
  args: ["by"],
  restKeys: "the bucket hash of each granularity",
  restArgs: "per granularity: step in ms, buckets kept",
  uses: [LUA_TIME],
  lua: String.raw`
local by = tonumber(ARG.by)
local now = math.floor(now_us() / 1000)
local counts = {}
for i = 1, #KEY_REST do
  local key = KEY_REST[i]
  local step, size = tonumber(ARG_REST[2 * i - 1]), tonumber(ARG_REST[2 * i])
  local start = now - now % step
  local count = redis.call("HINCRBY", key, fmt(start), by)
  if count == by then
    redis.call("PEXPIRE", key, size * step)
    if redis.call("HLEN", key) > 2 * size then
      local oldest, gone = start - (size - 1) * step, {}
      for _, field in ipairs(redis.call("HKEYS", key)) do
        local s = tonumber(field)
        if s == nil or s < oldest then gone[#gone + 1] = field end
      end
      for j = 1, #gone, 1000 do redis.call("HDEL", key, unpack(gone, j, math.min(j + 999, #gone))) end
    end
  end
  counts[i] = count
end
return counts
`,
});

/**
 * Reads the last ARG.buckets buckets of one granularity, oldest first, the current (partial)
 * bucket last: `TIME`, then one `HMGET`.
 *
 * KEY.buckets: the bucket hash. ARG.stepMs: its step in ms. ARG.buckets: how many (1..size).
 * Returns { start of the current bucket (ms), count of each bucket oldest first }.
 */
export const SERIES = defineScript<"buckets", "stepMs" | "buckets", number[]>({
  name: "counter-series",
  keys: ["buckets"],
  args: ["stepMs", "buckets"],
  uses: [LUA_TIME],
  lua: String.raw`
local step, n = tonumber(ARG.stepMs), tonumber(ARG.buckets)
local now = math.floor(now_us() / 1000)
local current = now - now % step
local fields = {}
for i = 1, n do fields[i] = fmt(current - (n - i) * step) end
local held = redis.call("HMGET", KEY.buckets, unpack(fields))
local out = { current }
for i = 1, n do out[i + 1] = tonumber(held[i]) or 0 end
return out
`,
});
