import { keyspace } from "../keys";
import type { PeriodVersion } from "./periods";

/**
 * Every Redis key of the leaderboard feature, `<prefix>:lb:<kind>:<board>[:<tag>]`:
 *
 * - `state:<board>`: one hash per board. Field = member id; value = the member's display name,
 *   its stamp and score in each retained version it is in, and the recent calls that changed
 *   it (the retry guard). The empty field `""` (no member id is empty) holds the Redis time of
 *   the board's last change: its presence says the hash itself was not evicted.
 * - `rank:<board>:<tag>`: one sorted set per period version, `<tag>` = `all-time`,
 *   `daily:2026-04-20`, `weekly:2026-W17` or `monthly:2026-04`. Member
 *   `<stamp><member id>[\n<display name>]`, score = signed units (see `score.ts`, `modes.ts`).
 * - `idem:<board>:<key>`: a client's idempotency record (a string, kept a day by default).
 *
 * @example
 * const keys = leaderboardKeys("erf");
 * keys.rank("arena", versionAt("daily", Date.parse("2026-04-20T12:00Z"))); // "erf:lb:rank:arena:daily:2026-04-20"
 */
export function leaderboardKeys(prefix: string) {
  const key = keyspace(prefix, "lb");
  return {
    /** The board's state hash. */
    state: (board: string) => key("state", board),
    /** The sorted set of one version of one period. */
    rank: (board: string, version: PeriodVersion) => key("rank", board, versionTag(version)),
    /** A client's idempotency record. */
    idempotency: (board: string, idempotencyKey: string) => key("idem", board, idempotencyKey),
  };
}

/** Builds the keys of one prefix; see {@link leaderboardKeys}. */
export type LeaderboardKeys = ReturnType<typeof leaderboardKeys>;

/** How a version is named in keys and in the state hash: `all-time`, `daily:2026-04-20`, ... */
export function versionTag(version: PeriodVersion): string {
  return version.period === "all-time" ? "all-time" : `${version.period}:${version.label}`;
}
