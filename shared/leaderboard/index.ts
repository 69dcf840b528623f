/**
 * Leaderboards on Redis sorted sets: scores exact to 3 decimals, ties ordered by who reached
 * the score first, daily/weekly/monthly boards beside the all-time one, retry-safe submits.
 * See docs/leaderboards.md.
 */
export {
  CLOCK_SLACK_MS,
  DEFAULT_BOARD,
  MAX_AROUND,
  MAX_BATCH,
  MAX_CAP,
  MAX_DENSE_POSITION,
  MAX_DISPLAY_NAME_BYTES,
  MAX_LIMIT,
  MAX_OFFSET,
  MAX_VERSIONS,
} from "./board";
export type { FromL1 } from "./hot-reads";
export { DEFAULT_LEADERBOARD_L1_BYTES, isolateLeaderboardL1, LeaderboardL1 } from "./isolate";
export { leaderboardKeys, type LeaderboardKeys, versionTag } from "./keys";
export { Leaderboards } from "./leaderboards";
export { type Order, SUBMIT_MODES, type SubmitMode } from "./modes";
export { PERIOD_KINDS, type PeriodKind, type PeriodVersion, versionAt } from "./periods";
export { competition, dense, ordinal, RANKING_NAMES, type RankingName, type RankingStyle, rankingStyle } from "./ranking";
export { MAX_SCORE, SCORE_DECIMALS } from "./score";
export type {
  BatchOutcome,
  BoardConfig,
  BoardPage,
  DenseTooDeep,
  HotReadOptions,
  LeaderboardClient,
  LeaderboardOptions,
  MemberStanding,
  PeriodScore,
  RankedEntry,
  ReadOptions,
  SubmitInput,
  SubmitOptions,
  SubmitOutcome,
  SubmitRefusal,
  SubmitResult,
} from "./types";
