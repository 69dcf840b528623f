import { afterEach, describe, expect, it } from "vitest";
import { ConflictError, InvalidInputError, isRedisUnavailable } from "../../shared/errors";
import { DEFAULT_BOARD, leaderboardKeys, type BoardConfig } from "../../shared/leaderboard/board";
import { Leaderboards } from "../../shared/leaderboard/leaderboard";
import { versionAt } from "../../shared/leaderboard/periods";
import { clearFaults, countRoundTrips, setFaults, testRedis, uniqueName } from "./helpers";

const PREFIX = "lbtest";

/** A core on a fresh board with `settings` over the defaults. */
function fresh(settings: Partial<BoardConfig> = {}, client = testRedis()) {
  const config = { ...DEFAULT_BOARD, ...settings };
  return { lb: new Leaderboards(client, { prefix: PREFIX, boards: () => config }), board: uniqueName("board") };
}

/** Members of a page, best first. */
async function order(lb: Leaderboards, board: string, period?: BoardConfig["periods"][number]) {
  return (await lb.top(board, { limit: 100, ...(period ? { period } : {}) })).entries.map((e) => e.member);
}

afterEach(clearFaults);

describe("one REST request per operation", () => {
  it("submit (all four periods), batch, top, member, count, remove and delete are one request each", async () => {
    const { lb, board } = fresh();
    await lb.submit(board, "warm-up", 1); // loads the scripts (EVALSHA miss, EVAL) once
    await lb.top(board);
    await lb.member(board, "warm-up");
    await lb.removeMember(board, "nobody");
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["submit", () => lb.submit(board, "alice", 10, { name: "Alice" })],
      ["batch", () => lb.submitMany(board, Array.from({ length: 100 }, (_, i) => ({ member: `m${i}`, score: i })))],
      ["top", () => lb.top(board, { limit: 100, ranking: "dense" })],
      ["member", () => lb.member(board, "alice", { around: 50, ranking: "competition" })],
      ["count", () => lb.count(board, { period: "weekly" })],
      ["remove", () => lb.removeMember(board, "alice")],
      ["delete", () => lb.deleteBoard(board)],
    ];
    for (const [name, call] of calls) {
      const { requests } = await countRoundTrips(call);
      expect({ name, requests }).toEqual({ name, requests: 1 });
    }
  });
});

describe("modes", () => {
  it("best keeps the higher score on desc boards and returns the stored score and rank", async () => {
    const { lb, board } = fresh();
    expect(await lb.submit(board, "a", 50)).toMatchObject({ score: 50, rank: 1, replayed: false });
    expect(await lb.submit(board, "b", 70)).toMatchObject({ score: 70, rank: 1 });
    expect(await lb.submit(board, "a", 40)).toMatchObject({ score: 50, rank: 2 });
    const improved = await lb.submit(board, "a", 90);
    expect(improved).toMatchObject({ score: 90, rank: 1 });
    expect(improved.periods.map((p) => [p.period, p.score, p.rank])).toEqual([
      ["all-time", 90, 1],
      ["daily", 90, 1],
      ["weekly", 90, 1],
      ["monthly", 90, 1],
    ]);
  });

  it("best keeps the lower score on asc boards, which rank lowest first", async () => {
    const { lb, board } = fresh({ order: "asc" });
    await lb.submit(board, "slow", 65.5);
    await lb.submit(board, "fast", 58.25);
    expect(await lb.submit(board, "fast", 61)).toMatchObject({ score: 58.25, rank: 1 });
    expect((await lb.top(board)).entries).toEqual([
      { rank: 1, member: "fast", score: 58.25 },
      { rank: 2, member: "slow", score: 65.5 },
    ]);
  });

  it("sum adds exactly (0.1 + 0.2 is 0.3), last replaces, min keeps the lower", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    await lb.submit(board, "s", 0.1);
    expect((await lb.submit(board, "s", 0.2)).score).toBe(0.3);
    expect((await lb.submit(board, "s", -1.3)).score).toBe(-1);
    expect((await lb.submit(board, "s", 5, { mode: "last" })).score).toBe(5);
    expect((await lb.submit(board, "s", 9, { mode: "min" })).score).toBe(5);
    expect((await lb.submit(board, "s", 2, { mode: "min" })).score).toBe(2);
  });

  it("a sum leaving ±1e12 is refused and changes nothing, in any period", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    await lb.submit(board, "big", 999_999_999_999);
    const error = await lb.submit(board, "big", 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    for (const period of ["all-time", "daily", "weekly", "monthly"] as const) {
      expect((await lb.member(board, "big", { period }))?.score).toBe(999_999_999_999);
    }
  });
});

