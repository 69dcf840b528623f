import { LUA_TIME } from "../lua";
import { defineScript } from "../script";

/**
 * The leaderboard's Lua. Every operation is one of these scripts: one REST request, atomic.
 * Keys (see `keys.ts`): the board's state hash, and one sorted set per period version.
 *
 * Each script takes one JSON argument, `spec`, built by `codec.ts`; the shapes are listed
 * beside each script. Scores travel as strings of integer units (exact below 2^53).
 */

/** Lua shared by the leaderboard scripts: entry strings, member states, picking a version. */
const LUA_BOARD = String.raw`
-- A rank-set member: a 19-digit stamp, the member id, then "\n" and the display name if any.
-- Member ids and names hold no control characters, so "\n" separates them unambiguously.
local STAMP_LEN = 19
local function entry_of(stamp, member, name)
  if name then return stamp .. member .. '\n' .. name end
  return stamp .. member
end
local function member_of(entry)
  local nl = string.find(entry, '\n', STAMP_LEN + 1, true)
  return string.sub(entry, STAMP_LEN + 1, nl and nl - 1 or nil)
end

-- A member's field in the state hash, decoded: n = display name (absent: none),
-- v = { [version tag] = { stamp, units } }, c = recent calls that changed it,
-- { call id, Redis ms, { [entry index] = result JSON } }, oldest first.
local function load_state(raw)
  local s = raw and cjson.decode(raw) or {}
  s.v = s.v or {}
  s.c = s.c or {}
  return s
end

-- The index of the version holding ms among versions[1..n] ({ from?, to? } in ms), or nil.
local function version_at(versions, ms, n)
  for i = 1, math.min(n or #versions, #versions) do
    local d = versions[i]
    if (d.from == nil or ms >= d.from) and (d.to == nil or ms < d.to) then return i end
  end
  return nil
end
`;

/**
 * What the reads share: which candidate version to read, and one page of it.
 *
 * The Worker's clock names the version (a read never writes) unless (a) it offered two
 * candidates, being within two minutes of a boundary, or (b) the board's last change, in
 * Redis time, is more than two minutes ahead of it: then Redis TIME picks. A read with `at`
 * has one fixed candidate. Redis time outside every candidate: { skew = now }, and the
 * Worker retries around it.
 *
 * spec: { approx: Worker ms, slack: ms, now?: ms (tests), fixed?: true,
 *   candidates: [{ tag, label, from?, to? }], counts: "none" | "members" | "distinct", ... }
 */
const LUA_READ = String.raw`
local spec = cjson.decode(ARG.spec)
local function pick(last)
  local c = spec.candidates
  if spec.fixed or (#c == 1 and not (last and tonumber(last) > spec.approx + spec.slack)) then return 1 end
  local now = spec.now or math.floor(now_us() / 1000)
  return version_at(c, now), now
end

-- Positions start..stop (0-based, best first) of the sorted set: { start, entries = { entry,
-- units, ... }, better, total? }. better is what the ranking style counts for the page's first
-- entry: members strictly better (ZCOUNT), or distinct scores strictly better, counted from
-- the top of the board fetched in the same ZREVRANGE. total is set when the range ran past
-- the end of the board, which makes a ZCARD unnecessary.
local function read_page(key, start, stop)
  local from = spec.counts == 'distinct' and 0 or start
  local raw = redis.call('ZREVRANGE', key, from, stop, 'WITHSCORES')
  local n = #raw / 2
  local out = { start = start, entries = {}, better = 0 }
  if n > 0 and n < stop - from + 1 then out.total = from + n end
  local first = start - from
  if first < n then
    local head = raw[2 * first + 2]
    if spec.counts == 'distinct' then
      local previous = nil
      for j = 1, first do
        local units = raw[2 * j]
        if units ~= previous and units ~= head then out.better = out.better + 1 end
        previous = units
      end
    elseif spec.counts == 'members' and start > 0 then
      out.better = redis.call('ZCOUNT', key, '(' .. head, '+inf')
    end
  end
  for j = 2 * first + 1, #raw do out.entries[#out.entries + 1] = raw[j] end
  return out
end
`;

