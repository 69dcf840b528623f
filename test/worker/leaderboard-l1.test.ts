import { describe, expect, it } from "vitest";
import { DEFAULT_BOARD, LeaderboardL1, Leaderboards, type BoardConfig, type MemberStanding } from "../../shared/leaderboard";
import { api, countRoundTrips, json, sleep, slowReplies, testRedis, uniqueName } from "./helpers";
import { PREFIX } from "./leaderboard-helpers";
import { callWorker } from "./rate-helpers";

/**
 * Hot reads of leaderboards from the isolate's memory. Each simulated isolate is a
 * `Leaderboards` with its own L1 over the same Redis.
 */
function isolate(l1 = new LeaderboardL1(), settings: Partial<BoardConfig> = {}, redis = testRedis()) {
  const config: BoardConfig = { ...DEFAULT_BOARD, ...settings };
  return { lb: new Leaderboards(redis, { prefix: PREFIX, boards: () => config, l1 }), l1 };
}

async function seed(lb: Leaderboards, board: string, members = 12): Promise<void> {
  const entries = Array.from({ length: members }, (_, i) => ({ member: `m${i}`, score: 100 + i }));
  expect(await lb.submitMany(board, entries)).toMatchObject({ accepted: true });
}

const topScore = async (lb: Leaderboards, board: string, maxStaleMs: number) => (await lb.top(board, { limit: 10, maxStaleMs })).entries[0]?.score;

