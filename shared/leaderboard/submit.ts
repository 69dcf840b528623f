import { LuaScript } from "../script";
import type { ScriptClient } from "../redis/client";
import { leaderboardKeys, offeredVersions, versionSpec, withRedisTime, type BoardConfig } from "./board";
import { LUA_COMMON } from "./lua-common";
import { fromStored, toStored, unitOp, type SubmitMode, type UnitOp } from "./modes";
import type { PeriodKind } from "./periods";
import { MAX_UNITS, unitsToScore } from "./score";

/**
 * SUBMIT applies a batch of submissions (1–100) to every period of one board, atomically, in
 * one request. Phases, so that a refused batch writes nothing:
 *   1. pick each period's version by the clock; check every entry's idempotency key;
 *   2. compute every new score in memory (refusing a sum that leaves the exact range);
 *   3. write: sorted set, entry hash, distinct scores, cap, expiry; then ranks and records.
 *
 * Ties: the sorted-set member is `<stamp><member>`, the stamp 19 digits: 2^53 - 1 - now in µs
 * (16 digits), then 999 - the entry's position in the batch (3 digits). Equal scores are
 * ordered by member, and ZREVRANGE lists greater members first, so the earlier stamp (the
 * member that reached the score first; within a batch, the earlier entry) ranks first. The
 * stamp changes only when the stored score changes.
 *
 * KEYS: for each period, for each of its candidate versions: rank, entry, distinct (see
 *   `board.ts`); then one idempotency key per entry, in entry order.
 * ARGV[1]: JSON {
 *   now?: ms, replaces Redis TIME (tests only),
 *   periods: [[{ label, from?, to?, expireAt? }, ...candidates], ...one list per period],
 *   cap?: members kept per version,
 *   limit: largest |units| a stored score may reach,
 *   entries: [{ member, units (signed), op: max|min|sum|last, name?, fp, ttl }] }
 *   where fp is the request's fingerprint (an idempotency key reused with another request is
 *   refused) and ttl how long, in s, its idempotency record lives.
 * Returns JSON: { results: [{ replayed, periods: [[units, rank or false, label], ...] }] },
 *   or { skew: now } (no candidate contains Redis time: the caller retries with it),
 *   { conflict: i } or { overflow: i, period: j } (1-based; nothing was written).
 */
export const SUBMIT_SCRIPT = new LuaScript<string>(
  "leaderboard-submit",
  `${LUA_COMMON}
local spec = cjson.decode(ARGV[1])
local now = clock_us(spec)
local clock = string.format('%016.0f', 9007199254740991 - now)
local versions, k = {}, 1
for i, candidates in ipairs(spec.periods) do
  local v = pick(candidates, k, math.floor(now / 1000))
  if not v then return cjson.encode({ skew = math.floor(now / 1000) }) end
  v.states, v.order = {}, {}
  versions[i] = v
  k = k + 3 * #candidates
end
local entries = spec.entries

-- 1. Idempotency: an entry seen before returns its recorded result and changes nothing.
local replay = {}
for i, e in ipairs(entries) do
  local saved = redis.call('GET', KEYS[k + i - 1])
  if saved then
    local nl = string.find(saved, '\\n', 1, true)
    if string.sub(saved, 1, nl - 1) ~= e.fp then return cjson.encode({ conflict = i }) end
    replay[i] = string.sub(saved, nl + 1)
  end
end

-- The member's state in version v, read once per script.
local function state(v, member)
  local s = v.states[member]
  if s == nil then
    s = { name = '' }
    local value = redis.call('HGET', v.entry, member)
    if value then
      s.stamp, s.units, s.name = parse_entry(value)
      s.old_stamp, s.old_units = s.stamp, s.units
    elseif not v.checked then
      -- Upstash may evict a key that has no TTL. Without its entry hash a version's sorted set
      -- holds members that can no longer be found (a resubmit would add a duplicate), so a
      -- version whose hash is gone starts afresh. Checked once per version, on a miss only.
      v.checked = true
      if redis.call('EXISTS', v.entry) == 0 then redis.call('DEL', v.rank, v.distinct) end
    end
    v.states[member] = s
    v.order[#v.order + 1] = member
  end
  return s
end

-- 2. New scores, in memory.
for i, e in ipairs(entries) do
  if not replay[i] then
    -- A member new to a version inherits its display name from the other periods.
    local name, inherited = e.name, e.name == nil
    for _, v in ipairs(versions) do
      local s = state(v, e.member)
      if name == nil and s.name ~= '' then name = s.name end
    end
    for j, v in ipairs(versions) do
      local s = state(v, e.member)
      local units = e.units
      if s.units ~= nil then
        if e.op == 'sum' then units = s.units + e.units
        elseif e.op == 'max' then units = math.max(s.units, e.units)
        elseif e.op == 'min' then units = math.min(s.units, e.units) end
      end
      if math.abs(units) > spec.limit then return cjson.encode({ overflow = i, period = j }) end
      if units ~= s.units then s.units, s.stamp, s.dirty = units, clock .. string.format('%03d', 999 - i), true end
      if name and name ~= s.name and (not inherited or s.name == '') then s.name, s.dirty = name, true end
    end
  end
end

-- 3. Writes.
for _, v in ipairs(versions) do
  local left, touched = {}, false
  for _, member in ipairs(v.order) do
    local s = v.states[member]
    -- A score changed and changed back within the batch keeps its original stamp.
    if s.units == s.old_units then s.stamp = s.old_stamp end
    if s.dirty then
      touched = true
      if s.stamp ~= s.old_stamp then
        if s.old_stamp then
          redis.call('ZREM', v.rank, s.old_stamp .. member)
          left[s.old_units] = true
        end
        redis.call('ZADD', v.rank, fmt(s.units), s.stamp .. member)
        redis.call('ZADD', v.distinct, fmt(s.units), fmt(s.units))
      end
      redis.call('HSET', v.entry, member, s.stamp .. fmt(s.units) .. '\\n' .. s.name)
    end
  end
  if touched then
    if spec.cap then
      local extra = redis.call('ZCARD', v.rank) - spec.cap
      if extra > 0 then
        local popped = redis.call('ZPOPMIN', v.rank, extra)
        for j = 1, #popped, 2 do
          redis.call('HDEL', v.entry, string.sub(popped[j], STAMP_LEN + 1))
          left[tonumber(popped[j + 1])] = true
        end
      end
    end
    forget_scores(v, left)
    if v.expire_at then
      for _, key in ipairs({ v.rank, v.entry, v.distinct }) do redis.call('PEXPIREAT', key, fmt(v.expire_at)) end
    end
  end
end

-- Ranks after the whole batch, and idempotency records.
local results = {}
for i, e in ipairs(entries) do
  if replay[i] then
    results[i] = '{"replayed":true,"periods":' .. replay[i] .. '}'
  else
    local per = {}
    for j, v in ipairs(versions) do
      local s = v.states[e.member]
      local rank = redis.call('ZREVRANK', v.rank, s.stamp .. e.member)
      per[j] = { fmt(s.units), rank and rank + 1 or false, v.label }
    end
    local json = cjson.encode(per)
    redis.call('SET', KEYS[k + i - 1], e.fp .. '\\n' .. json, 'EX', e.ttl)
    results[i] = '{"replayed":false,"periods":' .. json .. '}'
  end
end
return '{"results":[' .. table.concat(results, ',') .. ']}'
`,
);