/**
 * SUBMIT applies a batch of submissions (1–100) to every period of one board, atomically.
 * Phases, so that a refused batch writes nothing:
 *   1. Redis TIME picks each period's version; one HMGET reads every member's state and the
 *      board's mark; idempotency records and the retry guard find repeats;
 *   2. every new score is computed in memory (a sum leaving the exact range refuses all);
 *   3. writes: the sorted sets (ZREM + ZADD of each changed entry), expiry and cap where a
 *      version gained a member, ranks, then one HSET of every changed state.
 *
 * Ties: a stamp is 2^53 - 1 - now in µs (16 digits), then 999 - the entry's position in the
 * batch (3 digits). ZREVRANGE lists equal scores by member, greatest first, so the earlier
 * stamp ranks first. A stamp changes only when the stored score does.
 *
 * Eviction (Upstash may evict any key): without the state hash (its mark is missing) the
 *   board starts afresh, after deleting every retained sorted set, so no member can be listed
 *   twice; a member its state places in a version but whose sorted set lost it is put back.
 *
 * KEY.state: the state hash. KEY_REST: the sorted set of every retained version of every
 *   period (spec.periods, in order), then the idempotency records (entries' idem, 1-based
 *   after them).
 * spec: { now?: ms (tests), call: random id, guard: ms a call is remembered, allTime: bool,
 *   cap?: n, limit: largest |units|,
 *   periods: [[{ tag, label, from?, to?, exp? }, ...retained versions: next, current, previous, older]],
 *   entries: [{ member, units (signed), op: max|min|sum|last, name?, idem?, fp?, ttl? }] }
 *   (fp: the submission's fingerprint, so a reused idempotency key is told apart; ttl: its
 *   record's seconds).
 * Returns JSON { results: [{ replayed, periods: [[units, rank or false, label], ...] }] },
 *   { skew: Redis ms } (the Worker's clock is over a period off: it retries around Redis
 *   time), or { conflict: i } / { overflow: i, period: j } (1-based; nothing was written).
 */
