/**
 * Lua shared by the cache's scripts, prepended to each script's source.
 *
 * Entry hash fields (times in µs of Redis `TIME`, so every isolate uses one clock):
 * - `v` value, `f` format (j|t|b), `ct` content type;
 * - `c` as-of time: when the load that produced the value started (store time for a direct set);
 * - `t` stored at (for age); `e` fresh until; `w` stale-while-revalidate until;
 *   `x` stale-if-error until; `d` load duration (XFetch's delta);
 * - `g` tags and `p` each tag's epoch when stored, both "\n"-separated (names hold no control
 *   characters);
 * - `o` random id of the store that wrote it and `r` whether that store replaced a live entry
 *   (1 or 0), so a store resent after a lost reply answers as the first did;
 * - `z` soft-invalidated at (the entry is served only as stale);
 * - `k` hard-invalidated at: a tombstone without `v`, kept for the fill window so a fill that
 *   started before it is refused.
 *
 * Tag record fields: `e` epoch (random; a missing record means a new epoch, so an evicted record
 * never makes an old entry match), `h` last hard and `s` last soft invalidation time.
 *
 * The scripts read tag records whose names come from the entry, so not every key can be passed
 * in KEYS. That is sound on Redis and on Upstash as long as scripts run under the global script
 * lock (no `allow-key-locking` flag), which none of these opts into.
 */
export const LUA_HELPERS = String.raw`
local function now_us()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function fmt(n)
  return string.format("%.0f", n)
end
local function split(s)
  local out = {}
  if s then
    for part in string.gmatch(s, "[^\n]+") do out[#out + 1] = part end
  end
  return out
end
`;

/**
 * `invalidate(mode, tags, keys, tag_prefix, entry_prefix, epoch, window_ms, now)` applies one
 * invalidation in O(number of tags + keys), whatever the number of entries carrying a tag:
 * - hard tag: a new epoch (every entry stored under the old one stops matching) and `h = now`;
 * - soft tag: `s = now` (entries stored before it are served only as stale);
 * - hard key: the entry becomes a tombstone `{k = now}` living `window_ms`;
 * - soft key: `z = now` on the entry (or on a marker living `window_ms` when absent).
 * A tag record lives at least `window_ms`, the longest a fill may take, so a fill that started
 * before the invalidation always sees it when it stores.
 *
 * `event_json(mode, tags, keys, at_us, id)` builds the published event
 * `{"tags":[...],"keys":[...],"mode":"...","at":"<RFC 3339>"}` (plus `"id"` when scheduled)
 * without cjson; names hold no control characters, so only `"` and `\` need escaping.
 */
export const LUA_INVALIDATE = String.raw`
local function invalidate(mode, tags, keys, tag_prefix, entry_prefix, epoch, window_ms, now)
  local stamp = fmt(now)
  for _, tag in ipairs(tags) do
    local key = tag_prefix .. tag
    if mode == "hard" then
      redis.call("HSET", key, "e", epoch, "h", stamp)
    else
      redis.call("HSETNX", key, "e", epoch)
      redis.call("HSET", key, "s", stamp)
    end
    if redis.call("PTTL", key) < window_ms then redis.call("PEXPIRE", key, window_ms) end
  end
  for _, name in ipairs(keys) do
    local key = entry_prefix .. name
    if mode == "hard" then
      redis.call("DEL", key)
      redis.call("HSET", key, "k", stamp)
      redis.call("PEXPIRE", key, window_ms)
    else
      local existed = redis.call("EXISTS", key)
      redis.call("HSET", key, "z", stamp)
      if existed == 0 then redis.call("PEXPIRE", key, window_ms) end
    end
  end
end

local function iso(us)
  local ms = math.floor(us / 1000)
  local s = math.floor(ms / 1000)
  local days = math.floor(s / 86400)
  local sod = s - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
    math.floor(sod / 3600), math.floor((sod % 3600) / 60), sod % 60, ms % 1000)
end

local function json_str(s)
  local escaped = string.gsub(s, '\\', '\\\\')
  escaped = string.gsub(escaped, '"', '\\"')
  return '"' .. escaped .. '"'
end

local function json_list(items)
  local parts = {}
  for i, item in ipairs(items) do parts[i] = json_str(item) end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function event_json(mode, tags, keys, at_us, id)
  local out = '{"tags":' .. json_list(tags) .. ',"keys":' .. json_list(keys) ..
    ',"mode":' .. json_str(mode) .. ',"at":"' .. iso(at_us) .. '"'
  if id then out = out .. ',"id":' .. json_str(id) end
  return out .. "}"
end
`;
