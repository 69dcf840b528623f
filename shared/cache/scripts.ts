import { LUA_TIME } from "../lua";
import { defineScript } from "../script";
import { LUA_INVALIDATE, LUA_RECORD } from "./lua";

/**
 * Every script of the cache, each one REST request. The entry record and the tag table are
 * described in `lua.ts`. Every key a script touches is in its KEYS (entries of invalidated keys
 * included), so Upstash locks only those keys.
 */

/**
 * Reads an entry and decides its freshness against its tags and Redis time, taking the fill
 * lease (written into the record) when the caller will load.
 *
 * Returns {state, now_us, lease} when absent, else {state, now_us, lease, value, format,
 * content type, stored at, fresh until, tags (\x1f-joined), version, unchanged}: `version` is
 * the id of the store that wrote the entry; when it equals `known` (the version of a copy the
 * caller holds) and the entry is fresh, `unchanged` is 1 and the value is left out, so
 * revalidating a large hot value costs almost no bandwidth. States: 0 absent, 1 fresh,
 * 2 stale (serve and refresh), 3 expired but within stale-if-error, 4 fresh but picked for
 * early refresh (XFetch). An entry is absent when a tag's epoch differs from the one it was
 * stored with (a hard invalidation, or a table that lost the tag); a soft invalidation at or
 * after its as-of time makes it stale. A hard invalidation always moves the epoch, so a read
 * needs only epochs and soft times.
 */
export const READ_ENTRY = defineScript<"entry" | "tags", "leaseMs" | "token" | "gap" | "known", unknown[]>({
  name: "cache-read",
  keys: ["entry", "tags"],
  // leaseMs: "0" for a plain read, which never takes the lease. token: random per call (a
  // retried request finds its own token and still holds the lease). gap: XFetch multiplier
  // beta * -ln(random); "0" means no early refresh. known: the version of the caller's copy ("" none).
  args: ["leaseMs", "token", "gap", "known"],
  uses: [LUA_TIME, LUA_RECORD],
  lua: String.raw`
local now = now_us()
local r = decode_record(redis.call("GET", KEY.entry))
local state = 0
if r and r.v == "1" then
  local c = tonumber(r.c)
  local tags, epochs = split(r.g), split(r.p)
  local soft = r.z ~= ""
  state = 1
  if #tags > 0 then
    local fields = {}
    for i, tag in ipairs(tags) do
      fields[2 * i - 1] = "e:" .. tag
      fields[2 * i] = "s:" .. tag
    end
    local records = redis.call("HMGET", KEY.tags, unpack(fields))
    for i = 1, #tags do
      if records[2 * i - 1] ~= epochs[i] then
        state = 0
        break
      end
      local s = records[2 * i]
      if s and tonumber(s) >= c then soft = true end
    end
  end
  if state == 1 then
    local e, w, x = tonumber(r.e), tonumber(r.w), tonumber(r.x)
    local gap = tonumber(ARG.gap)
    if soft or now >= e then
      if now < w then state = 2 elseif now < x then state = 3 else state = 0 end
    elseif gap > 0 and now + tonumber(r.d) * gap >= e then
      state = 4
    end
  end
end
local lease = 0
if state ~= 1 and ARG.leaseMs ~= "0" then
  local held = r and r.lt ~= "" and tonumber(r.lu) > now
  if not held or r.lt == ARG.token then
    lease = 1
    if not held then
      local ends = fmt(now + tonumber(ARG.leaseMs) * 1000)
      if r then
        r.lt, r.lu = ARG.token, ends
        redis.call("SET", KEY.entry, encode_record(r), "KEEPTTL")
      else
        redis.call("SET", KEY.entry, encode_record({ v = "0", lt = ARG.token, lu = ends }), "PX", ARG.leaseMs)
      end
    end
  end
end
if state == 0 then return { 0, fmt(now), lease } end
if ARG.known ~= "" and r.o == ARG.known and (state == 1 or state == 4) then
  return { state, fmt(now), lease, "", r.f, r.ct, r.t, r.e, r.g, r.o, 1 }
end
return { state, fmt(now), lease, r.data, r.f, r.ct, r.t, r.e, r.g, r.o, 0 }
`,
});

/**
 * Stores an entry: a direct set (as of now) or the result of a load (as of the Redis time of
 * the read that started it). A load is refused when the key or one of the value's tags was
 * hard-invalidated at or after its start, stored stale when soft-invalidated, and refused when
 * the key holds a value newer than the load. A tag the table lacks gets a new epoch; a tag's
 * keep-until is pushed past the entry's life (to twice what is needed, so steady writes rarely
 * pay for it). The record replaces any lease; a refused load clears its own.
 *
 * Returns {1, existed} stored fresh, {2, existed} stored stale, {0, reason} not stored.
 */