describe("concurrency", () => {
  it("K concurrent sum submits from separate clients add up exactly in every period", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    const K = 40;
    await Promise.all(
      Array.from({ length: K }, (_, i) =>
        new Leaderboards(testRedis(), { prefix: PREFIX, boards: () => ({ ...DEFAULT_BOARD, mode: "sum" }) }).submit(board, "team", i % 2 ? 0.5 : 1.25),
      ),
    );
    const expected = (K / 2) * 0.5 + (K / 2) * 1.25;
    for (const period of ["all-time", "daily", "weekly", "monthly"] as const) {
      expect((await lb.member(board, "team", { period }))?.score).toBe(expected);
    }
  });

  it("concurrent best submits keep the best, and every caller sees a consistent rank", async () => {
    const { lb, board } = fresh();
    const scores = Array.from({ length: 40 }, (_, i) => ((i * 37) % 40) + 1); // 1..40 shuffled
    const results = await Promise.all(
      scores.map((score) => new Leaderboards(testRedis(), { prefix: PREFIX }).submit(board, "p", score)),
    );
    // Each caller sees the best stored so far: at least its own score, never a lost update.
    results.forEach((result, i) => expect({ score: result.score >= scores[i]!, rank: result.rank }).toEqual({ score: true, rank: 1 }));
    expect((await lb.member(board, "p"))?.score).toBe(40);
    expect(results.some((r) => r.score === 40)).toBe(true);
    expect(await lb.count(board)).toBe(1);
  });
});

describe("ties by time", () => {
  it("equal scores rank by who reached the score first, not by name", async () => {
    const { lb, board } = fresh();
    await lb.submit(board, "zoe", 100);
    await lb.submit(board, "mia", 100);
    await lb.submit(board, "abe", 100);
    expect(await order(lb, board)).toEqual(["zoe", "mia", "abe"]);
    // Reaching 100 later (from below) queues behind those already there.
    await lb.submit(board, "aaa", 50);
    await lb.submit(board, "aaa", 100);
    expect(await order(lb, board)).toEqual(["zoe", "mia", "abe", "aaa"]);
    // Submitting the score one already holds does not lose one's place.
    await lb.submit(board, "zoe", 100, { mode: "last" });
    await lb.submit(board, "mia", 90); // best: no change
    expect(await order(lb, board)).toEqual(["zoe", "mia", "abe", "aaa"]);
    expect((await lb.member(board, "abe"))?.rank).toBe(3);
  });

  it("holds on asc boards too", async () => {
    const { lb, board } = fresh({ order: "asc" });
    await lb.submit(board, "b", 30);
    await lb.submit(board, "a", 30);
    await lb.submit(board, "c", 10);
    expect(await order(lb, board)).toEqual(["c", "b", "a"]);
  });
});

describe("ranking styles", () => {
  async function tiedBoard() {
    const { lb, board } = fresh();
    const scores: Array<[string, number]> = [["a", 90], ["b", 80], ["c", 80], ["d", 70], ["e", 70], ["f", 70], ["g", 60]];
    await lb.submitMany(board, scores.map(([member, score]) => ({ member, score })));
    return { lb, board };
  }

  it("ordinal (default), competition and dense ranks of a whole board", async () => {
    const { lb, board } = await tiedBoard();
    const ranks = async (ranking?: "ordinal" | "competition" | "dense") =>
      (await lb.top(board, ranking ? { ranking } : {})).entries.map((e) => e.rank);
    expect(await ranks()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await ranks("competition")).toEqual([1, 2, 2, 4, 4, 4, 7]);
    expect(await ranks("dense")).toEqual([1, 2, 2, 3, 3, 3, 4]);
  });

  it("a page starting inside a tie, and a member read, rank the same way", async () => {
    const { lb, board } = await tiedBoard();
    const page = async (ranking: "ordinal" | "competition" | "dense") =>
      (await lb.top(board, { offset: 4, limit: 3, ranking })).entries.map((e) => [e.member, e.rank]);
    expect(await page("ordinal")).toEqual([["e", 5], ["f", 6], ["g", 7]]);
    expect(await page("competition")).toEqual([["e", 4], ["f", 4], ["g", 7]]);
    expect(await page("dense")).toEqual([["e", 3], ["f", 3], ["g", 4]]);
    expect((await lb.member(board, "f", { ranking: "competition", around: 1 }))?.around.map((e) => e.rank)).toEqual([4, 4, 7]);
    expect((await lb.member(board, "c", { ranking: "dense", around: 0 }))?.rank).toBe(2);
  });

  it("dense ranks stay right after scores change and members leave", async () => {
    const { lb, board } = await tiedBoard();
    await lb.submit(board, "b", 95); // 80 is still held by c
    await lb.removeMember(board, "c"); // now nobody holds 80
    await lb.submit(board, "a", 60, { mode: "last" }); // 90 is gone, 60 shared with g
    const entries = (await lb.top(board, { ranking: "dense" })).entries.map((e) => [e.member, e.score, e.rank]);
    expect(entries).toEqual([
      ["b", 95, 1],
      ["d", 70, 2],
      ["e", 70, 2],
      ["f", 70, 2],
      ["g", 60, 3],
      ["a", 60, 3],
    ]);
  });
});

