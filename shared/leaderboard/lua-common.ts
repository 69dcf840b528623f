/**
 * Lua shared by the leaderboard scripts, prepended to each script's own source (so each
 * script is still one self-contained text with one SHA1).
 *
 * Every script takes one JSON argument (ARGV[1], decoded with cjson) and names each version
 * of a board with three consecutive KEYS: rank (sorted set), entry (hash), distinct (sorted
 * set); see `board.ts`.
 */
export const LUA_COMMON = `
-- The current time in microseconds: spec.now (ms; tests only) or Redis TIME. Workers' own
-- clock does not advance between I/O, so time that decides a period or a tie comes from here.
local function clock_us(spec)
  if spec.now then return spec.now * 1000 end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- A number as Redis should see it: %.17g keeps every digit (Lua's tostring keeps only 14).
local function fmt(n)
  return string.format('%.17g', n)
end

-- The candidate version containing the instant ms (candidates come from the Worker's clock
-- with some slack); its keys are the three KEYS from index first + 3 * (i - 1). nil if none.
local function pick(candidates, first, ms)
  for i, c in ipairs(candidates) do
    if (c.from == nil or ms >= c.from) and (c.to == nil or ms < c.to) then
      local k = first + 3 * (i - 1)
      return { rank = KEYS[k], entry = KEYS[k + 1], distinct = KEYS[k + 2], expire_at = c.expireAt, label = c.label }
    end
  end
  return nil
end

-- Stamps are 19 digits (see submit.ts); a sorted-set member is <stamp><member>.
local STAMP_LEN = 19

-- An entry hash value "<stamp><units>\\n<name>" as stamp, units, name.
local function parse_entry(value)
  local nl = string.find(value, '\\n', STAMP_LEN + 1, true)
  return string.sub(value, 1, STAMP_LEN), tonumber(string.sub(value, STAMP_LEN + 1, nl - 1)), string.sub(value, nl + 1)
end

-- Drops each score in units from the distinct-score set once no member holds it any more.
local function forget_scores(v, scores)
  for units in pairs(scores) do
    if redis.call('ZCOUNT', v.rank, fmt(units), fmt(units)) == 0 then
      redis.call('ZREM', v.distinct, fmt(units))
    end
  end
end
`;
