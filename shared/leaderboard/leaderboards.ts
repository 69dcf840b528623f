import { InvalidInputError } from "../errors";
import { DEFAULT_PREFIX, validateName } from "../keys";
import { assertRawReplies } from "../redis/client";
import { DEFAULT_BOARD, MAX_AROUND, MAX_BATCH, MAX_DENSE_POSITION, MAX_DISPLAY_NAME_BYTES, MAX_LIMIT, MAX_OFFSET } from "./board";
import {
  aroundCall,
  boardKeys,
  parseAroundReply,
  parseSubmitReply,
  parseTopReply,
  rankPage,
  removeCall,
  submitCall,
  topCall,
  type ReadTarget,
  type SubmitEntry,
} from "./codec";
import { hotRead, type FromL1 } from "./hot-reads";
import { isolateLeaderboardL1, type LeaderboardL1 } from "./isolate";
import { leaderboardKeys, type LeaderboardKeys } from "./keys";
import { SUBMIT_MODES } from "./modes";
import { expiresAtMs, versionAt } from "./periods";
import { RANKING_NAMES, rankingStyle } from "./ranking";
import { scoreToUnits } from "./score";
import { AROUND, REMOVE, SUBMIT, TOP } from "./scripts";
import type {
  BatchOutcome,
  BoardConfig,
  BoardPage,
  DenseTooDeep,
  HotReadOptions,
  LeaderboardClient,
  LeaderboardOptions,
  MemberStanding,
  ReadOptions,
  SubmitInput,
  SubmitOptions,
  SubmitOutcome,
  SubmitRefusal,
  SubmitResult,
} from "./types";
import { integerIn } from "../integer";

/** Largest instant `at` may name: the end of year 9999. */
const MAX_AT = 253_402_300_799_999;

/**
 * Leaderboards on sorted sets. Every submit (single or batch, all periods of the board) and
 * every read is one Lua script, so one REST request; submits are atomic and take their time
 * from Redis. Expected outcomes are results: an absent member is null, a refused submit is
 * `{ accepted: false, reason }`; only invalid input (before any request) and an unavailable
 * Redis throw.
 *
 * @example
 * const boards = new Leaderboards(redis);
 * await boards.submit("arena", "alice", 120, { name: "Alice" }); // { accepted: true, score: 120, rank: 1, ... }
 * await boards.top("arena", { limit: 10, period: "weekly", ranking: "competition" });
 */
export class Leaderboards {
  readonly #keys: LeaderboardKeys;
  readonly #boards: (board: string) => BoardConfig;
  readonly #idempotencyTtlSeconds: number;
  readonly #guardMs: number;
  readonly #clock: () => number;
  readonly #l1: LeaderboardL1 | false;

  constructor(
    private readonly redis: LeaderboardClient,
    options: LeaderboardOptions = {},
  ) {
    assertRawReplies(redis);
    this.#keys = leaderboardKeys(options.prefix ?? DEFAULT_PREFIX);
    this.#boards = options.boards ?? (() => DEFAULT_BOARD);
    this.#idempotencyTtlSeconds = positiveInteger(options.idempotencyTtlSeconds ?? 86_400, "idempotencyTtlSeconds");
    this.#guardMs = positiveInteger(options.retryGuardTtlSeconds ?? 60, "retryGuardTtlSeconds") * 1000;
    this.#clock = options.clock ?? Date.now;
    this.#l1 = options.l1 ?? isolateLeaderboardL1;
  }

  /** Submits one score to every period of `board`: the stored score and ranks, or why it was refused. */
  async submit(
    board: string,
    member: string,
    score: number,
    options: Omit<SubmitInput, "member" | "score"> & SubmitOptions = {},
  ): Promise<SubmitOutcome> {
    const { nowMs, ...rest } = options;
    const outcome = await this.#submit(board, [{ member, score, ...rest }], (name) => name, nowMs);
    return outcome.accepted ? { accepted: true, ...outcome.results[0]! } : outcome;
  }

