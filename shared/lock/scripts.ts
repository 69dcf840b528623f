import { LUA_TIME } from "../lua";
import { defineScript } from "../script";

/**
 * The lock scripts. Each is one EVALSHA (EVAL after NOSCRIPT), atomic in Redis, and takes
 * time from Redis's `TIME`, the clock that also expires keys.
 *
 * The state of one name lives in its `lease` key (docs/locks.md "Key layout"):
 * - an exclusive lease: the string `<token>:<fence>:<expiresMs>:<prev>`, set with
 *   `PXAT expiresMs`, so the key exists exactly while the lease is live (`prev`: the token of
 *   the release this grant replaced, or "");
 * - a release marker: the string `R:<token>:<fence>`, left by a release for the retention:
 *   it keeps the last fence and answers a resent release;
 * - a semaphore: a sorted set token → lease end (ms), with its `holders` hash (token → fence)
 *   and its `fence` key (the last fence).
 *
 * The exclusive scripts write first and look after: `SET ... GET` returns the state it
 * replaced, which says everything (free, a marker, someone's lease), and on the rare paths
 * the script corrects or puts back what it wrote. A command of the wrong mode fails with
 * WRONGTYPE, caught with `redis.pcall`: that is how a script finds a semaphore, without a
 * TYPE call.
 *
 * Fences: a grant's fence is max(last + 1, now in µs), `last` being the fence the state
 * carries (a marker, a semaphore's fence key); proof in docs/locks.md.
 */

/** Parsing and writing the string states, and telling WRONGTYPE from other errors. */
const LUA_LOCK_STATE = String.raw`
local function now_ms_of(us) return math.floor(us / 1000) end
local function lease_value(token, fence, expires, prev)
  return token .. ":" .. fmt(fence) .. ":" .. fmt(expires) .. ":" .. prev
end
local function marker_value(token, fence) return "R:" .. token .. ":" .. fmt(fence) end
-- {marker = true, token, fence} or {token, fence, expires, prev}
local function parse_state(value)
  local token, fence = string.match(value, "^R:(%x+):(%d+)$")
  if token then return { marker = true, token = token, fence = tonumber(fence) } end
  local t, f, e, p = string.match(value, "^(%x+):(%d+):(%d+):(%x*)$")
  if not t then error("ERR lock state is neither a lease nor a release marker") end
  return { token = t, fence = tonumber(f), expires = tonumber(e), prev = p }
end
-- true when a pcall reply is WRONGTYPE (the other mode holds the name); any other error is raised
local function wrong_type(reply)
  if type(reply) ~= "table" or not reply.err then return false end
  if string.sub(reply.err, 1, 9) == "WRONGTYPE" then return true end
  error(reply.err)
end
`;

/** A semaphore's two keys: they live until its last lease ends, and drop places together. */
const LUA_SEMAPHORE = String.raw`
-- "GT": only ever later (when the last end is not known here; a key without expiry keeps none)
local function live_until(lease_key, holders_key, at, only_later)
  if only_later then
    redis.call("PEXPIREAT", lease_key, fmt(at), "GT")
    redis.call("PEXPIREAT", holders_key, fmt(at), "GT")
  else
    redis.call("PEXPIREAT", lease_key, fmt(at))
    redis.call("PEXPIREAT", holders_key, fmt(at))
  end
end
-- removes the places of these tokens (ended, or released) from both keys
local function forget_places(lease_key, holders_key, tokens)
  if #tokens == 0 then return end
  redis.call("ZREM", lease_key, unpack(tokens))
  redis.call("HDEL", holders_key, unpack(tokens))
end
`;

/**
 * Grants an exclusive lease if the name is free, or returns the lease this token already
 * holds (a resend after a lost reply gets its own grant back).
 *
 * Replies {1, fence, expiresAtMs, prev} granted, or {0, retryAfterMs} held by someone else.
 * Billed: TIME + SET when the name was free; one more SET after a release (the marker's fence
 * and token go into the lease); none more when held or resent.
 */