describe("a member with neighbours", () => {
  it("around at the top, the bottom, in the middle, and on a board of one", async () => {
    const { lb, board } = fresh();
    await lb.submitMany(board, ["a", "b", "c", "d", "e", "f"].map((member, i) => ({ member, score: 60 - i * 10 })));
    const around = async (member: string, n: number) => {
      const standing = await lb.member(board, member, { around: n });
      return { rank: standing?.rank, around: standing?.around.map((e) => `${e.member}${e.rank}`) };
    };
    expect(await around("a", 2)).toEqual({ rank: 1, around: ["a1", "b2", "c3"] });
    expect(await around("f", 2)).toEqual({ rank: 6, around: ["d4", "e5", "f6"] });
    expect(await around("c", 1)).toEqual({ rank: 3, around: ["b2", "c3", "d4"] });
    expect(await around("d", 0)).toEqual({ rank: 4, around: ["d4"] });
    expect(await lb.member(board, "nobody")).toBeNull();

    const single = fresh();
    await single.lb.submit(single.board, "solo", 1, { name: "Solo" });
    const solo = await single.lb.member(single.board, "solo", { around: 50 });
    expect(solo).toMatchObject({ rank: 1, score: 1, name: "Solo", total: 1 });
    expect(solo?.around).toEqual([{ rank: 1, member: "solo", score: 1, name: "Solo" }]);
  });
});

describe("idempotency", () => {
  it("the same key twice counts once, a different key counts again (sum)", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    const first = await lb.submit(board, "p", 5, { idempotencyKey: "match-1" });
    const again = await lb.submit(board, "p", 5, { idempotencyKey: "match-1" });
    expect(again).toEqual({ ...first, replayed: true });
    expect((await lb.member(board, "p"))?.score).toBe(5);
    expect((await lb.submit(board, "p", 5, { idempotencyKey: "match-2" })).score).toBe(10);
    expect((await lb.member(board, "p", { period: "daily" }))?.score).toBe(10);
  });

  it("a repeat is applied once in every mode, even after the score moved on", async () => {
    for (const mode of ["best", "sum", "last", "min"] as const) {
      const { lb, board } = fresh();
      await lb.submit(board, "p", 9, { mode, idempotencyKey: "k1" });
      await lb.submit(board, "p", 3, { mode: "last", idempotencyKey: "k2" });
      const repeat = await lb.submit(board, "p", 9, { mode, idempotencyKey: "k1" });
      expect({ mode, replayed: repeat.replayed, stored: (await lb.member(board, "p"))?.score }).toEqual({ mode, replayed: true, stored: 3 });
    }
  });

  it("a key reused for a different submission is a conflict and changes nothing", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    await lb.submit(board, "p", 5, { idempotencyKey: "k" });
    await expect(lb.submit(board, "p", 6, { idempotencyKey: "k" })).rejects.toBeInstanceOf(ConflictError);
    await expect(lb.submitMany(board, [{ member: "q", score: 1 }, { member: "p", score: 7, idempotencyKey: "k" }])).rejects.toBeInstanceOf(ConflictError);
    expect((await lb.top(board)).entries.map((e) => [e.member, e.score])).toEqual([["p", 5]]);
  });

  it("the Redis client's own retry after a lost reply does not count twice (no key given)", async () => {
    const { lb, board } = fresh({ mode: "sum" }, testRedis({ retries: 1 }));
    await lb.submit(board, "p", 5); // warm: the next EVALSHA is applied for sure
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    const result = await lb.submit(board, "p", 5);
    expect(result).toMatchObject({ score: 10, replayed: true });
    await clearFaults();
    expect((await lb.member(board, "p"))?.score).toBe(10);
  });
});