describe("leaderboard L1", () => {
  it("a hot top 10 costs no request within the bound, and one after it", async () => {
    const { lb } = isolate();
    const board = uniqueName("hot");
    await seed(lb, board);
    await lb.top(board, { limit: 10 }); // Redis learns the script (EVALSHA, NOSCRIPT, EVAL) outside the count
    // The first read and the hot ones run back to back inside one count: reading the counters is
    // I/O, which moves the Workers clock, and may wait for a quiet endpoint.
    const reads = await countRoundTrips(async () => {
      const first = await lb.top(board, { limit: 10, maxStaleMs: 300 });
      expect(first.l1).toBeUndefined(); // from Redis
      for (let i = 0; i < 20; i++) {
        const page = await lb.top(board, { limit: 10, maxStaleMs: 300 });
        expect(page.l1).toBeDefined();
        expect(page.entries.map((e) => e.member)).toEqual(first.entries.map((e) => e.member));
      }
    });
    expect(reads.requests).toBe(1);
    await sleep(350);
    const after = await countRoundTrips(() => lb.top(board, { limit: 10, maxStaleMs: 300 }));
    expect(after.requests).toBe(1);
    expect(after.result.l1).toBeUndefined();
  });

  it("each read is its own copy: another page, period, ranking or member is asked of Redis", async () => {
    const { lb } = isolate();
    const board = uniqueName("hot");
    await seed(lb, board);
    await lb.top(board, { limit: 10, maxStaleMs: 60_000 });
    for (const other of [{ limit: 5 }, { offset: 1 }, { period: "daily" as const }, { ranking: "dense" as const }]) {
      const read = await countRoundTrips(() => lb.top(board, { limit: 10, ...other, maxStaleMs: 60_000 }));
      expect(read.requests).toBe(1);
    }
    await lb.member(board, "m3", { around: 2, maxStaleMs: 60_000 });
    const again = await countRoundTrips(() => lb.member(board, "m3", { around: 2, maxStaleMs: 60_000 }));
    expect(again.requests).toBe(0);
    expect((again.result as MemberStanding).score).toBe(103);
    expect((await countRoundTrips(() => lb.member(board, "m4", { around: 2, maxStaleMs: 60_000 }))).requests).toBe(1);
    // Without maxStaleMs, every read asks Redis.
    expect((await countRoundTrips(() => lb.top(board, { limit: 10 }))).requests).toBe(1);
  });

  it("a submit, a removal or a delete through the same isolate is seen at once", async () => {
    const { lb } = isolate();
    const board = uniqueName("hot");
    await seed(lb, board);
    expect(await topScore(lb, board, 60_000)).toBe(111);
    await lb.submit(board, "m0", 500);
    expect(await topScore(lb, board, 60_000)).toBe(500);
    expect(((await lb.member(board, "m0", { maxStaleMs: 60_000 })) as MemberStanding).rank).toBe(1);
    await lb.submitMany(board, [{ member: "m1", score: 900 }]);
    expect(await topScore(lb, board, 60_000)).toBe(900);
    await lb.removeMember(board, "m1");
    expect(await topScore(lb, board, 60_000)).toBe(500);
    expect(await lb.member(board, "m1", { maxStaleMs: 60_000 })).toBeNull();
    await lb.deleteBoard(board);
    expect((await lb.top(board, { maxStaleMs: 60_000 })).total).toBe(0);
  });

  it("a read that raced a submit of the same isolate keeps nothing", async () => {
    const { lb } = isolate();
    const board = uniqueName("hot");
    await seed(lb, board);
    const read = lb.top(board, { limit: 10, maxStaleMs: 60_000 });
    const change = lb.submit(board, "m0", 700);
    await Promise.all([read, change]);
    expect(await topScore(lb, board, 60_000)).toBe(700);
  });

  it("concurrent readers that find no copy share one read from Redis", async () => {
    const { lb } = isolate();
    const board = uniqueName("hot");
    await seed(lb, board);
    await lb.top(board, { limit: 10 }); // the script is known to Redis before the count
    const herd = await countRoundTrips(() => Promise.all(Array.from({ length: 8 }, () => lb.top(board, { limit: 10, maxStaleMs: 60_000 }))));
    expect(herd.requests).toBe(1);
    expect(new Set(herd.result.map((page) => page.entries[0]?.member))).toEqual(new Set(["m11"]));
  });

  it("an answer that is not kept (absent, too deep for dense ranks) reaches every concurrent reader as it is", async () => {
    const { lb } = isolate();
    const board = uniqueName("hot");
    const entries = Array.from({ length: 100 }, (_, i) => ({ member: `d${i}`, score: i }));
    for (let i = 0; i < 11; i++) await lb.submitMany(board, entries.map((e) => ({ ...e, member: `${e.member}-${i}` })));
    const deep = await Promise.all(Array.from({ length: 4 }, () => lb.member(board, "d0-0", { ranking: "dense", maxStaleMs: 60_000 })));
    for (const answer of deep) expect(answer).toMatchObject({ tooDeep: true });
    const absent = await Promise.all(Array.from({ length: 4 }, () => lb.member(board, "nobody", { maxStaleMs: 60_000 })));
    expect(absent).toEqual([null, null, null, null]);
  });

  it("a submit elsewhere is seen within the bound, and never later", async () => {
    const a = isolate();
    const b = isolate();
    const board = uniqueName("hot");
    const bound = 400;
    await seed(a.lb, board);
    expect(await topScore(a.lb, board, bound)).toBe(111);
    expect(((await a.lb.member(board, "m5", { maxStaleMs: bound })) as MemberStanding).score).toBe(105);
    await b.lb.submit(board, "m5", 1000);
    const submittedAt = Date.now();
    for (;;) {
      // When the reads are asked is what the bound is about: an old answer from memory is given
      // at once, while the other read of the pair may still be waiting for Redis.
      const askedAt = Date.now();
      const [score, standing] = await Promise.all([topScore(a.lb, board, bound), a.lb.member(board, "m5", { maxStaleMs: bound })]);
      const seenTop = score === 1000;
      const seenMember = (standing as MemberStanding).score === 1000;
      if (!seenTop || !seenMember) expect(askedAt - submittedAt).toBeLessThanOrEqual(bound);
      if (seenTop && seenMember) break;
      await sleep(25);
    }
    expect(Date.now() - submittedAt).toBeLessThanOrEqual(bound + 1000);
  });

  it("a slow reply does not stretch the bound: it counts from when the read was sent", async () => {
    let now = Date.now();
    const { redis, beforeNextReply } = slowReplies();
    const { lb: a } = isolate(new LeaderboardL1(1 << 20, () => now), {}, redis);
    const b = isolate();
    const board = uniqueName("hot");
    const bound = 1_000;
    await seed(b.lb, board);
    // Redis answers A's read; then B submits, and the reply takes 800 ms to reach A.
    const sentAt = now;
    beforeNextReply(async () => {
      await b.lb.submit(board, "m5", 1000);
      now += 800;
    });
    expect(await topScore(a, board, bound)).toBe(111);
    now = sentAt + bound - 50;
    expect(await topScore(a, board, bound)).toBe(111); // within the bound of the submit
    now = sentAt + bound + 50;
    expect(await topScore(a, board, bound)).toBe(1000); // not the reply's arrival + bound
  });

  it("never shows a daily page past the end of its day, whatever the bound", async () => {
    let skip = 0; // moves only the L1's clock: the core keeps reading today's version
    const l1 = new LeaderboardL1(1 << 20, () => Date.now() + skip);
    const { lb } = isolate(l1);
    const board = uniqueName("hot");
    const forever = Number.MAX_SAFE_INTEGER;
    const page = await lb.top(board, { period: "daily", maxStaleMs: forever });
    expect((await countRoundTrips(() => lb.top(board, { period: "daily", maxStaleMs: forever }))).requests).toBe(0);
    const endOfDay = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000;
    skip = endOfDay - Date.now() + 100;
    const next = await countRoundTrips(() => lb.top(board, { period: "daily", maxStaleMs: forever }));
    expect(next.requests).toBe(1);
    expect(next.result.l1).toBeUndefined();
    expect(next.result.version).toBe(page.version);
  });

  it("stays within its byte budget under a stream of distinct boards and members", async () => {
    const l1 = new LeaderboardL1(40_000);
    const { lb } = isolate(l1);
    const board = uniqueName("hot");
    await seed(lb, board, 30);
    for (let i = 0; i < 60; i++) {
      await lb.top(`${board}-${i}`, { limit: 10, maxStaleMs: 60_000 });
      await lb.member(board, `m${i % 30}`, { around: 5, maxStaleMs: 60_000 });
      await lb.top(board, { limit: 10, offset: i % 20, maxStaleMs: 60_000 });
      expect(l1.bytes).toBeLessThanOrEqual(40_000);
    }
    expect(l1.size).toBeGreaterThan(0);
    expect(l1.size).toBeLessThan(180);
    // The most recently used copy is still there.
    expect((await countRoundTrips(() => lb.top(board, { limit: 10, offset: 59 % 20, maxStaleMs: 60_000 }))).requests).toBe(0);
  });

  it("refuses a bound that is not a number of milliseconds, before any request", async () => {
    const { lb } = isolate();
    await expect(lb.top(uniqueName("hot"), { maxStaleMs: -1 })).rejects.toMatchObject({ name: "InvalidInputError", field: "maxStaleMs" });
    await expect(lb.member(uniqueName("hot"), "m", { maxStaleMs: Number.NaN })).rejects.toMatchObject({ field: "maxStaleMs" });
    const off = new Leaderboards(testRedis(), { prefix: PREFIX, l1: false });
    await expect(off.top(uniqueName("hot"), { maxStaleMs: Number.POSITIVE_INFINITY })).rejects.toMatchObject({ field: "maxStaleMs" });
  });
});

