import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors";
import { leaderboardKeys, versionAt, type PeriodKind } from "../../shared/leaderboard";
import { testRedis } from "./helpers";
import { accepted, fresh, PREFIX, standing } from "./leaderboard-helpers";

/**
 * Periods with an injected clock: the core's `nowMs` replaces Redis TIME inside the scripts
 * (a test-only option), so a submit can land on a chosen Sunday night. The instants are in
 * the future so that the expiries they set have not passed yet.
 */
const SUNDAY = Date.parse("2030-06-09T23:59:59Z");
const MONDAY = Date.parse("2030-06-10T00:00:00Z");
const redis = testRedis();
const keys = leaderboardKeys(PREFIX);

/** PEXPIRETIME of a key: ms since the epoch, -1 without expiry, -2 when it does not exist. */
async function expiry(key: string): Promise<number> {
  return Number(await redis.eval("return redis.call('PEXPIRETIME', KEYS[1])", [key], []));
}

/** PEXPIRETIME of the sorted set of the version of `period` containing `ms`. */
function expiryOf(board: string, period: PeriodKind, ms: number): Promise<number> {
  return expiry(keys.rank(board, versionAt(period, ms)));
}

describe("period rollover", () => {
  it("Sunday 23:59:59 UTC and Monday 00:00:00 UTC land in different weeks, one request updating every period", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    const sunday = accepted(await lb.submit(board, "p", 10, { nowMs: SUNDAY }));
    const monday = accepted(await lb.submit(board, "p", 5, { nowMs: MONDAY }));
    expect(sunday.periods.map((p) => `${p.period}:${p.version}=${p.score}`)).toEqual([
      "all-time:all-time=10",
      "daily:2030-06-09=10",
      "weekly:2030-W23=10",
      "monthly:2030-06=10",
    ]);
    expect(monday.periods.map((p) => `${p.period}:${p.version}=${p.score}`)).toEqual([
      "all-time:all-time=15",
      "daily:2030-06-10=5",
      "weekly:2030-W24=5",
      "monthly:2030-06=15",
    ]);
    // Reads pick the version by `at`, or by "now".
    const weekly = (at: number) => standing(lb, board, "p", { period: "weekly", at, nowMs: MONDAY });
    expect((await weekly(SUNDAY))?.score).toBe(10);
    expect((await weekly(MONDAY + 3 * 86_400_000))?.score).toBe(5);
    const current = await lb.top(board, { period: "weekly", nowMs: MONDAY });
    expect(current).toMatchObject({ version: "2030-W24", total: 1 });
  });

  it("each version's sorted set expires when it leaves the retained window; all-time and its state never", async () => {
    const { lb, board } = fresh({ versions: 2 });
    await lb.submit(board, "p", 1, { nowMs: SUNDAY });
    const at = (iso: string) => Date.parse(iso);
    expect(await expiryOf(board, "daily", SUNDAY)).toBe(at("2030-06-11T00:00:00Z"));
    expect(await expiryOf(board, "weekly", SUNDAY)).toBe(at("2030-06-17T00:00:00Z"));
    expect(await expiryOf(board, "monthly", SUNDAY)).toBe(at("2030-08-01T00:00:00Z"));
    expect(await expiryOf(board, "all-time", SUNDAY)).toBe(-1);
    expect(await expiry(keys.state(board))).toBe(-1);

    // Without all-time, the state hash lives as long as the longest-kept version it describes.
    const long = fresh({ versions: 5, periods: ["daily", "weekly"] });
    await long.lb.submit(long.board, "p", 1, { nowMs: SUNDAY });
    expect(await expiryOf(long.board, "weekly", SUNDAY)).toBe(at("2030-07-08T00:00:00Z"));
    expect(await expiry(keys.state(long.board))).toBe(at("2030-07-08T00:00:00Z"));
    // A new week's first submit pushes it on.
    await long.lb.submit(long.board, "p", 1, { nowMs: MONDAY });
    expect(await expiry(keys.state(long.board))).toBe(at("2030-07-15T00:00:00Z"));
  });

  it("a version past its retention is gone: Redis expires its keys, and reading it is refused", async () => {
    // A day two days ago, with versions = 2: its keys expire as they are written.
    const { lb, board } = fresh({ periods: ["all-time", "daily"], versions: 2 });
    const old = Date.now() - 2 * 86_400_000;
    await lb.submit(board, "p", 7, { nowMs: old });
    expect(await expiryOf(board, "daily", old)).toBe(-2); // -2: no such key
    expect(await expiryOf(board, "all-time", old)).toBe(-1);
    const error = await lb.top(board, { period: "daily", at: old }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe("at");
    // Yesterday is still retained (and empty); a version not started yet is refused.
    expect((await lb.top(board, { period: "daily", at: Date.now() - 86_400_000 })).total).toBe(0);
    await expect(lb.top(board, { period: "daily", at: Date.now() + 3 * 86_400_000 })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("remove and delete reach every retained version, not only the current one", async () => {
    const { lb, board } = fresh({ versions: 2 });
    const yesterday = Date.now() - 86_400_000; // its daily version is retained until tonight
    await lb.submitMany(board, [{ member: "p", score: 1 }, { member: "q", score: 2 }], { nowMs: yesterday });
    const daily = { period: "daily" as const, at: yesterday };
    expect(await lb.removeMember(board, "p")).toBe(4);
    expect(await lb.member(board, "p", daily)).toBeNull();
    expect(await standing(lb, board, "q", daily)).toMatchObject({ rank: 1, score: 2 });
    expect(await lb.count(board, daily)).toBe(1);
    await lb.deleteBoard(board);
    expect(await lb.count(board, daily)).toBe(0);
  });

  it("a board keeps only its configured periods; reads of another period are refused", async () => {
    const { lb, board } = fresh({ periods: ["weekly", "all-time"] });
    const result = accepted(await lb.submit(board, "p", 3, { nowMs: MONDAY }));
    expect(result.periods.map((p) => p.period)).toEqual(["weekly", "all-time"]);
    expect((await lb.top(board, { nowMs: MONDAY })).period).toBe("weekly"); // the first is the default
    await expect(lb.top(board, { period: "daily" })).rejects.toBeInstanceOf(InvalidInputError);
  });
});
