import { ConflictError, InvalidInputError } from "../errors";
import { validateName } from "../keys";
import type { RedisClient } from "../redis/client";
import { DEFAULT_BOARD, leaderboardKeys, type BoardConfig } from "./board";
import { SUBMIT_MODES, type SubmitMode } from "./modes";
import type { PeriodKind } from "./periods";
import { rankingStyle, RANKING_NAMES, type RankingName } from "./ranking";
import { AROUND_SCRIPT, rankPage, runRead, TOP_SCRIPT, type RankedEntry, type ReadRefusal, type ReadTarget } from "./read";
import { deleteBoard, removeMember } from "./remove";
import { MAX_SCORE, scoreToUnits } from "./score";
import { runSubmit, type SubmitEntry, type SubmitResult } from "./submit";

/** The commands the leaderboard core sends: scripts, and DEL to delete a board. */
export type LeaderboardClient = Pick<RedisClient, "evalsha" | "eval" | "del">;

/** Largest page of a top-N read. */
export const MAX_LIMIT = 100;
/** Most neighbours on each side of a member read. */
export const MAX_AROUND = 50;
/** Most entries in one batch submit. */
export const MAX_BATCH = 100;
/** Largest display name, in UTF-8 bytes. */
export const MAX_DISPLAY_NAME_BYTES = 1024;
/** Largest offset of a top-N read. */
export const MAX_OFFSET = 1_000_000_000;

/** Options of {@link Leaderboards}. */
export interface LeaderboardOptions {
  /** Key prefix (default "erf"): keys are `<prefix>:lb:...`. */
  prefix?: string;
  /** The configuration of a board by name (default: {@link DEFAULT_BOARD} for every board). */
  boards?: (board: string) => BoardConfig;
  /** Seconds a client's idempotency key is remembered (default 86400, one day). */
  idempotencyTtlSeconds?: number;
  /**
   * Seconds the guard against the Redis client's own retry is kept, for submits without an
   * idempotency key (default 60; a retry comes within seconds).
   */
  retryGuardTtlSeconds?: number;
  /**
   * The local clock in ms (default `Date.now`). It only picks which period versions to offer
   * a script, with two minutes' slack; Redis TIME decides. Inject one to test clock skew.
   */
  clock?: () => number;
}

/** One submission. */
export interface SubmitInput {
  member: string;
  /** A number within ±10^12 with at most 3 decimals (see `score.ts`). */
  score: number;
  /** Default: the board's mode. */
  mode?: SubmitMode;
  /** Display name (≤ 1 KiB) stored with the member; omitted keeps the stored one. */
  name?: string;
  /** The same key with the same submission is applied once (kept `idempotencyTtlSeconds`). */
  idempotencyKey?: string;
}

/** Options of every read. */
export interface ReadOptions {
  /** Default: the board's first period. */
  period?: PeriodKind;
  /** Any instant (ms) inside a retained version of the period; default now. */
  at?: number;
  /** Default "ordinal". */
  ranking?: RankingName;
  /** Replaces Redis TIME as "now" (tests only: period rollover and expiry). */
  nowMs?: number;
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
 * Leaderboards on sorted sets. Every submit (single or batch) and every read is one Lua
 * script, so one REST request, atomic, with time taken from Redis.
 *
 * @example
 * const boards = new Leaderboards(redis, { prefix: "erf" });
 * await boards.submit("arena", "alice", 120, { name: "Alice" }); // { score: 120, rank: 1, ... }
 * await boards.top("arena", { limit: 10, period: "weekly", ranking: "competition" });
 */
export class Leaderboards {
  readonly #prefix: string;
  readonly #boards: (board: string) => BoardConfig;
  readonly #idempotencyTtl: number;
  readonly #retryGuardTtl: number;
  readonly #clock: () => number;