export const ACQUIRE = defineScript<"lease" | "holders" | "fence", "token" | "ttlMs", [number, number, number?, string?]>({
  name: "lock-acquire",
  keys: ["lease", "holders", "fence"],
  args: ["token", "ttlMs"],
  uses: [LUA_TIME, LUA_LOCK_STATE],
  lua: String.raw`
local now = now_us()
local now_ms = now_ms_of(now)
local expires = now_ms + tonumber(ARG.ttlMs)
local old = redis.pcall("SET", KEY.lease, lease_value(ARG.token, now, expires, ""), "NX", "PXAT", fmt(expires), "GET")
if wrong_type(old) then
  -- a semaphore: the lock is free only when none of its leases is live
  local first = redis.call("ZRANGEBYSCORE", KEY.lease, fmt(now_ms), "+inf", "WITHSCORES", "LIMIT", 0, 1)
  if first[2] then return { 0, tonumber(first[2]) - now_ms } end
  local fence = math.max((tonumber(redis.call("GET", KEY.fence)) or 0) + 1, now)
  redis.call("DEL", KEY.lease, KEY.holders, KEY.fence)
  redis.call("SET", KEY.lease, lease_value(ARG.token, fence, expires, ""), "PXAT", fmt(expires))
  return { 1, fence, expires, "" }
end
if not old then return { 1, now, expires, "" } end
local state = parse_state(old)
if state.marker then
  -- released before: continue from its fence, and carry its token for a resent release
  local fence = math.max(state.fence + 1, now)
  redis.call("SET", KEY.lease, lease_value(ARG.token, fence, expires, state.token), "PXAT", fmt(expires))
  return { 1, fence, expires, state.token }
end
if state.token == ARG.token then return { 1, state.fence, state.expires, state.prev } end
return { 0, state.expires - now_ms }
`,
});

/**
 * Grants one of `limit` semaphore places, or returns the place this token already holds.
 *
 * Replies {1, fence, expiresAtMs} granted, or {0, retryAfterMs} all places taken (or held
 * exclusively).
 */
export const ACQUIRE_SHARED = defineScript<
  "lease" | "holders" | "fence",
  "token" | "ttlMs" | "limit" | "retentionMs",
  [number, number, number?]
>({
  name: "lock-acquire-shared",
  keys: ["lease", "holders", "fence"],
  args: ["token", "ttlMs", "limit", "retentionMs"],
  uses: [LUA_TIME, LUA_LOCK_STATE, LUA_SEMAPHORE],
  lua: String.raw`
local now = now_us()
local now_ms = now_ms_of(now)
local expires = now_ms + tonumber(ARG.ttlMs)
local last = 0
local all = redis.pcall("ZRANGE", KEY.lease, 0, -1, "WITHSCORES")
if wrong_type(all) then
  -- an exclusive lease or a release marker holds the key
  local state = parse_state(redis.call("GET", KEY.lease))
  if not state.marker then return { 0, math.max(0, state.expires - now_ms) } end
  last = state.fence
  redis.call("DEL", KEY.lease)
  all = {}
end
-- the next fence: max(last + 1, now), "last" being the counter's or the marker's
local function next_fence()
  local counted = tonumber(redis.call("SET", KEY.fence, fmt(now), "PX", ARG.retentionMs, "GET")) or 0
  local floor = math.max(counted, last) + 1
  if floor <= now then return now end
  redis.call("SET", KEY.fence, fmt(floor), "PX", ARG.retentionMs)
  return floor
end
-- sorted by lease end: ended places go, this token's place is a resend, the rest are live
local ended, live, earliest, latest, mine = {}, 0, nil, nil, nil
for i = 1, #all, 2 do
  local token, ends = all[i], tonumber(all[i + 1])
  if ends < now_ms then
    ended[#ended + 1] = token
  else
    if token == ARG.token then mine = ends else live = live + 1; earliest = earliest or ends end
    latest = ends
  end
end
forget_places(KEY.lease, KEY.holders, ended)
if mine then
  local fence = tonumber(redis.call("HGET", KEY.holders, ARG.token))
  if not fence then
    -- the holders hash was evicted under a live lease: a new fence for this holder
    fence = next_fence()
    redis.call("HSET", KEY.holders, ARG.token, fmt(fence))
    live_until(KEY.lease, KEY.holders, latest, false)
  end
  return { 1, fence, mine }
end
if live >= tonumber(ARG.limit) then return { 0, earliest - now_ms } end
local fence = next_fence()
redis.call("ZADD", KEY.lease, fmt(expires), ARG.token)
redis.call("HSET", KEY.holders, ARG.token, fmt(fence))
live_until(KEY.lease, KEY.holders, math.max(latest or 0, expires), false)
return { 1, fence, expires }
`,
});