export const STORE_ENTRY = defineScript<
  "entry" | "tags",
  "asOf" | "token" | "ttlMs" | "swrMs" | "sieMs" | "format" | "contentType" | "value" | "storeId" | "windowMs",
  [number, number | string]
>({
  name: "cache-store",
  keys: ["entry", "tags"],
  // asOf: µs of the read that started a load; "" for a direct set. token: the lease to clear
  // when the load is refused ("" when none). ttlMs, swrMs, sieMs: fresh, stale-while-revalidate
  // and stale-if-error windows. storeId: random per call; kept in the record so a resend of this
  // call answers as it did, and the epoch of tags created here. windowMs: the fill window; a
  // load older than this is not stored (the invalidations it must be checked against may be gone).
  args: ["asOf", "token", "ttlMs", "swrMs", "sieMs", "format", "contentType", "value", "storeId", "windowMs"],
  restArgs: "the value's tags",
  uses: [LUA_TIME, LUA_RECORD],
  lua: String.raw`
local now = now_us()
local cur = decode_record(redis.call("GET", KEY.entry))
if cur and cur.o == ARG.storeId then return { cur.z ~= "" and 2 or 1, tonumber(cur.r) } end
local function refuse(reason)
  if cur and ARG.token ~= "" and cur.lt == ARG.token then
    cur.lt, cur.lu = "", ""
    if cur.v == "1" or cur.k ~= "" or cur.z ~= "" then
      redis.call("SET", KEY.entry, encode_record(cur), "KEEPTTL")
    else
      redis.call("DEL", KEY.entry)
    end
  end
  return { 0, reason }
end
local load = ARG.asOf ~= ""
local asof = now
local window = tonumber(ARG.windowMs)
local soft = false
if load then
  asof = tonumber(ARG.asOf)
  if now - asof > window * 1000 then return refuse("too-slow") end
  if cur then
    if cur.k ~= "" and tonumber(cur.k) >= asof then return refuse("invalidated") end
    if cur.v == "1" and tonumber(cur.c) > asof then return refuse("newer") end
    if cur.z ~= "" and tonumber(cur.z) >= asof then soft = true end
  end
end
local ttl, swr, sie = tonumber(ARG.ttlMs), tonumber(ARG.swrMs), tonumber(ARG.sieMs)
local life = ttl + math.max(swr, sie)
local epochs = {}
if #ARG_REST > 0 then
  local fields = {}
  for i, tag in ipairs(ARG_REST) do
    fields[4 * i - 3], fields[4 * i - 2], fields[4 * i - 1], fields[4 * i] = "e:" .. tag, "h:" .. tag, "s:" .. tag, "k:" .. tag
  end
  local records = redis.call("HMGET", KEY.tags, unpack(fields))
  local now_ms = math.floor(now / 1000)
  local updates = {}
  for i, tag in ipairs(ARG_REST) do
    local e, h, s, k = records[4 * i - 3], records[4 * i - 2], records[4 * i - 1], records[4 * i]
    if load then
      if h and tonumber(h) >= asof then return refuse("invalidated") end
      if s and tonumber(s) >= asof then soft = true end
    end
    if not e then
      e = ARG.storeId
      updates[#updates + 1] = "e:" .. tag
      updates[#updates + 1] = e
    end
    epochs[i] = e
    if not k or tonumber(k) < now_ms + life + window then
      updates[#updates + 1] = "k:" .. tag
      updates[#updates + 1] = fmt(now_ms + 2 * (life + window))
    end
  end
  if #updates > 0 then redis.call("HSET", KEY.tags, unpack(updates)) end
end
local existed = (cur and cur.v == "1") and "1" or "0"
local e = now + ttl * 1000
redis.call("SET", KEY.entry, encode_record({
  v = "1", f = ARG.format, ct = ARG.contentType, c = fmt(asof), t = fmt(now), d = fmt(now - asof),
  e = fmt(e), w = fmt(e + swr * 1000), x = fmt(e + sie * 1000),
  g = table.concat(ARG_REST, "\31"), p = table.concat(epochs, "\31"),
  o = ARG.storeId, r = existed, z = soft and fmt(now) or "", data = ARG.value,
}), "PX", life)
return { soft and 2 or 1, tonumber(existed) }
`,
});

/** Clears a fill lease if this caller still holds it (the load failed or was not cacheable). Returns 1 when cleared. */
export const RELEASE_LEASE = defineScript<"entry", "token", number>({
  name: "cache-release",
  keys: ["entry"],
  args: ["token"],
  uses: [LUA_RECORD],
  lua: String.raw`
local r = decode_record(redis.call("GET", KEY.entry))
if not r or r.lt ~= ARG.token then return 0 end
if r.v == "1" or r.k ~= "" or r.z ~= "" then
  r.lt, r.lu = "", ""
  redis.call("SET", KEY.entry, encode_record(r), "KEEPTTL")
else
  redis.call("DEL", KEY.entry)
end
return 1
`,
});

