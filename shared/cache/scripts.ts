import { LuaScript } from "../script";
import { LUA_HELPERS, LUA_INVALIDATE } from "./lua";

/**
 * The cache's entry scripts: one read, one store, one lease release, one invalidation. Each is
 * a single REST request. Fields and records are described in `lua.ts`.
 */

/**
 * Reads an entry and decides its freshness against its tags' current records and Redis time,
 * taking the fill lease when the caller will load.
 *
 * KEYS[1] entry hash; KEYS[2] fill lease of the entry
 * ARGV[1] tag record key prefix (a tag's record is ARGV[1] .. tag)
 * ARGV[2] lease ms; "0" for a plain read, which never takes the lease
 * ARGV[3] lease token (random per call; a retried request finds its own token and still wins)
 * ARGV[4] XFetch multiplier beta * -ln(random) ("0": no early refresh)
 *
 * Returns {state, now_us, lease} for a miss, else {state, now_us, lease, v, f, ct, t, e, g}
 * where state is 1 fresh, 2 stale (serve and refresh), 3 expired but within stale-if-error,
 * 4 fresh but picked for early refresh (XFetch), 0 absent. An entry is absent when any tag
 * record is missing, has another epoch, or was hard-invalidated at or after the entry's as-of
 * time; soft invalidation at or after it makes the entry stale.
 */
export const READ_ENTRY = new LuaScript<unknown[]>(
  "cache-read",
  LUA_HELPERS +
    String.raw`
local now = now_us()
local f = redis.call("HMGET", KEYS[1], "v", "f", "ct", "c", "t", "e", "w", "x", "d", "g", "p", "z")
local state = 0
if f[1] then
  local c = tonumber(f[4])
  local tags, epochs = split(f[10]), split(f[11])
  local soft = f[12] ~= false
  state = 1
  for i, tag in ipairs(tags) do
    local r = redis.call("HMGET", ARGV[1] .. tag, "e", "h", "s")
    if r[1] ~= epochs[i] or (r[2] and tonumber(r[2]) >= c) then
      state = 0
      break
    end
    if r[3] and tonumber(r[3]) >= c then soft = true end
  end
  if state == 1 then
    local e, w, x = tonumber(f[6]), tonumber(f[7]), tonumber(f[8])
    local gap = tonumber(ARGV[4])
    if soft or now >= e then
      if now < w then state = 2 elseif now < x then state = 3 else state = 0 end
    elseif gap > 0 and now + tonumber(f[9]) * gap >= e then
      state = 4
    end
  end
end
local lease = 0
if state ~= 1 and ARGV[2] ~= "0" then
  if redis.call("SET", KEYS[2], ARGV[3], "NX", "PX", ARGV[2]) or redis.call("GET", KEYS[2]) == ARGV[3] then
    lease = 1
  end
end
if state == 0 then return {0, fmt(now), lease} end
return {state, fmt(now), lease, f[1], f[2], f[3] or "", f[5], f[6], f[10] or ""}
`,
);

/**
 * Stores an entry: a direct set (as of now) or the result of a load (as of the Redis time of
 * the read that started it). A load is refused when the key or one of the value's tags was
 * hard-invalidated at or after its start, stored stale when soft-invalidated, and refused when
 * the key holds a value newer than the load. Missing tag records are created with a new epoch;
 * every tag record is kept alive at least as long as the entry plus the fill window.
 *
 * KEYS[1] entry hash; KEYS[2] fill lease of the entry (released when ARGV[3] holds it)
 * ARGV[1] tag record key prefix
 * ARGV[2] as-of µs of a load; "" for a direct set
 * ARGV[3] lease token to release; "" when none is held
 * ARGV[4] ttl ms; ARGV[5] stale-while-revalidate ms; ARGV[6] stale-if-error ms
 * ARGV[7] format; ARGV[8] content type; ARGV[9] value
 * ARGV[10] random id of this call: the epoch of tag records created here, and kept in the entry
 *   so that a resend of this call (the client retries when a reply is lost) answers as it did
 * ARGV[11] fill window ms: a load older than this is not stored (its invalidations may be gone)
 * ARGV[12..] tags
 *
 * Returns {1, existed} stored fresh, {2, existed} stored stale, {0, reason} not stored.
 */
