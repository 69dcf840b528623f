import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidInputError, isRedisUnavailable } from "../../shared/errors";
import { DEFAULT_BOARD, Leaderboards, type LeaderboardClient } from "../../shared/leaderboard";
import { clearFaults, countRoundTrips, setFaults, testRedis, uniqueName } from "./helpers";
import { accepted, ALL_PERIODS, fresh, order, PREFIX, standing } from "./leaderboard-helpers";

afterEach(clearFaults);

describe("the core", () => {
  it("refuses a client that parses replies as JSON, when it is built", () => {
    const parsing = new Redis({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! });
    expect(() => new Leaderboards(parsing)).toThrow(TypeError);
    expect(() => new Leaderboards(testRedis())).not.toThrow();
  });

  it("writes under the default prefix when given none", async () => {
    const board = uniqueName("board");
    const redis = testRedis();
    accepted(await new Leaderboards(redis, { boards: () => ({ ...DEFAULT_BOARD, periods: ["all-time"] }) }).submit(board, "p", 1));
    expect(await redis.exists(`erf:lb:state:${board}`, `erf:lb:rank:${board}:all-time`)).toBe(2);
    await redis.del(`erf:lb:state:${board}`, `erf:lb:rank:${board}:all-time`);
  });
});

describe("modes", () => {
  it("best keeps the higher score on desc boards and returns the stored score and rank", async () => {
    const { lb, board } = fresh();
    expect(await lb.submit(board, "a", 50)).toMatchObject({ accepted: true, score: 50, rank: 1, replayed: false });
    expect(await lb.submit(board, "b", 70)).toMatchObject({ score: 70, rank: 1 });
    expect(await lb.submit(board, "a", 40)).toMatchObject({ score: 50, rank: 2 });
    const improved = accepted(await lb.submit(board, "a", 90));
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
    const score = async (value: number, mode?: "last" | "min") => accepted(await lb.submit(board, "s", value, mode ? { mode } : {})).score;
    await score(0.1);
    expect(await score(0.2)).toBe(0.3);
    expect(await score(-1.3)).toBe(-1);
    expect(await score(5, "last")).toBe(5);
    expect(await score(9, "min")).toBe(5);
    expect(await score(2, "min")).toBe(2);
  });

  it("a sum leaving ±1e12 is refused as a result and changes nothing, in any period", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    await lb.submit(board, "big", 999_999_999_999);
    expect(await lb.submit(board, "big", 2)).toEqual({ accepted: false, reason: "overflow", entry: 0, field: "score", period: "all-time" });
    for (const period of ALL_PERIODS) {
      expect((await standing(lb, board, "big", { period }))?.score).toBe(999_999_999_999);
    }
  });
});