/**
 * Invalidates tags and keys now and publishes the event.
 * Returns {now_us, event_json}.
 */
export const INVALIDATE = defineScript<"tags", "mode" | "epoch" | "windowMs" | "channel" | "tagCount", [string, string]>({
  name: "cache-invalidate",
  keys: ["tags"],
  restKeys: "the entry of each invalidated key, in the order of the key names",
  // mode: "hard" | "soft"; epoch: the new epoch of hard-invalidated tags; channel: Pub/Sub
  // channel of the event; tagCount: how many of ARG_REST are tags (the rest are key names).
  args: ["mode", "epoch", "windowMs", "channel", "tagCount"],
  restArgs: "the tags, then the key names",
  uses: [LUA_TIME, LUA_RECORD, LUA_INVALIDATE],
  lua: String.raw`
local now = now_us()
local n = tonumber(ARG.tagCount)
local tags, names = {}, {}
for i, value in ipairs(ARG_REST) do
  if i <= n then tags[#tags + 1] = value else names[#names + 1] = value end
end
invalidate(ARG.mode, tags, KEY_REST, KEY.tags, ARG.epoch, tonumber(ARG.windowMs), now)
local event = event_json(ARG.mode, tags, names, now)
redis.call("PUBLISH", ARG.channel, event)
return { fmt(now), event }
`,
});

/** `with_payloads(out, ids)`: appends each id and its payload ("" when gone) to `out`. */
const LUA_PAYLOADS = String.raw`
local function with_payloads(out, ids)
  if #ids == 0 then return out end
  local payloads = redis.call("HMGET", KEY.items, unpack(ids))
  for i, id in ipairs(ids) do
    out[#out + 1] = id
    out[#out + 1] = payloads[i] or ""
  end
  return out
end
`;

/**
 * Schedules an invalidation at a due time, unless the queue is full or the time has passed.
 * Returns 1 scheduled, 0 when the due time is not after Redis's now (apply it now instead),
 * -1 when `maxPending` invalidations are already pending.
 */
export const SCHEDULE = defineScript<"due" | "items", "id" | "dueMs" | "payload" | "maxPending", number>({
  name: "cache-schedule",
  keys: ["due", "items"],
  args: ["id", "dueMs", "payload", "maxPending"],
  uses: [LUA_TIME],
  lua: String.raw`
if tonumber(ARG.dueMs) <= math.floor(now_us() / 1000) then return 0 end
if redis.call("ZCARD", KEY.due) >= tonumber(ARG.maxPending) then return -1 end
redis.call("ZADD", KEY.due, ARG.dueMs, ARG.id)
redis.call("HSET", KEY.items, ARG.id, ARG.payload)
return 1
`,
});

/**
 * The due items of one batch, read only: {now_ms, id, payload, id, payload, ...}. Due means
 * at or before max(cutoff, Redis now). The apply script claims them.
 */
export const DUE = defineScript<"due" | "items", "cutoffMs" | "batchSize", Array<number | string>>({
  name: "cache-due",
  keys: ["due", "items"],
  args: ["cutoffMs", "batchSize"],
  uses: [LUA_TIME, LUA_PAYLOADS],
  lua: String.raw`
local now_ms = math.floor(now_us() / 1000)
local cutoff = fmt(math.max(now_ms, tonumber(ARG.cutoffMs)))
local ids = redis.call("ZRANGEBYSCORE", KEY.due, "-inf", cutoff, "LIMIT", 0, tonumber(ARG.batchSize))
return with_payloads({ now_ms }, ids)
`,
});

/**
 * Claims, applies, publishes and removes a batch of due items found by DUE, atomically: an item
 * another run already claimed (or that was cancelled) is skipped, so overlapping runs never
 * apply an item twice, and a run that dies between batches loses nothing.
 * Returns {number still due, event_json...}.
 */
