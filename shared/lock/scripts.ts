import { LuaScript } from "../script";

/**
 * The lease scripts. Each runs atomically in Redis as one REST request (EVALSHA, EVAL after
 * NOSCRIPT) and reads the time from Redis's own clock (TIME), the clock that also expires
 * keys, never from the Worker, whose `Date.now()` stands still between I/O.
 *
 * Layout of one lock name (keys built in `locks.ts`):
 * - lease: while held exclusively, a hash `{token, fence, expires}` that expires with the lease
 *   (PX; `expires` repeats the end in ms so every reply states the same instant);
 *   while held as a semaphore, a sorted set of tokens scored by their lease's end (ms).
 * - holders: a semaphore's hash token -> fence; it expires with the last lease.
 * - fence: the last fence issued for the name (see {@link FENCE_LUA}).
 * - released (one per token): a short-lived marker that this token released the lease, so a
 *   retried release still answers "released".
 *
 * Numbers that can exceed 14 digits are written with `string.format("%.0f")`: Lua 5.1's
 * `tostring` would turn a microsecond time into "1.7e+15".
 */

/** Sets `now_us` and `now_ms` from Redis's clock, and `fmt` for exact integer strings. */
const NOW_LUA = `
local clock = redis.call("TIME")
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function fmt(n) return string.format("%.0f", n) end
`;

/**
 * `next_fence(counter, retention_ms)`: the fence of a new grant, max(last + 1, now in µs).
 * The counter makes fences strictly increasing while it exists; the clock floor makes the
 * next fence exceed every earlier one even if the counter was evicted, because no fence is
 * ever issued ahead of the clock except by a burst of grants within the same microsecond
 * (proof in docs/locks.md). The counter expires after `retention_ms` without grants, so
 * one-off names do not leave keys behind forever.
 */
const FENCE_LUA = `
local function next_fence(counter, retention_ms)
  local last = tonumber(redis.call("GET", counter)) or 0
  local fence = math.max(last + 1, now_us)
  redis.call("SET", counter, fmt(fence), "PX", retention_ms)
  return fence
end
`;

/**
 * Semaphore helpers, given KEYS[1] = lease (sorted set) and KEYS[2] = holders (hash).
 * `prune()` drops holders whose lease ended (a lease ending at now_ms is still live, as with
 * Redis key expiry). `keep_alive()` makes both keys live exactly as long as the last lease.
 */
const SEMAPHORE_LUA = `
local function prune()
  local expired = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", "(" .. fmt(now_ms))
  if #expired > 0 then
    redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", "(" .. fmt(now_ms))
    redis.call("HDEL", KEYS[2], unpack(expired))
  end
end
local function keep_alive()
  local last = redis.call("ZRANGE", KEYS[1], -1, -1, "WITHSCORES")
  if last[2] then
    local ttl = fmt(math.max(1, tonumber(last[2]) - now_ms))
    redis.call("PEXPIRE", KEYS[1], ttl)
    redis.call("PEXPIRE", KEYS[2], ttl)
  end
end
local function earliest_end()
  local first = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
  return tonumber(first[2]) - now_ms
end
`;

/**
 * Grants an exclusive lease if the name is free, or returns the lease this token already
 * holds: a request retried after its reply was lost gets its own grant back.
 *
 * KEYS[1] lease (hash {token, fence, expires} with PX; a sorted set while a semaphore holds the name)
 * KEYS[2] holders of a semaphore (hash token -> fence; only cleaned here)
 * KEYS[3] fence counter of the name
 * ARGV[1] token (32 hex characters, made by the client before sending)
 * ARGV[2] lease in ms
 * ARGV[3] fence counter retention in ms
 * Returns {1, fence, expiresAtMs} granted, or {0, retryAfterMs} held by someone else.
 */
export const ACQUIRE_EXCLUSIVE = new LuaScript<[number, number, number?]>(
  "lock-acquire-exclusive",
  `${NOW_LUA}${FENCE_LUA}${SEMAPHORE_LUA}
local kind = redis.call("TYPE", KEYS[1])["ok"]
if kind == "hash" then
  local held = redis.call("HMGET", KEYS[1], "token", "fence", "expires")
  if held[1] == ARGV[1] then return {1, tonumber(held[2]), tonumber(held[3])} end
  return {0, redis.call("PTTL", KEYS[1])}
elseif kind == "zset" then
  prune()
  if redis.call("ZCARD", KEYS[1]) > 0 then return {0, earliest_end()} end
end
local fence = next_fence(KEYS[3], ARGV[3])
local expires = now_ms + tonumber(ARGV[2])
redis.call("HSET", KEYS[1], "token", ARGV[1], "fence", fmt(fence), "expires", fmt(expires))
redis.call("PEXPIRE", KEYS[1], ARGV[2])
return {1, fence, expires}
`,
);

/**
 * Grants one of `limit` semaphore leases, or returns the lease this token already holds.
 *
 * KEYS[1] lease (sorted set token -> lease end in ms; a hash while held exclusively)
 * KEYS[2] holders (hash token -> fence)
 * KEYS[3] fence counter of the name
 * ARGV[1] token, ARGV[2] lease in ms, ARGV[3] fence counter retention in ms
 * ARGV[4] limit: most holders at once
 * Returns {1, fence, expiresAtMs} granted, or {0, retryAfterMs} all places taken.
 */