export const SUBMIT = defineScript<"state", "spec", string>({
  name: "leaderboard-submit",
  keys: ["state"],
  args: ["spec"],
  restKeys: "the sorted set of every retained version of every period, then the idempotency records",
  uses: [LUA_TIME, LUA_BOARD],
  lua: String.raw`
local MAX_CALLS = 32
local MAX_POP = 200
local spec = cjson.decode(ARG.spec)
local now_u = spec.now and spec.now * 1000 or now_us()
local now = math.floor(now_u / 1000)
local CLOCK = string.format('%016.0f', 9007199254740991 - now_u)

-- 1. The versions: every retained one by tag, and the one of each period holding Redis time,
-- looked for among the Worker's version and its two neighbours (the first three listed).
local listed, by_tag, picked, ranks = {}, {}, {}, 0
for p, versions in ipairs(spec.periods) do
  for _, d in ipairs(versions) do
    ranks = ranks + 1
    d.key = KEY_REST[ranks]
    if d.exp == nil or d.exp > now then
      listed[#listed + 1] = d
      by_tag[d.tag] = d
    end
  end
  local j = version_at(versions, now, 3)
  if not j then return cjson.encode({ skew = now }) end
  picked[p] = versions[j]
end

local members, states = {}, {}
for _, e in ipairs(spec.entries) do
  if not states[e.member] then
    members[#members + 1] = e.member
    states[e.member] = true
  end
end
local raw = redis.call('HMGET', KEY.state, '', unpack(members))
local fresh = not raw[1]
for i, m in ipairs(members) do
  local s = load_state(raw[i + 1])
  for tag in pairs(s.v) do
    if not by_tag[tag] then s.v[tag] = nil end
  end
  s.old, s.old_name, s.out, s.rec = {}, s.n, {}, {}
  for tag, cur in pairs(s.v) do s.old[tag] = cur end
  states[m] = s
end

-- Repeats: a client's idempotency key seen before, or this very call (the client's resend).
local replay = {}
for i, e in ipairs(spec.entries) do
  if e.idem then
    local saved = redis.call('GET', KEY_REST[ranks + e.idem])
    if saved then
      local nl = string.find(saved, '\n', 1, true)
      if string.sub(saved, 1, nl - 1) ~= e.fp then return cjson.encode({ conflict = i }) end
      replay[i] = string.sub(saved, nl + 1)
    end
  end
  if not replay[i] then
    for _, call in ipairs(states[e.member].c) do
      if call[1] == spec.call then replay[i] = call[3][tostring(i)] end
    end
  end
end

-- 2. New scores, in memory.
for i, e in ipairs(spec.entries) do
  if not replay[i] then
    local s = states[e.member]
    if e.name then s.n = e.name end
    for p, d in ipairs(picked) do
      local cur = s.v[d.tag]
      local units = e.units
      if cur then
        local old = tonumber(cur[2])
        if e.op == 'sum' then units = old + e.units
        elseif e.op == 'max' then units = math.max(old, e.units)
        elseif e.op == 'min' then units = math.min(old, e.units) end
      end
      if math.abs(units) > spec.limit then return cjson.encode({ overflow = i, period = p }) end
      if not cur or units ~= tonumber(cur[2]) then
        s.v[d.tag] = { CLOCK .. string.format('%03d', 999 - i), fmt(units) }
      end
    end
  end
end

-- 3. Writes. A changed entry leaves its sorted set under its old string and joins under the
-- new one; a rename rewrites the member in every retained version it is in.
local changed, grew = false, {}
for _, m in ipairs(members) do
  local s = states[m]
  for _, d in ipairs(listed) do
    local old, cur = s.old[d.tag], s.v[d.tag]
    -- A score changed and changed back within the batch keeps its place.
    if old and cur and old[2] == cur[2] then cur = old; s.v[d.tag] = old end
    if cur and (cur ~= old or s.n ~= s.old_name) then
      if not changed and fresh then
        local all = {}
        for k = 1, ranks do all[k] = KEY_REST[k] end
        redis.call('DEL', unpack(all))
      end
      changed = true
      if not old or redis.call('ZREM', d.key, entry_of(old[1], m, s.old_name)) == 0 then grew[d.tag] = d end
      redis.call('ZADD', d.key, cur[2], entry_of(cur[1], m, s.n))
    end
  end
end

-- A version that gained a member may be new: it gets its expiry, and its cap is enforced.
local extra_states, latest = {}, 0
for _, d in ipairs(listed) do
  if grew[d.tag] then
    if d.exp then
      redis.call('PEXPIREAT', d.key, fmt(d.exp))
      latest = math.max(latest, d.exp)
    end
    if spec.cap then
      -- At most MAX_POP per version and call: a batch adds at most 100, and a cap lowered a
      -- long way is reached over several submits instead of in one unbounded script.
      local over = math.min(redis.call('ZCARD', d.key) - spec.cap, MAX_POP)
      if over > 0 then
        local popped, others = redis.call('ZPOPMIN', d.key, over), {}
        for j = 1, #popped, 2 do
          local m = member_of(popped[j])
          local s = states[m]
          if s then
            if s.v[d.tag] then s.out[d.tag] = s.v[d.tag][2] end
            s.v[d.tag] = nil
          else
            others[#others + 1] = m
          end
        end
        if #others > 0 then
          for j, value in ipairs(redis.call('HMGET', KEY.state, unpack(others))) do
            if value then
              local m = others[j]
              local s = extra_states[m] or load_state(value)
              s.v[d.tag] = nil
              extra_states[m] = s
            end
          end
        end
      end
    end
  end
end

-- Ranks after the whole batch, of the members not only replayed.
local rank_of = {}
for i, e in ipairs(spec.entries) do
  if not replay[i] then rank_of[e.member] = {} end
end
for _, m in ipairs(members) do
  local s = states[m]
  for p, d in ipairs(rank_of[m] and picked or {}) do
    local cur = s.v[d.tag]
    if cur then
      local entry = entry_of(cur[1], m, s.n)
      local rank = redis.call('ZREVRANK', d.key, entry)
      if not rank then
        -- The sorted set lost the member (evicted): it gets its entry back. (A version already
        -- past its expiry, which only a test's "now" can pick, stays empty: no rank.)
        redis.call('ZADD', d.key, cur[2], entry)
        if d.exp then redis.call('PEXPIREAT', d.key, fmt(d.exp)) end
        rank = redis.call('ZREVRANK', d.key, entry)
      end
      rank_of[m][p] = rank and rank + 1 or false
    end
  end
end

local results = {}
for i, e in ipairs(spec.entries) do
  if replay[i] then
    results[i] = '{"replayed":true,"periods":' .. replay[i] .. '}'
  else
    local s, per = states[e.member], {}
    for p, d in ipairs(picked) do
      local cur = s.v[d.tag]
      per[p] = { cur and cur[2] or s.out[d.tag], cur and rank_of[e.member][p] or false, d.label }
    end
    local json = cjson.encode(per)
    s.rec[tostring(i)] = json
    if e.idem then redis.call('SET', KEY_REST[ranks + e.idem], e.fp .. '\n' .. json, 'EX', e.ttl) end
    results[i] = '{"replayed":false,"periods":' .. json .. '}'
  end
end

-- One HSET: every state this call changed (with the call remembered, for the client's resend)
-- and the board's mark.
if changed then
  local fields = { '', fmt(now) }
  local function add(m, s, rec)
    local calls = {}
    for _, call in ipairs(s.c) do
      if call[2] > now - spec.guard then calls[#calls + 1] = call end
    end
    if rec then calls[#calls + 1] = { spec.call, now, rec } end
    while #calls > MAX_CALLS do table.remove(calls, 1) end
    local v = {}
    for tag, cur in pairs(s.v) do v[tag] = cur end
    fields[#fields + 1] = m
    fields[#fields + 1] = cjson.encode({ n = s.n, v = v, c = calls })
  end
  for _, m in ipairs(members) do
    local s = states[m]
    add(m, s, next(s.rec) and s.rec or nil)
  end
  for m, s in pairs(extra_states) do add(m, s, nil) end
  redis.call('HSET', KEY.state, unpack(fields))
  if not spec.allTime and (fresh or latest > 0) then
    for _, d in ipairs(picked) do latest = math.max(latest, d.exp or 0) end
    redis.call('PEXPIREAT', KEY.state, fmt(latest))
  end
end
return '{"results":[' .. table.concat(results, ',') .. ']}'
`,
});