  constructor(
    private readonly redis: LeaderboardClient,
    options: LeaderboardOptions = {},
  ) {
    this.#prefix = options.prefix ?? "erf";
    this.#boards = options.boards ?? (() => DEFAULT_BOARD);
    this.#idempotencyTtl = options.idempotencyTtlSeconds ?? 86_400;
    this.#retryGuardTtl = options.retryGuardTtlSeconds ?? 60;
    this.#clock = options.clock ?? Date.now;
  }

  /** Submits one score to every period of `board`; returns the stored score and ranks. */
  async submit(
    board: string,
    member: string,
    score: number,
    options: Omit<SubmitInput, "member" | "score"> & { nowMs?: number } = {},
  ): Promise<SubmitResult> {
    const { nowMs, ...rest } = options;
    const [result] = await this.#submit(board, [{ member, score, ...rest }], (field) => field, nowMs);
    return result!;
  }

  /** Submits 1–100 entries atomically in one request; ranks are as of the end of the batch. */
  submitMany(board: string, entries: readonly SubmitInput[], options: { nowMs?: number } = {}): Promise<SubmitResult[]> {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_BATCH) {
      throw new InvalidInputError(`entries must hold 1 to ${MAX_BATCH} submissions`, "entries");
    }
    return this.#submit(board, entries, (field, i) => `entries.${i}.${field}`, options.nowMs);
  }

  /** The best `limit` members from position `offset`, with the period's member count. */
  async top(board: string, options: ReadOptions & { limit?: number; offset?: number } = {}): Promise<BoardPage> {
    const { limit = 10, offset = 0 } = options;
    integerIn(limit, "limit", 1, MAX_LIMIT);
    integerIn(offset, "offset", 0, MAX_OFFSET);
    const { config, target } = this.#target(board, options);
    const reply = await runRead<{ total: number; page: Parameters<typeof rankPage>[0] }>(
      TOP_SCRIPT, this.redis, this.#prefix, board, config, target, { offset, limit },
    );
    const { total, page } = refused(reply);
    const { version, entries } = rankPage(page, config, target.ranking);
    return { board, period: target.period, version, total, entries };
  }