/** One submission, validated (see `leaderboard.ts`). */
export interface SubmitEntry {
  member: string;
  /** The submitted score in units (see `score.ts`), not yet signed. */
  units: number;
  mode: SubmitMode;
  name?: string;
  /** The idempotency record's key, a client's or the call's own retry guard. */
  recordKey: string;
  /** Seconds the record is kept. */
  recordTtl: number;
}

/** A submission's outcome in one period. */
export interface PeriodScore {
  period: PeriodKind;
  /** The version written, e.g. `2026-W17`. */
  version: string;
  /** The member's stored score in that version. */
  score: number;
  /** Ordinal rank after the submit; null when the board's cap left the member out. */
  rank: number | null;
}

/** A submission's outcome. */
export interface SubmitResult {
  member: string;
  /** Stored score in the board's primary (first) period. */
  score: number;
  /** Ordinal rank in the primary period; null when the cap left the member out. */
  rank: number | null;
  /** Every period, in the board's order. */
  periods: PeriodScore[];
  /** True when this was an idempotent repeat: nothing changed and the first result returns. */
  replayed: boolean;
}

/** Outcome of the script when it refused the batch; nothing was written. */
export type SubmitRefusal = { conflict: number } | { overflow: number; period: number };

type Reply =
  | { results: Array<{ replayed: boolean; periods: Array<[string, number | false, string]> }> }
  | { skew: number }
  | SubmitRefusal;

/**
 * Runs SUBMIT for `entries` on `board`. The versions offered are those around `approxMs`
 * (the Worker's clock), or the one containing `nowMs` (tests); in the rare case Redis's clock
 * is in none of them, it retries once with Redis's time.
 */
export async function runSubmit(
  redis: ScriptClient,
  prefix: string,
  board: string,
  config: BoardConfig,
  entries: readonly SubmitEntry[],
  timing: { approxMs: number; nowMs?: number },
): Promise<SubmitResult[] | SubmitRefusal> {
  const keys = leaderboardKeys(prefix);
  const { nowMs } = timing;
  const reply = await withRedisTime(timing.approxMs, async (approx) => {
    const offered = config.periods.map((period) => offeredVersions(period, approx, nowMs));
    const spec = {
      ...(nowMs === undefined ? {} : { now: nowMs }),
      periods: offered.map((versions) => versions.map((v) => versionSpec(v, config.versions))),
      ...(config.cap === null ? {} : { cap: config.cap }),
      limit: MAX_UNITS,
      entries: entries.map((e) => ({
        member: e.member,
        units: toStored(e.units, config.order),
        op: unitOp(e.mode, config.order) satisfies UnitOp,
        ...(e.name === undefined ? {} : { name: e.name }),
        fp: JSON.stringify([e.member, e.units, e.mode, e.name ?? null]),
        ttl: e.recordTtl,
      })),
    };
    const keyList = [...keys.scriptKeys(board, offered.flat()), ...entries.map((e) => e.recordKey)];
    return JSON.parse(await SUBMIT_SCRIPT.run(redis, keyList, [JSON.stringify(spec)])) as Reply;
  });
  if (!("results" in reply)) return reply;
  return reply.results.map((result, i) => {
    const periodScores = result.periods.map(([units, rank, version], j) => ({
      period: config.periods[j]!,
      version,
      score: unitsToScore(fromStored(Number(units), config.order)),
      rank: rank === false ? null : rank,
    }));
    const primary = periodScores[0]!;
    return { member: entries[i]!.member, score: primary.score, rank: primary.rank, periods: periodScores, replayed: result.replayed };
  });
}
