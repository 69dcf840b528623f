import { keyspace } from "../keys";
import type { Order, SubmitMode } from "./modes";
import { candidateVersions, expiresAtMs, versionAt, type PeriodKind, type PeriodVersion } from "./periods";

/** How one board behaves. */
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
  /** Keep only the best `cap` members of each period (default null: no cap). */
  readonly cap: number | null;
}

/** What an unconfigured board is on its first submit. */
export const DEFAULT_BOARD: BoardConfig = {
  order: "desc",
  mode: "best",
  periods: ["all-time", "daily", "weekly", "monthly"],
  versions: 2,
  cap: null,
};

/** Most versions a board may keep per period. */
export const MAX_VERSIONS = 100;

/** The three keys of one version of a board. */
export interface VersionKeys {
  /** Sorted set: member `<stamp><member>`, score = signed units. */
  rank: string;
  /** Hash: member → `<stamp><units>\n<name>`, the member's stamp, score and display name. */
  entry: string;
  /** Sorted set of the distinct scores present (member = score), for dense ranks. */
  distinct: string;
}

/** A version as the scripts receive it: where it starts and ends and when it expires. */
export interface VersionSpec {
  label: string;
  from?: number;
  to?: number;
  expireAt?: number;
}

/**
 * Key builder of the leaderboard feature: `<prefix>:lb:<kind>:<board>:<tag>`.
 * @example
 * const keys = leaderboardKeys("erf");
 * keys.version("arena", daily).rank; // "erf:lb:rank:arena:daily:2026-04-20"
 */
export function leaderboardKeys(prefix: string) {
  const key = keyspace(prefix, "lb");
  const version = (board: string, v: PeriodVersion): VersionKeys => {
    const tag = v.period === "all-time" ? "all-time" : `${v.period}:${v.label}`;
    return { rank: key("rank", board, tag), entry: key("entry", board, tag), distinct: key("distinct", board, tag) };
  };
  return {
    version,
    /** The KEYS of `versions` in the order the scripts read them: rank, entry, distinct of each. */
    scriptKeys: (board: string, versions: readonly PeriodVersion[]): string[] =>
      versions.flatMap((v) => {
        const keys = version(board, v);
        return [keys.rank, keys.entry, keys.distinct];
      }),
    /** A client's idempotency key (kept a day by default). */
    idempotency: (board: string, idempotencyKey: string) => key("idem", board, idempotencyKey),
    /** The key guarding one call against the client's own retry (kept a minute). */
    retryGuard: (board: string, callId: string) => key("retry", board, callId),
  };
}

/** A version's bounds and expiry for a script; fields absent for all-time. */
export function versionSpec(version: PeriodVersion, versions: number): VersionSpec {
  const spec: VersionSpec = { label: version.label };
  if (version.startMs !== null) spec.from = version.startMs;
  if (version.endMs !== null) spec.to = version.endMs;
  const expireAt = expiresAtMs(version, versions);
  if (expireAt !== null) spec.expireAt = expireAt;
  return spec;
}

/** How far a Worker's clock may be from Redis's before a script needs a second request. */
export const CLOCK_SLACK_MS = 120_000;

/**
 * The versions of `period` a script is offered: the one containing `exactMs` when given (a
 * read's `at`, or a test's clock), else those within {@link CLOCK_SLACK_MS} of the Worker's
 * clock `approxMs`, among which the script picks the one containing Redis time.
 */
export function offeredVersions(period: PeriodKind, approxMs: number, exactMs?: number): PeriodVersion[] {
  return exactMs === undefined ? candidateVersions(period, approxMs, CLOCK_SLACK_MS) : [versionAt(period, exactMs)];
}

/**
 * Runs a script that picks its versions by Redis time: `attempt` offers the versions around
 * `approxMs`; in the rare case Redis's clock is in none of them, the script answers
 * `{ skew: now }` and `attempt` runs once more around Redis's time (two requests).
 */
export async function withRedisTime<T extends object>(
  approxMs: number,
  attempt: (approxMs: number) => Promise<T | { skew: number }>,
): Promise<T> {
  let approx = approxMs;
  for (let i = 0; i < 2; i++) {
    const reply = await attempt(approx);
    if (!("skew" in reply)) return reply;
    approx = reply.skew;
  }
  throw new Error("leaderboard: Redis time is outside every period version offered twice");
}
