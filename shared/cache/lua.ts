/**
 * Lua shared by the cache's scripts (passed in their `uses`, after `LUA_TIME`).
 *
 * ## The entry record
 * One string per key, so a read is one GET and a store one SET with its TTL:
 * `<header>\n<value>`, the header being these fields joined by tabs (times are µs of Redis
 * TIME, so every isolate uses one clock):
 *
 * | field | meaning |
 * |---|---|
 * | `v` | "1" when the record holds a value; "0" for a tombstone, a soft marker or a bare lease |
 * | `f`, `ct` | the value's format (j, t, b) and content type |
 * | `c` | as-of: when the load that produced the value started (the store time of a direct set) |
 * | `t` | stored at (for the age); `d` how long the load took (XFetch's delta) |
 * | `e`, `w`, `x` | fresh until; stale-while-revalidate until; stale-if-error until |
 * | `g`, `p` | the tags, and each tag's epoch when stored, joined by \x1f |
 * | `o`, `r` | the id of the store that wrote it, and whether that store replaced a live entry, so a store resent after a lost reply answers as the first did |
 * | `z` | soft-invalidated at (the value is served only as stale) |
 * | `k` | hard-invalidated at: a tombstone, kept for the fill window so a fill that started before it is refused |
 * | `lt`, `lu` | the fill lease: its holder's token and its end |
 *
 * Names (tags, content types) hold no control characters, so tabs, \n and \x1f are safe.
 *
 * ## The tag table
 * One hash for every tag of the prefix, so a read checks any number of tags with one HMGET:
 * `e:<tag>` the tag's epoch (random; a missing epoch never matches, so an evicted table or field
 * never makes an old entry look fresh), `h:<tag>` its last hard and `s:<tag>` its last soft
 * invalidation (µs), `k:<tag>` until when entries carrying it may live (ms). The cron prunes
 * tags whose every reason to exist has passed.
 */
export const LUA_RECORD = String.raw`
local FIELDS = { "v", "f", "ct", "c", "t", "e", "w", "x", "d", "g", "p", "o", "r", "z", "k", "lt", "lu" }
local function decode_record(raw)
  if not raw then return nil end
  local nl = string.find(raw, "\n", 1, true)
  local header = string.sub(raw, 1, nl - 1)
  local r = { data = string.sub(raw, nl + 1) }
  local i, from = 1, 1
  while FIELDS[i] do
    local tab = string.find(header, "\t", from, true)
    r[FIELDS[i]] = string.sub(header, from, (tab or 0) - 1)
    if not tab then break end
    i, from = i + 1, tab + 1
  end
  for _, name in ipairs(FIELDS) do r[name] = r[name] or "" end
  return r
end
local function encode_record(r)
  local parts = {}
  for i, name in ipairs(FIELDS) do parts[i] = r[name] or "" end
  return table.concat(parts, "\t") .. "\n" .. (r.data or "")
end
local function split(s)
  local out = {}
  for part in string.gmatch(s or "", "[^\31]+") do out[#out + 1] = part end
  return out
end
`;

/**
 * `invalidate(mode, tags, entry_keys, tag_table, epoch, window_ms, now)` applies one
 * invalidation: one HSET on the tag table whatever the number of tags (and of entries carrying
 * them), plus one write per key.
 * - hard tag: a new epoch (every entry stored under the old one stops matching) and `h = now`;
 * - soft tag: `s = now` (entries stored before it are served only as stale);
 * - hard key: the record becomes a tombstone `{k = now}` living `window_ms`;
 * - soft key: `z = now` on the record (a marker living `window_ms` when there is no value).
 * The pruner keeps a tag for `window_ms` after its last invalidation, the longest a fill may
 * take, so a fill that started before an invalidation always sees it when it stores.
 *
 * `event_json(mode, tags, keys, at_us, id)` builds the published event
 * `{"tags":[...],"keys":[...],"mode":"...","at":"<RFC 3339>"}` (plus `"id"` when scheduled)
 * without cjson; names hold no control characters, so only `"` and `\` need escaping.
 */
export const LUA_INVALIDATE = String.raw`
local function invalidate(mode, tags, entry_keys, tag_table, epoch, window_ms, now)
  local stamp = fmt(now)
  if #tags > 0 then
    local fields = {}
    for _, tag in ipairs(tags) do
      if mode == "hard" then
        fields[#fields + 1] = "e:" .. tag
        fields[#fields + 1] = epoch
        fields[#fields + 1] = "h:" .. tag
      else
        fields[#fields + 1] = "s:" .. tag
      end
      fields[#fields + 1] = stamp
    end
    redis.call("HSET", tag_table, unpack(fields))
  end
  for _, key in ipairs(entry_keys) do
    if mode == "hard" then
      redis.call("SET", key, encode_record({ v = "0", k = stamp }), "PX", window_ms)
    else
      local r = decode_record(redis.call("GET", key))
      if r and r.v == "1" then
        r.z = stamp
        redis.call("SET", key, encode_record(r), "KEEPTTL")
      else
        r = r or { v = "0" }
        r.z = stamp
        redis.call("SET", key, encode_record(r), "PX", window_ms)
      end
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
