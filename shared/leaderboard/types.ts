import type { RedisClient } from "../redis/client";
import type { Order, SubmitMode } from "./modes";
import type { PeriodKind } from "./periods";
import type { LeaderboardL1 } from "./isolate";
import type { RankingName } from "./ranking";

/** The commands the leaderboard core sends: scripts, and DEL to delete a board. */
export type LeaderboardClient = Pick<RedisClient, "evalsha" | "eval" | "del">;

/** How one board behaves (see `board.ts` for the defaults). */
export interface BoardConfig {
  /** `desc` (default): higher is better. `asc`: lower is better. */
  readonly order: Order;
  /** Default submit mode (default `best`); a submit may override it. */
  readonly mode: SubmitMode;
  /**
   * Periods kept, each updated by every submit (default all four). The first is the
   * board's primary period: the default of reads and the top-level rank of a submit.
   */
  readonly periods: readonly PeriodKind[];
  /** Versions of each dated period kept readable, current included (default 2, 1–100). */
  readonly versions: number;
  /** Keep only the best `cap` members of each period version (default null: no cap). */
  readonly cap: number | null;
}

/** Options of {@link Leaderboards}. */
export interface LeaderboardOptions {
  /** Key prefix (default `DEFAULT_PREFIX`, "erf"): keys are `<prefix>:lb:...`. */
  prefix?: string;
  /** The configuration of a board by name (default: `DEFAULT_BOARD` for every board). */
  boards?: (board: string) => BoardConfig;
  /** Seconds a client's idempotency key is remembered (default 86400, one day). */
  idempotencyTtlSeconds?: number;
  /**
   * Seconds a call that changed a member is remembered in the member's state, so that the
   * Redis client's own resend of it (after a lost reply) replays instead of applying twice
   * (default 60; a resend comes within a second). At most 32 calls per member are kept.
   */
  retryGuardTtlSeconds?: number;
  /**
   * The local clock in ms (default `Date.now`). It picks which period versions to offer a
   * submit (Redis TIME decides among them) and which version a read shows when it is more
   * than two minutes from a version boundary (see docs/leaderboards.md "Time"). Inject one
   * to test clock skew.
   */
  clock?: () => number;
  /**
   * The in-isolate L1 that reads with `maxStaleMs` may be answered from. Default: the isolate's
   * (`isolateLeaderboardL1`); pass another to act as another isolate, `false` to turn it off.
   */
  l1?: LeaderboardL1 | false;
}

/** One submission. */
export interface SubmitInput {
  member: string;
  /** A number within ±10^12 with at most 3 decimals (see `score.ts`). */
  score: number;
  /** Default: the board's mode. */
  mode?: SubmitMode;
  /** Display name (≤ 1 KiB) of the member; omitted keeps the stored one. */
  name?: string;
  /** The same key with the same submission is applied once (kept `idempotencyTtlSeconds`). */
  idempotencyKey?: string;
}

/** Options of a submit. */
export interface SubmitOptions {
  /** Replaces Redis TIME as "now" inside the script (tests only: period rollover, expiry). */
  nowMs?: number;
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
  /** True when this was a repeat (same idempotency key, or the client's own resend): nothing changed, the first answer returns. */
  replayed: boolean;
}

/**
 * A submit or batch that was refused; nothing was written.
 * - `conflict`: an idempotency key was used before for a different submission;
 * - `overflow`: a sum would leave ±10^12 in `period`.
 * `entry` is the refused entry's 0-based position (0 for a single submit); `field` names its
 * field as the caller wrote it (`idempotencyKey`, `entries.2.score`).
 */
export type SubmitRefusal =
  | { accepted: false; reason: "conflict"; entry: number; field: string }
  | { accepted: false; reason: "overflow"; entry: number; field: string; period: PeriodKind };

/** What `submit` returns. */
export type SubmitOutcome = ({ accepted: true } & SubmitResult) | SubmitRefusal;

/** What `submitMany` returns: one result per entry, in order, or the refusal of the whole batch. */
export type BatchOutcome = { accepted: true; results: SubmitResult[] } | SubmitRefusal;

/** Options of every read. */
export interface ReadOptions {
  /** Default: the board's first period. */
  period?: PeriodKind;
  /** Any instant (ms) inside a retained version of the period; default now. Ignored for all-time. */
  at?: number;
  /** Default "ordinal". */
  ranking?: RankingName;
  /** Replaces the clock and Redis TIME as "now" (tests only: period rollover and expiry). */
  nowMs?: number;
}

/**
 * A `top` or `member` read that accepts a copy from the isolate's memory (L1) when Redis
 * answered the same read no longer ago than `maxStaleMs` (and its period version is still the
 * current one). Absent: always ask Redis. A submit, removal or delete made through this isolate
 * drops the board's copies at once; one made elsewhere shows within `maxStaleMs`, never later.
 *
 * @example
 * await boards.top("arena", { limit: 10, maxStaleMs: 1000 }); // at most one request a second per isolate
 */
export interface HotReadOptions {
  maxStaleMs?: number;
}

/** One ranked entry. */
export interface RankedEntry {
  rank: number;
  member: string;
  score: number;
  /** Display name, when one was given. */
  name?: string;
}

/** A page of a board. */
export interface BoardPage {
  board: string;
  period: PeriodKind;
  version: string;
  total: number;
  entries: RankedEntry[];
}

/** One member's standing with its neighbours (itself included, best first). */
export interface MemberStanding extends RankedEntry {
  board: string;
  period: PeriodKind;
  version: string;
  total: number;
  around: RankedEntry[];
}

/**
 * A dense-ranked member read whose member stands below `MAX_DENSE_POSITION`: dense ranks
 * are counted by reading the board from the top, so they are computed only that deep.
 */
export interface DenseTooDeep {
  tooDeep: true;
  /** The member's 1-based position on the board (its ordinal rank). */
  position: number;
}