  /** Submits 1–100 entries atomically in one request; ranks are as of the end of the batch. */
  async submitMany(board: string, entries: readonly SubmitInput[], options: SubmitOptions = {}): Promise<BatchOutcome> {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_BATCH) {
      throw new InvalidInputError(`entries must hold 1 to ${MAX_BATCH} submissions`, "entries");
    }
    return this.#submit(board, entries, (name, i) => `entries.${i}.${name}`, options.nowMs);
  }

  /**
   * The best `limit` members from position `offset`, with the period's member count. With
   * `maxStaleMs`, a page Redis answered within that many ms may come from the isolate's memory
   * (then it has `l1`).
   */
  async top(board: string, options: ReadOptions & HotReadOptions & { limit?: number; offset?: number } = {}): Promise<BoardPage & FromL1> {
    const { limit = 10, offset = 0 } = options;
    integerIn(limit, "limit", 1, MAX_LIMIT);
    integerIn(offset, "offset", 0, MAX_OFFSET);
    const { config, target } = this.#target(board, options);
    if (target.ranking.counts === "distinct" && offset >= MAX_DENSE_POSITION) {
      throw new InvalidInputError(`offset must be below ${MAX_DENSE_POSITION} for dense ranks`, "offset");
    }
    const page = await hotRead<BoardPage>({
      ...this.#hot(board, target, options.maxStaleMs),
      shape: `top:${limit}:${offset}`,
      versionOf: (page) => page.version,
      read: async () => {
        const reply = await this.#withRedisTime(async (approx) =>
          parseTopReply(await TOP.run(this.redis, topCall(this.#keys, target, approx, { offset, limit }))),
        );
        const entries = reply.page ? rankPage(reply.page, config.order, target.ranking) : [];
        return { board, period: target.period, version: reply.version, total: reply.total, entries };
      },
    });
    return page!;
  }

  /** The number of members in a period's version. */
  async count(board: string, options: ReadOptions = {}): Promise<number> {
    const { target } = this.#target(board, options);
    const reply = await this.#withRedisTime(async (approx) =>
      parseTopReply(await TOP.run(this.redis, topCall(this.#keys, target, approx, { offset: 0, limit: 0 }))),
    );
    return reply.total;
  }

  /**
   * `member`'s rank and score with `around` neighbours on each side; null when it is not in
   * that version; {@link DenseTooDeep} for dense ranks below `MAX_DENSE_POSITION`. With
   * `maxStaleMs`, a standing Redis answered within that many ms may come from the isolate's
   * memory (then it has `l1`); absence is always asked of Redis.
   */
  async member(
    board: string,
    member: string,
    options: ReadOptions & HotReadOptions & { around?: number } = {},
  ): Promise<(MemberStanding & FromL1) | DenseTooDeep | null> {
    validateName(member, "member");
    const { around = 2 } = options;
    integerIn(around, "around", 0, MAX_AROUND);
    const { config, target } = this.#target(board, options);
    return hotRead<MemberStanding | DenseTooDeep>({
      ...this.#hot(board, target, options.maxStaleMs),
      // Member ids hold no control characters: the separator cannot be forged.
      shape: `member:${around}:${member}`,
      versionOf: (standing) => ("tooDeep" in standing ? undefined : standing.version),
      read: async () => {
        const reply = await this.#withRedisTime(async (approx) => {
          const call = aroundCall(this.#keys, target, approx, member, around);
          return parseAroundReply(await AROUND.run(this.redis, call));
        });
        if (reply.kind === "absent") return null;
        if (reply.kind === "deep") return { tooDeep: true, position: reply.index + 1 };
        const entries = rankPage(reply.page, config.order, target.ranking);
        const self = entries[reply.index - reply.page.start]!;
        return { board, period: target.period, version: reply.version, total: reply.total, ...self, around: entries };
      },
    });
  }

  /** Removes `member` from every period and retained version; returns how many held it. */
  async removeMember(board: string, member: string): Promise<number> {
    validateName(board, "board");
    validateName(member, "member");
    const call = removeCall(this.#keys, board, this.#boards(board), member, this.#clock());
    return this.#changing(board, async () => Number(await REMOVE.run(this.redis, call)));
  }

  /** Deletes `board`: its state and every retained version, with one DEL (one request). */
  async deleteBoard(board: string): Promise<void> {
    validateName(board, "board");
    const keys = boardKeys(this.#keys, board, this.#boards(board), this.#clock());
    await this.#changing(board, () => this.redis.del(...keys));
  }

  /** The L1 part of a hot read of `board`. */
  #hot(board: string, target: ReadTarget, maxStaleMs: number | undefined) {
    return { l1: this.#l1, maxStaleMs, board: this.#keys.state(board), target };
  }

  /** Runs a change of `board` through the L1 (see {@link IsolateCopies.changing}), when there is one. */
  #changing<T>(board: string, change: () => Promise<T>): Promise<T> {
    return this.#l1 ? this.#l1.changing([this.#keys.state(board)], [], change) : change();
  }

  async #submit(
    board: string,
    inputs: readonly SubmitInput[],
    field: (name: string, i: number) => string,
    nowMs: number | undefined,
  ): Promise<{ accepted: true; results: SubmitResult[] } | SubmitRefusal> {
    validateName(board, "board");
    const config = this.#boards(board);
    const entries = validateEntries(inputs, config, field);
    if (nowMs !== undefined) integerIn(nowMs, "nowMs", 0, MAX_AT);
    // A random id per call: the client's resend after a lost reply carries the same one, and
    // finds the call remembered in each member's state.
    const callId = crypto.randomUUID();
    const reply = await this.#changing(board, () => this.#withRedisTime(async (approx) => {
      const call = submitCall(this.#keys, entries, {
        board,
        config,
        approxMs: approx,
        ...(nowMs === undefined ? {} : { nowMs }),
        callId,
        guardMs: this.#guardMs,
        idempotencyTtlSeconds: this.#idempotencyTtlSeconds,
      });
      return parseSubmitReply(await SUBMIT.run(this.redis, call), config, entries);
    }));
    switch (reply.kind) {
      case "applied":
        return { accepted: true, results: reply.results };
      case "conflict":
        return { accepted: false, reason: "conflict", entry: reply.entry, field: field("idempotencyKey", reply.entry) };
      case "overflow":
        return { accepted: false, reason: "overflow", entry: reply.entry, field: field("score", reply.entry), period: reply.period };
    }
  }

  /** Validates a read's board, period, ranking and `at` (against the clock: a read never writes). */
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
    if (options.nowMs !== undefined) integerIn(options.nowMs, "nowMs", 0, MAX_AT);
    const target: ReadTarget = { board, period, ranking: rankingStyle(ranking) };
    if (options.nowMs !== undefined) target.nowMs = options.nowMs;
    if (options.at !== undefined) {
      integerIn(options.at, "at", 0, MAX_AT);
      if (period !== "all-time") {
        const now = options.nowMs ?? this.#clock();
        const version = versionAt(period, options.at);
        if (now >= expiresAtMs(version, config.versions)!) {
          throw new InvalidInputError("at: that version of the period is no longer retained", "at");
        }
        if (now < version.startMs!) throw new InvalidInputError("at: that version of the period has not started", "at");
        target.at = options.at;
      }
    }
    return { config, target };
  }

  /**
   * Runs `attempt` around the Worker's clock; when Redis's clock is in none of the versions it
   * offered, once more around Redis's (two requests: a Worker clock far off).
   */
  async #withRedisTime<T extends { kind: string }>(attempt: (approxMs: number) => Promise<T | Skew>): Promise<Exclude<T, Skew>> {
    let approx = this.#clock();
    for (let i = 0; i < 2; i++) {
      const reply = await attempt(approx);
      if (!isSkew(reply)) return reply as Exclude<T, Skew>;
      approx = reply.nowMs;
    }
    throw new Error("leaderboard: Redis time is outside every period version offered twice");
  }
}