describe("GET /v1/leaderboards with Cache-Control: max-stale", () => {
  const path = (board: string, rest = "") => `/v1/leaderboards/${encodeURIComponent(board)}${rest}`;

  it("answers HIT-L1 with the copy's Age and no request; a submit through this isolate shows at once; no-cache asks Redis", async () => {
    const board = uniqueName("l1http");
    expect((await api(path(board, "/scores"), json({ member: "alice", score: 10 }))).status).toBe(200);
    const get = (rest = "?limit=10", cc = "max-stale=5") => api(path(board, rest), { headers: { "Cache-Control": cc } });
    const first = await get();
    expect(first.headers.get("X-Cache")).toBe("MISS");
    expect(first.headers.get("Age")).toBeNull();
    const second = await countRoundTrips(get);
    expect(second.requests).toBe(0);
    expect(second.result.headers.get("X-Cache")).toBe("HIT-L1");
    expect(second.result.headers.get("Age")).toMatch(/^\d+$/);
    const body = await second.result.json<Record<string, unknown>>();
    expect(body).toMatchObject({ board, total: 1, entries: [{ member: "alice", score: 10, rank: 1 }] });
    expect(body).not.toHaveProperty("l1");

    expect((await api(path(board, "/scores"), json({ member: "bob", score: 20 }))).status).toBe(200);
    const third = await get();
    expect(third.headers.get("X-Cache")).toBe("MISS");
    expect(await third.json()).toMatchObject({ total: 2, entries: [{ member: "bob" }, { member: "alice" }] });

    const member = () => get("/members/alice?around=1");
    expect((await member()).headers.get("X-Cache")).toBe("MISS");
    const memberAgain = await countRoundTrips(member);
    expect(memberAgain.requests).toBe(0);
    expect(memberAgain.result.headers.get("X-Cache")).toBe("HIT-L1");
    expect(await memberAgain.result.json()).toMatchObject({ member: "alice", rank: 2, around: [{ member: "bob" }, { member: "alice" }] });

    const noCache = await countRoundTrips(() => get("?limit=10", "no-cache"));
    expect(noCache.requests).toBe(1);
    expect(noCache.result.headers.get("X-Cache")).toBe("MISS");
    // Without max-stale (and LEADERBOARD_L1_MS unset), every read asks Redis.
    expect((await countRoundTrips(() => api(path(board, "?limit=10")))).requests).toBe(1);
  });

  it("LEADERBOARD_L1_MS sets a default bound; an invalid one is a 500 naming it", async () => {
    const board = uniqueName("l1http");
    const call = (vars: Partial<Cloudflare.Env>, init: RequestInit = {}) => callWorker(path(board), init, vars);
    const withDefault = { LEADERBOARD_L1_MS: "5000" };
    expect((await call(withDefault)).headers.get("X-Cache")).toBe("MISS");
    expect((await call(withDefault)).headers.get("X-Cache")).toBe("HIT-L1");
    expect((await call(withDefault, { headers: { "Cache-Control": "no-cache" } })).headers.get("X-Cache")).toBe("MISS");
    const bad = await call({ LEADERBOARD_L1_MS: "soon" });
    expect(bad.status).toBe(500);
    expect(await bad.json()).toMatchObject({ type: "urn:problem:misconfigured", detail: expect.stringContaining("LEADERBOARD_L1_MS") });
  });
});
