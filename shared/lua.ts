/**
 * Lua fragments shared by the features' scripts (passed in a script's `uses`).
 *
 * Time always comes from Redis `TIME`: Workers' `Date.now()` stands still between I/O and
 * differs between isolates. Redis 7 replicates a script's effects, so reading TIME before a
 * write is allowed.
 */

/** `now_us()` and `now_ms()`: Redis time; `fmt(n)`: an exact integer string (Lua's tostring would print 1.7e+15). */
export const LUA_TIME = String.raw`
local function now_us()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function fmt(n)
  return string.format("%.0f", n)
end
`;