export const STORE_ENTRY = new LuaScript<[number, number | string]>(
  "cache-store",
  LUA_HELPERS +
    String.raw`
local now = now_us()
local cur = redis.call("HMGET", KEYS[1], "v", "c", "k", "z", "o", "r")
-- A resend of this call (a lost reply, retried by the client) finds its own id: answer as before.
if cur[5] == ARGV[10] then return {cur[4] and 2 or 1, tonumber(cur[6])} end
if ARGV[3] ~= "" and redis.call("GET", KEYS[2]) == ARGV[3] then redis.call("DEL", KEYS[2]) end
local load = ARGV[2] ~= ""
local asof = now
local soft = false
local window = tonumber(ARGV[11])
if load then
  asof = tonumber(ARGV[2])
  if now - asof > window * 1000 then return {0, "too-slow"} end
  if cur[3] and tonumber(cur[3]) >= asof then return {0, "invalidated"} end
  if cur[1] and cur[2] and tonumber(cur[2]) > asof then return {0, "newer"} end
  if cur[4] and tonumber(cur[4]) >= asof then soft = true end
end
local tags, records = {}, {}
for i = 12, #ARGV do
  local tag = ARGV[i]
  local r = redis.call("HMGET", ARGV[1] .. tag, "e", "h", "s")
  if load and r[1] then
    if r[2] and tonumber(r[2]) >= asof then return {0, "invalidated"} end
    if r[3] and tonumber(r[3]) >= asof then soft = true end
  end
  tags[#tags + 1] = tag
  records[#records + 1] = r[1]
end
local ttl, swr, sie = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local life = ttl + math.max(swr, sie)
local epochs = {}
for i, tag in ipairs(tags) do
  local key = ARGV[1] .. tag
  local epoch = records[i]
  if not epoch then
    epoch = ARGV[10]
    redis.call("HSET", key, "e", epoch)
  end
  epochs[i] = epoch
  if redis.call("PTTL", key) < life + window then redis.call("PEXPIRE", key, life + window) end
end
local existed = cur[1] and 1 or 0
redis.call("DEL", KEYS[1])
local e = now + ttl * 1000
local fields = {"v", ARGV[9], "f", ARGV[7], "ct", ARGV[8], "c", fmt(asof), "t", fmt(now),
  "e", fmt(e), "w", fmt(e + swr * 1000), "x", fmt(e + sie * 1000), "d", fmt(now - asof),
  "g", table.concat(tags, "\n"), "p", table.concat(epochs, "\n"), "o", ARGV[10], "r", existed}
if soft then
  fields[#fields + 1] = "z"
  fields[#fields + 1] = fmt(now)
end
redis.call("HSET", KEYS[1], unpack(fields))
redis.call("PEXPIRE", KEYS[1], life)
if soft then return {2, existed} end
return {1, existed}
`,
);

/**
 * Releases a fill lease if this caller still holds it (the load failed or was not cacheable).
 * KEYS[1] lease; ARGV[1] token. Returns 1 when released.
 */
export const RELEASE_LEASE = new LuaScript<number>(
  "cache-release",
  String.raw`
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
`,
);

/**
 * Invalidates tags and keys now and publishes the event.
 *
 * ARGV[1] mode "hard" | "soft"; ARGV[2] tag record key prefix; ARGV[3] entry key prefix
 * ARGV[4] new epoch (hard); ARGV[5] fill window ms; ARGV[6] Pub/Sub channel
 * ARGV[7] number of tags n; ARGV[8 .. 7+n] tags; ARGV[8+n ..] keys
 * (no KEYS: records and entries are derived from the names, as the scheduled path must do)
 *
 * Returns {now_us, event_json}.
 */
export const INVALIDATE = new LuaScript<[string, string]>(
  "cache-invalidate",
  LUA_HELPERS +
    LUA_INVALIDATE +
    String.raw`
local now = now_us()
local n = tonumber(ARGV[7])
local tags, keys = {}, {}
for i = 8, #ARGV do
  if i < 8 + n then tags[#tags + 1] = ARGV[i] else keys[#keys + 1] = ARGV[i] end
end
invalidate(ARGV[1], tags, keys, ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), now)
local event = event_json(ARGV[1], tags, keys, now)
redis.call("PUBLISH", ARGV[6], event)
return {fmt(now), event}
`,
);