/**
 * Ends the lease of `token`, exclusive or a semaphore place.
 *
 * `fence` is the lease's fence if this isolate knows it ("" if not): the marker is written
 * with it in one command, and corrected with a second when it was wrong.
 * Replies 1 released (now, or by an earlier send of the same release), 0 held by another,
 * -1 not held (free, or this token's lease already ended).
 * Billed: SET when `fence` was right; the semaphore path costs more.
 */
export const RELEASE = defineScript<
  "lease" | "holders" | "fence" | "released",
  "token" | "fence" | "retentionMs" | "releaseMemoryMs",
  number
>({
  name: "lock-release",
  keys: ["lease", "holders", "fence", "released"],
  args: ["token", "fence", "retentionMs", "releaseMemoryMs"],
  uses: [LUA_TIME, LUA_LOCK_STATE, LUA_SEMAPHORE],
  lua: String.raw`
local old = redis.pcall("SET", KEY.lease, "R:" .. ARG.token .. ":" .. ARG.fence, "XX", "PX", ARG.retentionMs, "GET")
if wrong_type(old) then
  -- a semaphore: remove this token's place if it is live, and forget places that ended
  local now_ms = now_ms_of(now_us())
  local all = redis.call("ZRANGE", KEY.lease, 0, -1, "WITHSCORES")
  local gone, mine, live = {}, false, 0
  for i = 1, #all, 2 do
    local token, ends = all[i], tonumber(all[i + 1])
    if ends >= now_ms and token == ARG.token then mine = true end
    if ends < now_ms or token == ARG.token then gone[#gone + 1] = token else live = live + 1 end
  end
  forget_places(KEY.lease, KEY.holders, gone)
  if mine then
    if live == 0 then
      -- the last holder: leave a marker that keeps the semaphore's last fence, as an exclusive release does
      local last = tonumber(redis.call("GET", KEY.fence)) or 0
      redis.call("SET", KEY.lease, marker_value(ARG.token, last), "PX", ARG.retentionMs)
    else
      redis.call("SET", KEY.released, "1", "PX", ARG.releaseMemoryMs)
    end
    return 1
  end
  if redis.call("EXISTS", KEY.released) == 1 then return 1 end
  if live > 0 then return 0 end
  return -1
end
if not old then
  -- nothing there (XX wrote nothing); a semaphore that since ended may remember this release
  if redis.call("EXISTS", KEY.released) == 1 then return 1 end
  return -1
end
local state = parse_state(old)
if state.token == ARG.token then
  -- this token's lease, or its marker (a resent release): the marker keeps the lease's fence
  if state.fence ~= tonumber(ARG.fence) then
    redis.call("SET", KEY.lease, marker_value(ARG.token, state.fence), "PX", ARG.retentionMs)
  end
  return 1
end
-- someone else's state: put it back
if state.marker then
  redis.call("SET", KEY.lease, old, "PX", ARG.retentionMs)
  return -1
end
redis.call("SET", KEY.lease, old, "PXAT", fmt(state.expires))
-- the holder's grant replaced this token's release: this is that release, resent
if state.prev == ARG.token then return 1 end
return 0
`,
});

/**
 * Makes the lease of `token` end `ttlMs` from now (Redis time), if it still holds one.
 *
 * `fence` and `prev` are this isolate's hints about the lease ("" when unknown): the new
 * lease is written with them in one command and corrected with a second when they were wrong.
 * Replies {1, expiresAtMs} extended, {0} held by another, {-1} not held.
 */