export const APPLY_DUE = defineScript<"due" | "items" | "tags", "cutoffMs" | "epoch" | "windowMs" | "channel", Array<number | string>>({
  name: "cache-apply-due",
  keys: ["due", "items", "tags"],
  restKeys: "the entries of the batch's key invalidations, item after item, in payload order",
  args: ["cutoffMs", "epoch", "windowMs", "channel"],
  restArgs: "for each item: its id, then how many entry keys of KEY_REST are its own",
  uses: [LUA_TIME, LUA_RECORD, LUA_INVALIDATE],
  lua: String.raw`
local now = now_us()
local out = { 0 }
local next_key = 1
for i = 1, #ARG_REST, 2 do
  local id, count = ARG_REST[i], tonumber(ARG_REST[i + 1])
  local entry_keys = { unpack(KEY_REST, next_key, next_key + count - 1) }
  next_key = next_key + count
  local payload = redis.call("HGET", KEY.items, id)
  if redis.call("ZREM", KEY.due, id) == 1 and payload then
    redis.call("HDEL", KEY.items, id)
    local lines = {}
    for line in string.gmatch(payload, "[^\n]+") do lines[#lines + 1] = line end
    local mode, n = lines[1], tonumber(lines[3])
    local tags, names = {}, {}
    for j = 4, #lines do
      if j < 4 + n then tags[#tags + 1] = lines[j] else names[#names + 1] = lines[j] end
    end
    invalidate(mode, tags, entry_keys, KEY.tags, ARG.epoch, tonumber(ARG.windowMs), now)
    local event = event_json(mode, tags, names, now, id)
    redis.call("PUBLISH", ARG.channel, event)
    out[#out + 1] = event
  end
end
local cutoff = fmt(math.max(math.floor(now / 1000), tonumber(ARG.cutoffMs)))
out[1] = redis.call("ZCOUNT", KEY.due, "-inf", cutoff)
return out
`,
});

/**
 * Cancels a pending invalidation. Returns 1 when it was pending, or when this very call
 * cancelled it: a resend after a lost reply finds its token in the marker (kept a minute).
 */
export const CANCEL = defineScript<"due" | "items" | "marker", "id" | "token", number>({
  name: "cache-cancel",
  keys: ["due", "items", "marker"],
  args: ["id", "token"],
  lua: String.raw`
redis.call("HDEL", KEY.items, ARG.id)
if redis.call("ZREM", KEY.due, ARG.id) == 1 then
  redis.call("SET", KEY.marker, ARG.token, "PX", 60000)
  return 1
end
if redis.call("GET", KEY.marker) == ARG.token then return 1 end
return 0
`,
});

/** Pending items in due order: {total, id, payload, id, payload, ...}. */
export const LIST = defineScript<"due" | "items", "offset" | "limit", Array<number | string>>({
  name: "cache-list-scheduled",
  keys: ["due", "items"],
  args: ["offset", "limit"],
  uses: [LUA_PAYLOADS],
  lua: String.raw`
local ids = redis.call("ZRANGE", KEY.due, tonumber(ARG.offset), tonumber(ARG.offset) + tonumber(ARG.limit) - 1)
return with_payloads({ redis.call("ZCARD", KEY.due) }, ids)
`,
});

/**
 * Removes from the tag table, a slice at a time (HSCAN from a saved cursor), every tag that no
 * live entry can carry any more (past its keep-until) and whose last invalidation is older than
 * the fill window. Removing a tag early would be safe for reads (a missing epoch never matches)
 * but not for a fill in flight, hence the window. Returns {tags removed, cursor}.
 */
export const PRUNE_TAGS = defineScript<"tags" | "cursor", "count" | "windowMs", [number, string]>({
  name: "cache-prune-tags",
  keys: ["tags", "cursor"],
  args: ["count", "windowMs"],
  uses: [LUA_TIME],
  lua: String.raw`
local now_ms = math.floor(now_us() / 1000)
local window_us = tonumber(ARG.windowMs) * 1000
local scan = redis.call("HSCAN", KEY.tags, redis.call("GET", KEY.cursor) or "0", "COUNT", ARG.count)
local seen, names = {}, {}
for i = 1, #scan[2], 2 do
  local name = string.sub(scan[2][i], 3)
  if not seen[name] then
    seen[name] = true
    names[#names + 1] = name
  end
end
local removed = 0
if #names > 0 then
  local fields = {}
  for i, name in ipairs(names) do
    fields[3 * i - 2], fields[3 * i - 1], fields[3 * i] = "k:" .. name, "h:" .. name, "s:" .. name
  end
  local values = redis.call("HMGET", KEY.tags, unpack(fields))
  local doomed = {}
  for i, name in ipairs(names) do
    local k, h, s = tonumber(values[3 * i - 2]) or 0, tonumber(values[3 * i - 1]), tonumber(values[3 * i])
    local live = k > now_ms or (h and h + window_us > now_ms * 1000) or (s and s + window_us > now_ms * 1000)
    if not live then
      for _, prefix in ipairs({ "e:", "h:", "s:", "k:" }) do doomed[#doomed + 1] = prefix .. name end
      removed = removed + 1
    end
  end
  if #doomed > 0 then redis.call("HDEL", KEY.tags, unpack(doomed)) end
end
if scan[1] == "0" then redis.call("DEL", KEY.cursor) else redis.call("SET", KEY.cursor, scan[1], "PX", 3600000) end
return { removed, scan[1] }
`,
});
