import { LuaScript } from "../script";
import type { ScriptClient } from "../redis/client";
import { leaderboardKeys, offeredVersions, versionSpec, withRedisTime, type BoardConfig } from "./board";
import { LUA_COMMON } from "./lua-common";
import { fromStored } from "./modes";
import type { PeriodKind } from "./periods";
import type { RankingStyle } from "./ranking";
import { unitsToScore } from "./score";

/**
 * Lua of both reads after LUA_COMMON: picks the version (by `at`, else by the clock),
 * refuses a version no longer (or not yet) retained, and defines page(start, stop), which
 * returns positions start..stop best first with names and the count the ranking style needs.
 *
 * KEYS: rank, entry, distinct of each candidate version.
 * ARGV[1]: JSON { now?: ms (tests only), at?: ms, candidates: [{ label, from?, to?,
 *   expireAt? }], counts: none|members|distinct, ...the script's own fields }.
 */
const READ_PRELUDE = `${LUA_COMMON}
local spec = cjson.decode(ARGV[1])
local now = math.floor(clock_us(spec) / 1000)
local v = pick(spec.candidates, 1, spec.at or now)
if not v then return cjson.encode({ skew = now }) end
if spec.at then
  local c = spec.candidates[1]
  if c.expireAt and now >= c.expireAt then return '{"expired":true}' end
  if c.from and now < c.from then return '{"future":true}' end
end

local function page(start, stop)
  local raw = redis.call('ZREVRANGE', v.rank, start, stop, 'WITHSCORES')
  local members, units, names = {}, {}, {}
  for j = 1, #raw, 2 do
    members[#members + 1] = string.sub(raw[j], STAMP_LEN + 1)
    units[#units + 1] = raw[j + 1]
  end
  local better = 0
  if #members > 0 then
    for j, value in ipairs(redis.call('HMGET', v.entry, unpack(members))) do
      local name = ''
      if value then local _, _, n = parse_entry(value); name = n end
      names[j] = name
    end
    if spec.counts ~= 'none' then
      local key = spec.counts == 'distinct' and v.distinct or v.rank
      better = redis.call('ZCOUNT', key, '(' .. units[1], '+inf')
    end
  end
  return { members = members, units = units, names = names, better = better, offset = start, label = v.label }
end
`;

/**
 * TOP: one page of a board and its size.
 * ARGV[1] fields beyond the prelude's: offset (0-based), limit (0 = count only).
 * Returns JSON { total, page } (or a prelude refusal: skew, expired, future).
 */
export const TOP_SCRIPT = new LuaScript<string>(
  "leaderboard-top",
  `${READ_PRELUDE}
local result = { total = redis.call('ZCARD', v.rank), page = { label = v.label } }
if spec.limit > 0 then result.page = page(spec.offset, spec.offset + spec.limit - 1) end
return cjson.encode(result)
`,
);

/**
 * AROUND: one member with `around` neighbours on each side.
 * ARGV[1] fields beyond the prelude's: member, around.
 * Returns JSON { total, index (0-based position), page }, { absent: true }, or a refusal.
 */
export const AROUND_SCRIPT = new LuaScript<string>(
  "leaderboard-around",
  `${READ_PRELUDE}
local value = redis.call('HGET', v.entry, spec.member)
if not value then return '{"absent":true}' end
local stamp = parse_entry(value)
local index = redis.call('ZREVRANK', v.rank, stamp .. spec.member)
if not index then return '{"absent":true}' end
local start = math.max(0, index - spec.around)
return cjson.encode({ total = redis.call('ZCARD', v.rank), index = index, page = page(start, index + spec.around) })
`,
);

/** One ranked entry. */
export interface RankedEntry {
  rank: number;
  member: string;
  score: number;
  /** Display name, when one was given. */
  name?: string;
}

/** What to read: which period and version, and how to rank. */
export interface ReadTarget {
  period: PeriodKind;
  /** Any instant inside the version to read (ms); default now. */
  at?: number;
  ranking: RankingStyle;
  /** The Worker's clock: which versions to offer when `at` is not given. */
  approxMs: number;
  /** Replaces Redis TIME (tests only). */
  nowMs?: number;
}

/** Why a read found nothing to show. */
export type ReadRefusal = { expired: true } | { future: true } | { absent: true };

interface RawPage {
  members?: string[] | Record<string, never>;
  units?: string[] | Record<string, never>;
  names?: string[] | Record<string, never>;
  better?: number;
  offset?: number;
  label: string;
}

/**
 * Runs a read script: offers the versions around the Worker's clock (or the one containing
 * `at`), retries once with Redis's time when its clock was in none of them.
 */
export async function runRead<T extends object>(
  script: LuaScript<string>,
  redis: ScriptClient,
  prefix: string,
  board: string,
  config: BoardConfig,
  target: ReadTarget,
  fields: Record<string, unknown>,
): Promise<T | ReadRefusal> {
  const keys = leaderboardKeys(prefix);
  return withRedisTime(target.approxMs, async (approx) => {
    const versions = offeredVersions(target.period, approx, target.at ?? target.nowMs);
    const spec = {
      ...(target.nowMs === undefined ? {} : { now: target.nowMs }),
      ...(target.at === undefined ? {} : { at: target.at }),
      candidates: versions.map((version) => versionSpec(version, config.versions)),
      counts: target.ranking.counts,
      ...fields,
    };
    const reply = await script.run(redis, keys.scriptKeys(board, versions), [JSON.stringify(spec)]);
    return JSON.parse(reply) as T | ReadRefusal | { skew: number };
  });
}

/** A page from the script as ranked entries, plus the version it came from. */
export function rankPage(raw: RawPage, config: BoardConfig, ranking: RankingStyle): { version: string; entries: RankedEntry[] } {
  const members = asArray(raw.members);
  const units = asArray(raw.units).map(Number);
  const names = asArray(raw.names);
  const ranks = ranking.rankPage(raw.offset ?? 0, units, raw.better ?? 0);
  const entries = members.map((member, i) => {
    const entry: RankedEntry = { rank: ranks[i]!, member, score: unitsToScore(fromStored(units[i]!, config.order)) };
    if (names[i]) entry.name = names[i];
    return entry;
  });
  return { version: raw.label, entries };
}

// cjson encodes an empty Lua table as {}, not [].
function asArray<T>(value: T[] | Record<string, never> | undefined): T[] {
  return Array.isArray(value) ? value : [];
}