describe("caps, names and removal", () => {
  it("a capped board keeps only the best N; a member below the cap gets rank null", async () => {
    const { lb, board } = fresh({ cap: 3 });
    await lb.submitMany(board, [10, 20, 30, 40].map((score) => ({ member: `m${score}`, score })));
    expect(await order(lb, board)).toEqual(["m40", "m30", "m20"]);
    expect(await lb.submit(board, "low", 5)).toMatchObject({ score: 5, rank: null });
    expect(await lb.member(board, "low")).toBeNull();
    expect(await lb.submit(board, "high", 35)).toMatchObject({ rank: 2 });
    expect(await order(lb, board, "weekly")).toEqual(["m40", "high", "m30"]);
    expect((await lb.top(board, { ranking: "dense" })).entries.map((e) => e.rank)).toEqual([1, 2, 3]);
    expect(await lb.count(board)).toBe(3);
  });

  it("display names are stored beside the board, kept when omitted, replaced when given", async () => {
    const { lb, board } = fresh();
    const long = "é".repeat(512); // 1024 bytes
    await lb.submit(board, "p", 1, { name: long });
    await lb.submit(board, "p", 2);
    expect((await lb.member(board, "p", { period: "monthly" }))?.name).toBe(long);
    await lb.submit(board, "p", 1, { name: "Renamed" });
    expect((await lb.top(board)).entries[0]).toEqual({ rank: 1, member: "p", score: 2, name: "Renamed" });
    await expect(lb.submit(board, "p", 1, { name: `${long}x` })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("remove takes a member out of every period; delete empties the board", async () => {
    const { lb, board } = fresh();
    await lb.submitMany(board, [{ member: "a", score: 3 }, { member: "b", score: 2 }]);
    expect(await lb.removeMember(board, "a")).toBe(4);
    for (const period of ["all-time", "daily", "weekly", "monthly"] as const) expect(await order(lb, board, period)).toEqual(["b"]);
    expect(await lb.removeMember(board, "a")).toBe(0);
    await lb.deleteBoard(board);
    expect(await lb.count(board, { period: "daily" })).toBe(0);
    expect((await lb.submit(board, "a", 1)).rank).toBe(1);
  });
});

describe("batches", () => {
  it("apply atomically: a refused entry leaves the whole board unchanged", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    await lb.submit(board, "p", 999_999_999_000);
    const entries = [{ member: "q", score: 1 }, { member: "p", score: 500 }, { member: "p", score: 600 }];
    const error = await lb.submitMany(board, entries).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe("entries.2.score");
    expect((await lb.top(board)).entries.map((e) => [e.member, e.score])).toEqual([["p", 999_999_999_000]]);
  });

  it("ranks are as of the end of the batch; repeated members combine in order", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    const results = await lb.submitMany(board, [
      { member: "a", score: 1 },
      { member: "b", score: 5 },
      { member: "a", score: 10 },
    ]);
    expect(results.map((r) => [r.member, r.score, r.rank])).toEqual([["a", 11, 1], ["b", 5, 2], ["a", 11, 1]]);
  });
});

describe("clocks and eviction", () => {
  it("a Worker clock far from Redis's costs one more request, and Redis time still decides", async () => {
    const config = { ...DEFAULT_BOARD, periods: ["daily", "all-time"] as const };
    const skewed = new Leaderboards(testRedis(), { prefix: PREFIX, boards: () => config, clock: () => Date.now() - 10 * 86_400_000 });
    const board = uniqueName("board");
    const today = new Date().toISOString().slice(0, 10);
    await skewed.submit(board, "warm-up", 1);
    const submit = await countRoundTrips(() => skewed.submit(board, "p", 5));
    expect(submit.requests).toBe(2);
    expect(submit.result.periods[0]?.version).toBe(today);
    const read = await countRoundTrips(() => skewed.top(board));
    expect(read.requests).toBe(2);
    expect(read.result).toMatchObject({ version: today, total: 2 });
  });

  it("a version whose entry hash was evicted starts afresh instead of duplicating members", async () => {
    const { lb, board } = fresh({ periods: ["all-time"] });
    await lb.submitMany(board, [{ member: "a", score: 1 }, { member: "b", score: 2 }]);
    await testRedis().del(leaderboardKeys(PREFIX).version(board, versionAt("all-time", 0)).entry);
    await lb.submit(board, "a", 3);
    expect((await lb.top(board)).entries).toEqual([{ rank: 1, member: "a", score: 3 }]);
    expect((await lb.top(board, { ranking: "dense" })).entries[0]?.rank).toBe(1);
  });
});

describe("when Redis is unreachable", () => {
  it("submits and reads fail with an unavailability error on a 5xx and on a timeout", async () => {
    const { lb, board } = fresh({}, testRedis({ timeoutMs: 200 }));
    // 5xx answers; then answers that would come after 3 s, which only the timeout can refuse.
    for (const faults of [{ down: "5xx" as const }, { latencyMs: 3000 }]) {
      await setFaults(faults);
      for (const call of [() => lb.submit(board, "p", 1), () => lb.top(board)]) {
        const error = await call().catch((e: unknown) => e);
        expect({ faults, unavailable: isRedisUnavailable(error) }).toEqual({ faults, unavailable: true });
      }
    }
  });
});