  /** The number of members in a period's version. */
  async count(board: string, options: ReadOptions = {}): Promise<number> {
    const { config, target } = this.#target(board, options);
    const reply = await runRead<{ total: number }>(TOP_SCRIPT, this.redis, this.#prefix, board, config, target, {
      offset: 0,
      limit: 0,
    });
    return refused(reply).total;
  }

  /** `member`'s rank and score with `around` neighbours on each side; null when absent. */
  async member(board: string, member: string, options: ReadOptions & { around?: number } = {}): Promise<MemberStanding | null> {
    validateName(member, "member");
    const { around = 2 } = options;
    integerIn(around, "around", 0, MAX_AROUND);
    const { config, target } = this.#target(board, options);
    const reply = await runRead<{ total: number; index: number; page: Parameters<typeof rankPage>[0] }>(
      AROUND_SCRIPT, this.redis, this.#prefix, board, config, target, { member, around },
    );
    if ("absent" in reply) return null;
    const { total, index, page } = refused(reply);
    const { version, entries } = rankPage(page, config, target.ranking);
    const self = entries[index - (page.offset ?? 0)]!;
    return { board, period: target.period, version, total, ...self, around: entries };
  }

  /** Removes `member` from every period and retained version; returns how many held it. */
  removeMember(board: string, member: string): Promise<number> {
    validateName(board, "board");
    validateName(member, "member");
    return removeMember(this.redis, this.#prefix, board, this.#boards(board), member, this.#clock());
  }

  /** Deletes every period and retained version of `board`. */
  deleteBoard(board: string): Promise<void> {
    validateName(board, "board");
    return deleteBoard(this.redis, this.#prefix, board, this.#boards(board), this.#clock());
  }

  async #submit(
    board: string,
    inputs: readonly SubmitInput[],
    field: (name: string, i: number) => string,
    nowMs: number | undefined,
  ): Promise<SubmitResult[]> {
    validateName(board, "board");
    const config = this.#boards(board);
    const keys = leaderboardKeys(this.#prefix);
    const callId = crypto.randomUUID();
    const seen = new Set<string>();
    const entries: SubmitEntry[] = inputs.map((input, i) => {
      if (typeof input !== "object" || input === null) throw new InvalidInputError("must be an object", field("", i));
      const member = validateName(input.member, field("member", i));
      const units = scoreToUnits(input.score, field("score", i));
      const mode = input.mode ?? config.mode;
      if (!SUBMIT_MODES.includes(mode)) {
        throw new InvalidInputError(`mode must be one of ${SUBMIT_MODES.join(", ")}`, field("mode", i));
      }
      if (input.name !== undefined) validateName(input.name, field("name", i), MAX_DISPLAY_NAME_BYTES);
      const entry: SubmitEntry = { member, units, mode, recordKey: "", recordTtl: this.#idempotencyTtl };
      if (input.name !== undefined) entry.name = input.name;
      if (input.idempotencyKey !== undefined) {
        validateName(input.idempotencyKey, field("idempotencyKey", i));
        if (seen.has(input.idempotencyKey)) {
          throw new InvalidInputError("idempotencyKey repeats within the batch", field("idempotencyKey", i));
        }
        seen.add(input.idempotencyKey);
        entry.recordKey = keys.idempotency(board, input.idempotencyKey);
      } else {
        // No client key: guard against the Redis client resending this very request after a
        // network failure (the resend carries the same call id, so it replays, not repeats).
        entry.recordKey = keys.retryGuard(board, `${callId}:${i}`);
        entry.recordTtl = this.#retryGuardTtl;
      }
      return entry;
    });
    const outcome = await runSubmit(this.redis, this.#prefix, board, config, entries, {
      approxMs: this.#clock(),
      ...(nowMs === undefined ? {} : { nowMs }),
    });
    if (Array.isArray(outcome)) return outcome;
    if ("conflict" in outcome) {
      const where = field("idempotencyKey", outcome.conflict - 1);
      throw new ConflictError("This idempotencyKey was already used for a different submission", { field: where });
    }
    const where = field("score", outcome.overflow - 1);
    throw new InvalidInputError(
      `${where}: the ${config.periods[outcome.period - 1]} score would leave the range ±${MAX_SCORE} (nothing was changed)`,
      where,
    );
  }

  #target(board: string, options: ReadOptions): { config: BoardConfig; target: ReadTarget } {
    validateName(board, "board");
    const config = this.#boards(board);
    const period = options.period ?? config.periods[0]!;
    if (!config.periods.includes(period)) {
      throw new InvalidInputError(`period must be one of this board's periods: ${config.periods.join(", ")}`, "period");
    }
    const ranking = options.ranking ?? "ordinal";
    if (!RANKING_NAMES.includes(ranking)) {
      throw new InvalidInputError(`ranking must be one of ${RANKING_NAMES.join(", ")}`, "ranking");
    }
    if (options.at !== undefined) integerIn(options.at, "at", 0, 253_402_300_799_999); // up to year 9999
    const target: ReadTarget = { period, ranking: rankingStyle(ranking), approxMs: this.#clock() };
    if (options.at !== undefined && period !== "all-time") target.at = options.at;
    if (options.nowMs !== undefined) target.nowMs = options.nowMs;
    return { config, target };
  }
}

function integerIn(value: unknown, field: string, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`${field} must be an integer from ${min} to ${max}`, field);
  }
}

function refused<T extends object>(reply: T | ReadRefusal): T {
  if ("expired" in reply) {
    throw new InvalidInputError("at: that version of the period is no longer retained", "at");
  }
  if ("future" in reply) throw new InvalidInputError("at: that version of the period has not started", "at");
  return reply as T;
}
