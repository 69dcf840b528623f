import { LuaScript } from "../script";
import type { RedisClient } from "../redis/client";
import { leaderboardKeys, type BoardConfig } from "./board";
import { LUA_COMMON } from "./lua-common";
import { retainedVersions } from "./periods";

/**
 * REMOVE: takes one member out of every version given, with its stamp, name and (when no one
 * else holds it) its score in the distinct-score set.
 *
 * KEYS: rank, entry, distinct of every version that may hold data (every retained version of
 *   every period, with a spare on each side for clock slack; absent keys cost nothing).
 * ARGV[1]: the member.
 * Returns the number of versions the member was removed from.
 */
export const REMOVE_SCRIPT = new LuaScript<number>(
  "leaderboard-remove",
  `${LUA_COMMON}
local member, removed = ARGV[1], 0
for k = 1, #KEYS, 3 do
  local v = { rank = KEYS[k], entry = KEYS[k + 1], distinct = KEYS[k + 2] }
  local value = redis.call('HGET', v.entry, member)
  if value then
    local stamp, units = parse_entry(value)
    redis.call('ZREM', v.rank, stamp .. member)
    redis.call('HDEL', v.entry, member)
    forget_scores(v, { [units] = true })
    removed = removed + 1
  end
end
return removed
`,
);

/** Every key of `board` that may hold data now, in rank/entry/distinct triples. */
export function boardKeyList(prefix: string, board: string, config: BoardConfig, approxMs: number): string[] {
  const versions = config.periods.flatMap((period) => retainedVersions(period, approxMs, config.versions));
  return leaderboardKeys(prefix).scriptKeys(board, versions);
}

/** Removes `member` from every period and version of `board`, in one request. */
export async function removeMember(
  redis: Pick<RedisClient, "evalsha" | "eval">,
  prefix: string,
  board: string,
  config: BoardConfig,
  member: string,
  approxMs: number,
): Promise<number> {
  return Number(await REMOVE_SCRIPT.run(redis, boardKeyList(prefix, board, config, approxMs), [member]));
}

/** Deletes every version of `board` with one DEL (one request). Idempotency records expire. */
export async function deleteBoard(
  redis: Pick<RedisClient, "del">,
  prefix: string,
  board: string,
  config: BoardConfig,
  approxMs: number,
): Promise<void> {
  await redis.del(...boardKeyList(prefix, board, config, approxMs));
}