/**
 * TOP: one page of a version and the version's size.
 *
 * KEY.state: the state hash (its mark: was the board evicted, when did it last change).
 * KEY_REST: the sorted set of each candidate version.
 * spec: the read spec (see LUA_READ) plus start, stop (0-based positions; stop < start: the
 *   count only).
 * Returns JSON { label, total, page? } or { skew }; a board without state is empty.
 */
export const TOP = defineScript<"state", "spec", string>({
  name: "leaderboard-top",
  keys: ["state"],
  args: ["spec"],
  restKeys: "the sorted set of each candidate version",
  uses: [LUA_TIME, LUA_BOARD, LUA_READ],
  lua: String.raw`
local last = redis.call('HGET', KEY.state, '')
local j, now = pick(last)
if not j then return cjson.encode({ skew = now }) end
local key, label = KEY_REST[j], spec.candidates[j].label
-- No state: the board is new, or its state was evicted and its sorted sets are stale.
if not last then return cjson.encode({ label = label, total = 0 }) end
local result = { label = label }
if spec.stop >= spec.start then result.page = read_page(key, spec.start, spec.stop) end
result.total = result.page and result.page.total or redis.call('ZCARD', key)
return cjson.encode(result)
`,
});

/**
 * AROUND: one member with `around` neighbours on each side.
 *
 * KEYS as TOP. spec: the read spec plus member, around, depth (dense reads refuse a member at
 *   or below that 0-based position).
 * Returns JSON { label, total, index (0-based), page }, { absent: true }, { deep: index }, or
 *   { skew }.
 */
export const AROUND = defineScript<"state", "spec", string>({
  name: "leaderboard-around",
  keys: ["state"],
  args: ["spec"],
  restKeys: "the sorted set of each candidate version",
  uses: [LUA_TIME, LUA_BOARD, LUA_READ],
  lua: String.raw`
local got = redis.call('HMGET', KEY.state, '', spec.member)
local last, field = got[1], got[2]
local j, now = pick(last)
if not j then return cjson.encode({ skew = now }) end
if not last or not field then return '{"absent":true}' end
local key, candidate = KEY_REST[j], spec.candidates[j]
local s = load_state(field)
local cur = s.v[candidate.tag]
if not cur then return '{"absent":true}' end
local index = redis.call('ZREVRANK', key, entry_of(cur[1], spec.member, s.n))
if not index then return '{"absent":true}' end
if spec.counts == 'distinct' and index >= spec.depth then return cjson.encode({ deep = index }) end
local page = read_page(key, math.max(0, index - spec.around), index + spec.around)
local total = page.total or redis.call('ZCARD', key)
return cjson.encode({ label = candidate.label, total = total, index = index, page = page })
`,
});

/**
 * REMOVE: takes one member out of every retained version it is in, and drops its state.
 *
 * KEY.state: the state hash. KEY_REST: the sorted set of every retained version.
 * ARG.member: the member id. ARG.tags: JSON list of the version tags of KEY_REST, in order.
 * Returns the number of versions the member was removed from.
 */
export const REMOVE = defineScript<"state", "member" | "tags", number>({
  name: "leaderboard-remove",
  keys: ["state"],
  args: ["member", "tags"],
  restKeys: "the sorted set of every retained version of every period",
  uses: [LUA_BOARD],
  lua: String.raw`
local field = redis.call('HGET', KEY.state, ARG.member)
if not field then return 0 end
local s, removed = load_state(field), 0
for i, tag in ipairs(cjson.decode(ARG.tags)) do
  local cur = s.v[tag]
  if cur then removed = removed + redis.call('ZREM', KEY_REST[i], entry_of(cur[1], ARG.member, s.n)) end
end
redis.call('HDEL', KEY.state, ARG.member)
return removed
`,
});