type Skew = { kind: "skew"; nowMs: number };

function isSkew(reply: { kind: string }): reply is Skew {
  return reply.kind === "skew";
}

/** Validates a batch before any request; returns the entries as the script takes them. */
function validateEntries(inputs: readonly SubmitInput[], config: BoardConfig, field: (name: string, i: number) => string): SubmitEntry[] {
  const seen = new Set<string>();
  return inputs.map((input, i) => {
    if (typeof input !== "object" || input === null) throw new InvalidInputError("must be an object", field("", i));
    const member = validateName(input.member, field("member", i));
    const units = scoreToUnits(input.score, field("score", i));
    const mode = input.mode ?? config.mode;
    if (!SUBMIT_MODES.includes(mode)) {
      throw new InvalidInputError(`mode must be one of ${SUBMIT_MODES.join(", ")}`, field("mode", i));
    }
    const entry: SubmitEntry = { member, units, mode };
    if (input.name !== undefined) entry.name = validateName(input.name, field("name", i), MAX_DISPLAY_NAME_BYTES);
    if (input.idempotencyKey !== undefined) {
      validateName(input.idempotencyKey, field("idempotencyKey", i));
      if (seen.has(input.idempotencyKey)) {
        throw new InvalidInputError("idempotencyKey repeats within the batch", field("idempotencyKey", i));
      }
      seen.add(input.idempotencyKey);
      entry.idempotencyKey = input.idempotencyKey;
    }
    return entry;
  });
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(`${field} must be a positive integer`, field);
  return value;
}