export const ACQUIRE_SHARED = new LuaScript<[number, number, number?]>(
  "lock-acquire-shared",
  `${NOW_LUA}${FENCE_LUA}${SEMAPHORE_LUA}
if redis.call("TYPE", KEYS[1])["ok"] == "hash" then
  return {0, redis.call("PTTL", KEYS[1])}
end
prune()
local held = redis.call("ZSCORE", KEYS[1], ARGV[1])
if held then
  local fence = tonumber(redis.call("HGET", KEYS[2], ARGV[1]))
  if not fence then
    -- the holders hash was evicted under a live lease: give this holder a new fence
    fence = next_fence(KEYS[3], ARGV[3])
    redis.call("HSET", KEYS[2], ARGV[1], fmt(fence))
    keep_alive()
  end
  return {1, fence, tonumber(held)}
end
if redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[4]) then return {0, earliest_end()} end
local fence = next_fence(KEYS[3], ARGV[3])
local expires = now_ms + tonumber(ARGV[2])
redis.call("ZADD", KEYS[1], fmt(expires), ARGV[1])
redis.call("HSET", KEYS[2], ARGV[1], fmt(fence))
keep_alive()
return {1, fence, expires}
`,
);

/**
 * Ends the lease of `token`, whether exclusive or one of a semaphore's.
 *
 * KEYS[1] lease, KEYS[2] holders of a semaphore
 * KEYS[3] release marker of this token (remembers the release so a retry answers 1)
 * ARGV[1] token, ARGV[2] how long the marker lives in ms
 * Returns 1 released (now or by an earlier try of the same request), 0 held by another,
 * -1 not held (free, or this token's lease already ended).
 */
export const RELEASE = new LuaScript<number>(
  "lock-release",
  `${NOW_LUA}${SEMAPHORE_LUA}
local function released()
  redis.call("SET", KEYS[3], "1", "PX", ARGV[2])
  return 1
end
local kind = redis.call("TYPE", KEYS[1])["ok"]
if kind == "hash" then
  if redis.call("HGET", KEYS[1], "token") == ARGV[1] then
    redis.call("DEL", KEYS[1])
    return released()
  end
elseif kind == "zset" then
  prune()
  if redis.call("ZREM", KEYS[1], ARGV[1]) == 1 then
    redis.call("HDEL", KEYS[2], ARGV[1])
    return released()
  end
end
if redis.call("EXISTS", KEYS[3]) == 1 then return 1 end
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
return -1
`,
);

/**
 * Sets the lease of `token` to end `ttl` ms from now (Redis time), if it still holds one.
 *
 * KEYS[1] lease, KEYS[2] holders of a semaphore
 * ARGV[1] token, ARGV[2] new lease in ms, counted from now
 * Returns {1, expiresAtMs} extended, {0} held by another, {-1} not held.
 */
export const EXTEND = new LuaScript<[number, number?]>(
  "lock-extend",
  `${NOW_LUA}${SEMAPHORE_LUA}
local expires = now_ms + tonumber(ARGV[2])
local kind = redis.call("TYPE", KEYS[1])["ok"]
if kind == "hash" then
  if redis.call("HGET", KEYS[1], "token") ~= ARGV[1] then return {0} end
  redis.call("HSET", KEYS[1], "expires", fmt(expires))
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return {1, expires}
elseif kind == "zset" then
  prune()
  if redis.call("ZSCORE", KEYS[1], ARGV[1]) then
    redis.call("ZADD", KEYS[1], "XX", fmt(expires), ARGV[1])
    keep_alive()
    return {1, expires}
  end
  if redis.call("ZCARD", KEYS[1]) > 0 then return {0} end
end
return {-1}
`,
);

/**
 * Reads a name's state without changing it and without revealing any token.
 *
 * KEYS[1] lease, KEYS[2] holders of a semaphore
 * Returns {0} free, or {holders, expiresAtMs, fence}: for a semaphore, the end of the last
 * lease and the highest fence among live holders.
 */
export const STATUS = new LuaScript<[number, number?, number?]>(
  "lock-status",
  `${NOW_LUA}
local kind = redis.call("TYPE", KEYS[1])["ok"]
if kind == "hash" then
  local held = redis.call("HMGET", KEYS[1], "expires", "fence")
  return {1, tonumber(held[1]), tonumber(held[2])}
elseif kind == "zset" then
  local live = redis.call("ZRANGEBYSCORE", KEYS[1], fmt(now_ms), "+inf", "WITHSCORES")
  if #live == 0 then return {0} end
  local tokens = {}
  for i = 1, #live, 2 do tokens[#tokens + 1] = live[i] end
  local highest = 0
  for _, fence in ipairs(redis.call("HMGET", KEYS[2], unpack(tokens))) do
    highest = math.max(highest, tonumber(fence) or 0)
  end
  return {#tokens, tonumber(live[#live]), highest}
end
return {0}
`,
);