export const EXTEND = defineScript<"lease" | "holders", "token" | "ttlMs" | "fence" | "prev" | "retentionMs", [number, number?]>({
  name: "lock-extend",
  keys: ["lease", "holders"],
  args: ["token", "ttlMs", "fence", "prev", "retentionMs"],
  uses: [LUA_TIME, LUA_LOCK_STATE, LUA_SEMAPHORE],
  lua: String.raw`
local now_ms = now_ms_of(now_us())
local expires = now_ms + tonumber(ARG.ttlMs)
local hint = tonumber(ARG.fence) or 0
local old = redis.pcall("SET", KEY.lease, lease_value(ARG.token, hint, expires, ARG.prev), "XX", "PXAT", fmt(expires), "GET")
if wrong_type(old) then
  local ends = tonumber(redis.call("ZSCORE", KEY.lease, ARG.token))
  if ends and ends >= now_ms then
    redis.call("ZADD", KEY.lease, "XX", fmt(expires), ARG.token)
    live_until(KEY.lease, KEY.holders, expires, true)
    return { 1, expires }
  end
  if redis.call("ZCOUNT", KEY.lease, fmt(now_ms), "+inf") > 0 then return { 0 } end
  return { -1 }
end
if not old then return { -1 } end
local state = parse_state(old)
if state.marker then
  redis.call("SET", KEY.lease, old, "PX", ARG.retentionMs)
  return { -1 }
end
if state.token ~= ARG.token then
  redis.call("SET", KEY.lease, old, "PXAT", fmt(state.expires))
  return { 0 }
end
if state.fence ~= hint or state.prev ~= ARG.prev then
  redis.call("SET", KEY.lease, lease_value(ARG.token, state.fence, expires, state.prev), "PXAT", fmt(expires))
end
return { 1, expires }
`,
});

/**
 * Reads a name's state without changing it and without revealing any token.
 *
 * Replies {0} free, or {holders, expiresAtMs, fence}: for a semaphore, the end of the last
 * lease and the highest fence among live holders. Billed: GET for an exclusive lock (a key
 * that exists is live: its expiry is the lease's).
 */
export const STATUS = defineScript<"lease" | "holders", never, [number, number?, number?]>({
  name: "lock-status",
  keys: ["lease", "holders"],
  args: [],
  uses: [LUA_TIME, LUA_LOCK_STATE],
  lua: String.raw`
local value = redis.pcall("GET", KEY.lease)
if wrong_type(value) then
  local live = redis.call("ZRANGEBYSCORE", KEY.lease, fmt(now_ms_of(now_us())), "+inf", "WITHSCORES")
  if #live == 0 then return { 0 } end
  local tokens = {}
  for i = 1, #live, 2 do tokens[#tokens + 1] = live[i] end
  local highest = 0
  for _, fence in ipairs(redis.call("HMGET", KEY.holders, unpack(tokens))) do
    highest = math.max(highest, tonumber(fence) or 0)
  end
  return { #tokens, tonumber(live[#live]), highest }
end
if not value then return { 0 } end
local state = parse_state(value)
if state.marker then return { 0 } end
return { 1, state.expires, state.fence }
`,
});

/**
 * Applies a fenced write only if its fence is not lower than the highest the record has seen,
 * and keeps that fence in the same hash as the value.
 * Replies {1, fence} applied, or {0, highestFence} refused.
 */
export const FENCED_SET = defineScript<"record", "fence" | "value" | "ttlMs", [number, number]>({
  name: "fenced-set",
  keys: ["record"],
  args: ["fence", "value", "ttlMs"],
  lua: String.raw`
local seen = tonumber(redis.call("HGET", KEY.record, "fence"))
if seen and tonumber(ARG.fence) < seen then return { 0, seen } end
redis.call("HSET", KEY.record, "fence", ARG.fence, "value", ARG.value)
if ARG.ttlMs ~= "0" then redis.call("PEXPIRE", KEY.record, ARG.ttlMs) end
return { 1, tonumber(ARG.fence) }
`,
});

/** Reads a fenced record. Replies {fence, value}, each nil when absent. */
export const FENCED_GET = defineScript<"record", never, [string | null, string | null]>({
  name: "fenced-get",
  keys: ["record"],
  args: [],
  lua: `return redis.call("HMGET", KEY.record, "fence", "value")`,
});