describe("concurrency", () => {
  it("K concurrent sum submits from separate clients add up exactly in every period", async () => {
    const { lb, board, config } = fresh({ mode: "sum" });
    const K = 40;
    await Promise.all(
      Array.from({ length: K }, (_, i) => new Leaderboards(testRedis(), { prefix: PREFIX, boards: () => config }).submit(board, "team", i % 2 ? 0.5 : 1.25)),
    );
    const expected = (K / 2) * 0.5 + (K / 2) * 1.25;
    for (const period of ALL_PERIODS) {
      expect((await standing(lb, board, "team", { period }))?.score).toBe(expected);
    }
  });

  it("concurrent best submits keep the best, and every caller sees a consistent rank", async () => {
    const { lb, board } = fresh();
    const scores = Array.from({ length: 40 }, (_, i) => ((i * 37) % 40) + 1); // 1..40 shuffled
    const results = await Promise.all(scores.map((score) => new Leaderboards(testRedis(), { prefix: PREFIX }).submit(board, "p", score)));
    // Each caller sees the best stored so far: at least its own score, never a lost update.
    results.forEach((result, i) => expect({ score: accepted(result).score >= scores[i]!, rank: accepted(result).rank }).toEqual({ score: true, rank: 1 }));
    expect((await standing(lb, board, "p"))?.score).toBe(40);
    expect(await lb.count(board)).toBe(1);
  });

  it("members tied by concurrent callers rank in arrival order: each caller's rank is its place in the final board", async () => {
    const { lb, board, config } = fresh();
    const K = 40;
    const results = await Promise.all(
      Array.from({ length: K }, (_, i) => new Leaderboards(testRedis(), { prefix: PREFIX, boards: () => config }).submit(board, `m${i}`, 100)),
    );
    // A tie joins behind those already holding the score, so the rank each caller was told is
    // its place for good: the ranks are 1..K, once each, and the board lists them in that order.
    const told = results.map((r, i) => ({ member: `m${i}`, rank: accepted(r).rank! })).sort((a, b) => a.rank - b.rank);
    expect(told.map((t) => t.rank)).toEqual(Array.from({ length: K }, (_, i) => i + 1));
    expect(await order(lb, board)).toEqual(told.map((t) => t.member));
    for (const period of ALL_PERIODS) expect(await order(lb, board, period)).toEqual(told.map((t) => t.member));
  });

  it("concurrent batches over the same members list each member once, with the right totals", async () => {
    const { lb, board, config } = fresh({ mode: "sum" });
    const members = ["a", "b", "c", "d", "e"];
    await Promise.all(
      Array.from({ length: 20 }, (_, k) =>
        new Leaderboards(testRedis(), { prefix: PREFIX, boards: () => config }).submitMany(
          board,
          members.map((member, j) => ({ member, score: j + 1, ...(k % 4 === 0 ? { name: `${member}-${k}` } : {}) })),
        ),
      ),
    );
    for (const period of ALL_PERIODS) {
      const page = await lb.top(board, { period });
      expect(page.total).toBe(5);
      expect(page.entries.map((e) => [e.member, e.score])).toEqual([["e", 100], ["d", 80], ["c", 60], ["b", 40], ["a", 20]]);
    }
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
    // Submitting the score one already holds does not lose one's place; nor does a new name.
    await lb.submit(board, "zoe", 100, { mode: "last" });
    await lb.submit(board, "mia", 90, { name: "Mia" }); // best: no change of score
    expect(await order(lb, board)).toEqual(["zoe", "mia", "abe", "aaa"]);
    expect((await standing(lb, board, "abe"))?.rank).toBe(3);
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
    accepted(await lb.submitMany(board, scores.map(([member, score]) => ({ member, score }))));
    return { lb, board };
  }

  it("ordinal (default), competition and dense ranks of a whole board", async () => {
    const { lb, board } = await tiedBoard();
    const ranks = async (ranking?: "ordinal" | "competition" | "dense") => (await lb.top(board, ranking ? { ranking } : {})).entries.map((e) => e.rank);
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
    expect((await standing(lb, board, "f", { ranking: "competition", around: 1 }))?.around.map((e) => e.rank)).toEqual([4, 4, 7]);
    expect((await standing(lb, board, "c", { ranking: "dense", around: 0 }))?.rank).toBe(2);
    expect((await standing(lb, board, "g", { ranking: "dense", around: 2 }))?.around.map((e) => [e.member, e.rank])).toEqual([["e", 3], ["f", 3], ["g", 4]]);
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

  it(`dense ranks reach the first 1000 positions: deeper, a member read is refused as a result and a page before any request`, async () => {
    const { lb, board } = fresh({ periods: ["all-time"] });
    // 1001 members, two per score: dense rank = ceil(position / 2).
    for (let start = 0; start < 1001; start += 100) {
      const entries = Array.from({ length: Math.min(100, 1001 - start) }, (_, j) => ({ member: `m${start + j}`, score: 10_000 - Math.floor((start + j) / 2) }));
      accepted(await lb.submitMany(board, entries));
    }
    expect((await standing(lb, board, "m999", { ranking: "dense", around: 1 }))?.around.map((e) => [e.member, e.rank])).toEqual([
      ["m998", 500],
      ["m999", 500],
      ["m1000", 501],
    ]);
    expect(await lb.member(board, "m1000", { ranking: "dense" })).toEqual({ tooDeep: true, position: 1001 });
    expect((await standing(lb, board, "m1000", { ranking: "competition", around: 0 }))?.rank).toBe(1001);
    const page = (await lb.top(board, { ranking: "dense", offset: 999, limit: 2 })).entries.map((e) => e.rank);
    expect(page).toEqual([500, 501]);
    const deep = await countRoundTrips(() => lb.top(board, { ranking: "dense", offset: 1000 }).catch((e: unknown) => e));
    expect(deep.result).toBeInstanceOf(InvalidInputError);
    expect((deep.result as InvalidInputError).field).toBe("offset");
    expect(deep.requests).toBe(0);
  });
});

describe("a member with neighbours", () => {
  it("around at the top, the bottom, in the middle, and on a board of one", async () => {
    const { lb, board } = fresh();
    await lb.submitMany(board, ["a", "b", "c", "d", "e", "f"].map((member, i) => ({ member, score: 60 - i * 10 })));
    const around = async (member: string, n: number) => {
      const read = await standing(lb, board, member, { around: n });
      return { rank: read?.rank, total: read?.total, around: read?.around.map((e) => `${e.member}${e.rank}`) };
    };
    expect(await around("a", 2)).toEqual({ rank: 1, total: 6, around: ["a1", "b2", "c3"] });
    expect(await around("f", 2)).toEqual({ rank: 6, total: 6, around: ["d4", "e5", "f6"] });
    expect(await around("c", 1)).toEqual({ rank: 3, total: 6, around: ["b2", "c3", "d4"] });
    expect(await around("d", 0)).toEqual({ rank: 4, total: 6, around: ["d4"] });
    expect(await lb.member(board, "nobody")).toBeNull();

    const single = fresh();
    await single.lb.submit(single.board, "solo", 1, { name: "Solo" });
    const solo = await standing(single.lb, single.board, "solo", { around: 50 });
    expect(solo).toMatchObject({ rank: 1, score: 1, name: "Solo", total: 1 });
    expect(solo?.around).toEqual([{ rank: 1, member: "solo", score: 1, name: "Solo" }]);
  });
});

describe("idempotency", () => {
  it("the same key twice counts once, a different key counts again (sum)", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    const first = accepted(await lb.submit(board, "p", 5, { idempotencyKey: "match-1" }));
    const again = await lb.submit(board, "p", 5, { idempotencyKey: "match-1" });
    expect(again).toEqual({ ...first, replayed: true });
    expect((await standing(lb, board, "p"))?.score).toBe(5);
    expect(accepted(await lb.submit(board, "p", 5, { idempotencyKey: "match-2" })).score).toBe(10);
    expect((await standing(lb, board, "p", { period: "daily" }))?.score).toBe(10);
  });

  it("a repeat is applied once in every mode, even after the score moved on", async () => {
    for (const mode of ["best", "sum", "last", "min"] as const) {
      const { lb, board } = fresh();
      await lb.submit(board, "p", 9, { mode, idempotencyKey: "k1" });
      await lb.submit(board, "p", 3, { mode: "last", idempotencyKey: "k2" });
      const repeat = accepted(await lb.submit(board, "p", 9, { mode, idempotencyKey: "k1" }));
      expect({ mode, replayed: repeat.replayed, stored: (await standing(lb, board, "p"))?.score }).toEqual({ mode, replayed: true, stored: 3 });
    }
  });

  it("a key reused for a different submission is refused as a conflict and changes nothing", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    await lb.submit(board, "p", 5, { idempotencyKey: "k" });
    expect(await lb.submit(board, "p", 6, { idempotencyKey: "k" })).toEqual({ accepted: false, reason: "conflict", entry: 0, field: "idempotencyKey" });
    expect(await lb.submitMany(board, [{ member: "q", score: 1 }, { member: "p", score: 7, idempotencyKey: "k" }])).toEqual({
      accepted: false,
      reason: "conflict",
      entry: 1,
      field: "entries.1.idempotencyKey",
    });
    expect((await lb.top(board)).entries.map((e) => [e.member, e.score])).toEqual([["p", 5]]);
  });

  it("a key used by a submit that changed nothing is still remembered", async () => {
    const { lb, board } = fresh();
    await lb.submit(board, "p", 10);
    accepted(await lb.submit(board, "p", 4, { idempotencyKey: "k" })); // best: 10 stays
    expect(await lb.submit(board, "p", 20, { idempotencyKey: "k" })).toMatchObject({ accepted: false, reason: "conflict" });
    expect((await standing(lb, board, "p"))?.score).toBe(10);
  });
});

describe("the client's own resend after a lost reply (no key given)", () => {
  it("does not count twice: the call is remembered in the member's state", async () => {
    const { lb, board } = fresh({ mode: "sum" }, testRedis({ retries: 1 }));
    await lb.submit(board, "p", 5); // warm: the next EVALSHA is applied for sure
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    const result = await lb.submit(board, "p", 5);
    expect(result).toMatchObject({ accepted: true, score: 10, replayed: true });
    await clearFaults();
    expect((await standing(lb, board, "p"))?.score).toBe(10);
  });

  /** A client whose first EVALSHA reply is "lost": it runs `meanwhile`, then sends the same request again. */
  function losingClient(meanwhile: () => Promise<unknown>): LeaderboardClient {
    const redis = testRedis();
    let lost = false;
    return {
      eval: redis.eval.bind(redis),
      del: redis.del.bind(redis),
      evalsha: (async (sha: string, keys: string[], args: string[]) => {
        const reply = await redis.evalsha(sha, keys, args);
        if (lost) return reply;
        lost = true;
        await meanwhile();
        return redis.evalsha(sha, keys, args);
      }) as LeaderboardClient["evalsha"],
    };
  }

  it("replays a whole batch even when other calls changed its members in between", async () => {
    const { lb, board, config } = fresh({ mode: "sum" });
    await lb.submit(board, "warm-up", 1);
    const others = async () => {
      for (let i = 0; i < 10; i++) accepted(await lb.submitMany(board, [{ member: "a", score: 100 }, { member: "b", score: 100 }]));
    };
    const losing = new Leaderboards(losingClient(others), { prefix: PREFIX, boards: () => config });
    const outcome = accepted(await losing.submitMany(board, [{ member: "a", score: 1 }, { member: "b", score: 2 }, { member: "a", score: 3 }]));
    expect(outcome.results.map((r) => [r.member, r.score, r.replayed])).toEqual([["a", 4, true], ["b", 2, true], ["a", 4, true]]);
    for (const period of ALL_PERIODS) {
      expect((await lb.top(board, { period })).entries.map((e) => [e.member, e.score])).toEqual([["a", 1004], ["b", 1002], ["warm-up", 1]]);
    }
  });
});

describe("caps, names and removal", () => {
  it("a capped board keeps only the best N; a member below the cap gets rank null", async () => {
    const { lb, board } = fresh({ cap: 3 });
    await lb.submitMany(board, [10, 20, 30, 40].map((score) => ({ member: `m${score}`, score })));
    expect(await order(lb, board)).toEqual(["m40", "m30", "m20"]);
    expect(await lb.submit(board, "low", 5)).toMatchObject({ score: 5, rank: null });
    expect(await lb.member(board, "low")).toBeNull();
    expect(await lb.submit(board, "high", 35)).toMatchObject({ rank: 2 }); // pushes m20 out
    expect(await order(lb, board, "weekly")).toEqual(["m40", "high", "m30"]);
    expect((await lb.top(board, { ranking: "dense" })).entries.map((e) => e.rank)).toEqual([1, 2, 3]);
    expect(await lb.count(board)).toBe(3);
    // A member pushed out comes back once it beats the cap, listed once.
    expect(await lb.member(board, "m20")).toBeNull();
    expect(await lb.submit(board, "m20", 50)).toMatchObject({ score: 50, rank: 1 });
    for (const period of ALL_PERIODS) expect(await order(lb, board, period)).toEqual(["m20", "m40", "high"]);
  });

  it("a cap lowered a long way trims by at most 200 members per submit that adds one", async () => {
    const { lb, board, config } = fresh({ periods: ["all-time"] });
    for (let start = 0; start < 300; start += 100) {
      accepted(await lb.submitMany(board, Array.from({ length: 100 }, (_, j) => ({ member: `m${start + j}`, score: start + j }))));
    }
    const lowered = new Leaderboards(testRedis(), { prefix: PREFIX, boards: () => ({ ...config, cap: 10 }) });
    expect(await lowered.submit(board, "new1", 1000)).toMatchObject({ rank: 1 });
    expect(await lb.count(board)).toBe(101);
    expect(await lowered.submit(board, "new2", 999)).toMatchObject({ rank: 2 });
    expect(await order(lb, board)).toEqual(["new1", "new2", ...Array.from({ length: 8 }, (_, i) => `m${299 - i}`)]);
    expect(await lb.member(board, "m291")).toBeNull();
  });

  it("a display name is the member's: kept when omitted, replaced everywhere when given", async () => {
    const { lb, board } = fresh();
    const long = "é".repeat(512); // 1024 bytes
    await lb.submit(board, "p", 1, { name: long });
    await lb.submit(board, "p", 2);
    expect((await standing(lb, board, "p", { period: "monthly" }))?.name).toBe(long);
    await lb.submit(board, "p", 1, { name: "Renamed" }); // best: the score stays 2
    for (const period of ALL_PERIODS) {
      expect((await lb.top(board, { period })).entries).toEqual([{ rank: 1, member: "p", score: 2, name: "Renamed" }]);
    }
    await expect(lb.submit(board, "p", 1, { name: `${long}x` })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("a rename reaches the retained versions of earlier periods, and a new version takes the name", async () => {
    const { lb, board } = fresh({ periods: ["daily", "all-time"] });
    const yesterday = Date.now() - 86_400_000;
    await lb.submit(board, "p", 7, { name: "Old", nowMs: yesterday });
    await lb.submit(board, "p", 3, { name: "New" });
    expect((await lb.top(board, { period: "daily", at: yesterday })).entries).toEqual([{ rank: 1, member: "p", score: 7, name: "New" }]);
    expect((await lb.top(board, { period: "daily" })).entries).toEqual([{ rank: 1, member: "p", score: 3, name: "New" }]);
    expect(await lb.removeMember(board, "p")).toBe(3);
    expect((await lb.top(board, { period: "daily", at: yesterday })).total).toBe(0);
  });

  it("remove takes a member out of every period; delete empties the board", async () => {
    const { lb, board } = fresh();
    await lb.submitMany(board, [{ member: "a", score: 3, name: "A" }, { member: "b", score: 2 }]);
    expect(await lb.removeMember(board, "a")).toBe(4);
    for (const period of ALL_PERIODS) expect(await order(lb, board, period)).toEqual(["b"]);
    expect(await lb.removeMember(board, "a")).toBe(0);
    await lb.deleteBoard(board);
    expect(await lb.count(board, { period: "daily" })).toBe(0);
    expect(await lb.submit(board, "a", 1)).toMatchObject({ rank: 1 });
  });
});

describe("batches", () => {
  it("apply atomically: a refused entry leaves the whole board unchanged", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    await lb.submit(board, "p", 999_999_999_000);
    const entries = [{ member: "q", score: 1 }, { member: "p", score: 500 }, { member: "p", score: 600 }];
    expect(await lb.submitMany(board, entries)).toEqual({ accepted: false, reason: "overflow", entry: 2, field: "entries.2.score", period: "all-time" });
    for (const period of ALL_PERIODS) {
      expect((await lb.top(board, { period })).entries.map((e) => [e.member, e.score])).toEqual([["p", 999_999_999_000]]);
    }
  });

  it("ranks are as of the end of the batch; repeated members combine in order", async () => {
    const { lb, board } = fresh({ mode: "sum" });
    const outcome = accepted(await lb.submitMany(board, [{ member: "a", score: 1 }, { member: "b", score: 5 }, { member: "a", score: 10 }]));
    expect(outcome.results.map((r) => [r.member, r.score, r.rank])).toEqual([["a", 11, 1], ["b", 5, 2], ["a", 11, 1]]);
  });

  it("a batch with too many entries or none is refused before any request", async () => {
    const { lb, board } = fresh();
    for (const entries of [[], Array.from({ length: 101 }, (_, i) => ({ member: `m${i}`, score: i }))]) {
      const { result, requests } = await countRoundTrips(() => lb.submitMany(board, entries).catch((e: unknown) => e));
      expect({ refused: result instanceof InvalidInputError, field: (result as InvalidInputError).field, requests }).toEqual({ refused: true, field: "entries", requests: 0 });
    }
  });
});

describe("clocks and eviction", () => {
  it("a Worker clock far from Redis's costs one more request, and Redis time still decides", async () => {
    const { lb: skewed, board } = fresh({ periods: ["daily", "all-time"] }, testRedis(), { clock: () => Date.now() - 10 * 86_400_000 });
    const today = new Date().toISOString().slice(0, 10);
    await skewed.submit(board, "warm-up", 1);
    const submit = await countRoundTrips(() => skewed.submit(board, "p", 5));
    expect(submit.requests).toBe(2);
    expect(accepted(submit.result).periods[0]?.version).toBe(today);
    // A read trusts the Worker's clock unless the board's last change proves it behind.
    const read = await countRoundTrips(() => skewed.top(board));
    expect(read.requests).toBe(2);
    expect(read.result).toMatchObject({ version: today, total: 2 });
  });

  it("a board whose state hash was evicted reads empty, then starts afresh instead of listing members twice", async () => {
    const { lb, board } = fresh({ periods: ["all-time", "daily"] });
    await lb.submitMany(board, [{ member: "a", score: 1 }, { member: "b", score: 2 }]);
    await testRedis().del(`${PREFIX}:lb:state:${board}`);
    expect(await lb.top(board)).toMatchObject({ total: 0, entries: [] });
    expect(await lb.member(board, "b")).toBeNull();
    expect(await lb.submit(board, "a", 3)).toMatchObject({ score: 3, rank: 1 });
    for (const period of ["all-time", "daily"] as const) {
      expect((await lb.top(board, { period })).entries).toEqual([{ rank: 1, member: "a", score: 3 }]);
    }
    expect((await lb.top(board, { ranking: "dense" })).entries[0]?.rank).toBe(1);
  });

  it("a member whose sorted set was evicted gets its entry back, with its score and place, on its next submit", async () => {
    const { lb, board } = fresh({ periods: ["all-time"] });
    await lb.submitMany(board, [{ member: "a", score: 5 }, { member: "b", score: 5 }, { member: "c", score: 9 }]);
    await testRedis().del(`${PREFIX}:lb:rank:${board}:all-time`);
    expect(await lb.submit(board, "b", 1)).toMatchObject({ score: 5, rank: 1 }); // best: 5 stays
    expect(await lb.submit(board, "a", 2)).toMatchObject({ score: 5, rank: 1 }); // a reached 5 before b
    expect(await lb.submit(board, "c", 10)).toMatchObject({ score: 10, rank: 1 });
    expect((await lb.top(board)).entries.map((e) => [e.member, e.score, e.rank])).toEqual([["c", 10, 1], ["a", 5, 2], ["b", 5, 3]]);
  });
});

describe("when Redis is unreachable", () => {
  it("submits and reads fail with an unavailability error on a 5xx and on a timeout", async () => {
    const { lb, board } = fresh({}, testRedis({ timeoutMs: 200 }));
    // 5xx answers; then answers that would come after 3 s, which only the timeout can refuse.
    for (const faults of [{ down: "5xx" as const }, { latencyMs: 3000 }]) {
      await setFaults(faults);
      for (const call of [() => lb.submit(board, "p", 1), () => lb.top(board), () => lb.member(board, "p")]) {
        const error = await call().catch((e: unknown) => e);
        expect({ faults, unavailable: isRedisUnavailable(error) }).toEqual({ faults, unavailable: true });
      }
    }
  });
});
