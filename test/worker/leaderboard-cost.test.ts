import { describe, expect, it } from "vitest";
import { countRoundTrips, testRedis } from "./helpers";
import { accepted, billed, fresh } from "./leaderboard-helpers";

/**
 * What each operation costs on Upstash: REST requests (round trips) and billed commands (the
 * EVALSHA plus every call inside the script), on a default board (all-time, daily, weekly,
 * monthly). docs/leaderboards.md "Cost" lists the same numbers.
 */

/** A default board of 20 members, its scripts loaded (the EVALSHA of each will hit). */
async function seeded() {
  const { lb, board } = fresh();
  accepted(await lb.submitMany(board, Array.from({ length: 20 }, (_, i) => ({ member: `m${i}`, score: 100 + i, name: `M ${i}` }))));
  await lb.top(board);
  await lb.member(board, "m1");
  await lb.removeMember(board, "nobody");
  return { lb, board };
}

describe("one REST request per operation", () => {
  it("submit (all four periods), batch, top, member, count, remove and delete are one request each", async () => {
    const { lb, board } = await seeded();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["submit", () => lb.submit(board, "alice", 10, { name: "Alice" })],
      ["batch", () => lb.submitMany(board, Array.from({ length: 100 }, (_, i) => ({ member: `b${i}`, score: i })))],
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

describe("billed commands per operation (steady state)", () => {
  it("a submit that changes nothing: 7 (TIME, one HMGET, a ZREVRANK per period)", async () => {
    const { lb, board } = await seeded();
    const cost = await billed(async () => expect(await lb.submit(board, "m19", 1)).toMatchObject({ score: 119, rank: 1 }));
    expect(cost.byCommand).toEqual({ evalsha: 1, time: 1, hmget: 1, zrevrank: 4 });
  });

  it("a submit that changes the score in all four periods: 16 (a ZREM and a ZADD per period, one HSET)", async () => {
    const { lb, board } = await seeded();
    const cost = await billed(async () => expect(await lb.submit(board, "m0", 500)).toMatchObject({ score: 500, rank: 1 }));
    expect(cost.byCommand).toEqual({ evalsha: 1, time: 1, hmget: 1, zrem: 4, zadd: 4, zrevrank: 4, hset: 1 });
  });

  it("a new member: 15 (the dated versions it joins get their expiry)", async () => {
    const { lb, board } = await seeded();
    const cost = await billed(async () => expect(await lb.submit(board, "newcomer", 50)).toMatchObject({ rank: 21 }));
    expect(cost.byCommand).toEqual({ evalsha: 1, time: 1, hmget: 1, zadd: 4, pexpireat: 3, zrevrank: 4, hset: 1 });
  });

  it("a batch of n new members: 8n + 7", async () => {
    const { lb, board } = await seeded();
    const cost = await billed(async () => accepted(await lb.submitMany(board, Array.from({ length: 10 }, (_, i) => ({ member: `n${i}`, score: i })))));
    expect(cost.total).toBe(8 * 10 + 7);
    expect(cost.byCommand).toEqual({ evalsha: 1, time: 1, hmget: 1, zadd: 40, pexpireat: 3, zrevrank: 40, hset: 1 });
  });

  it("a repeat of an idempotency key: TIME, HMGET and its GET", async () => {
    const { lb, board } = await seeded();
    await lb.submit(board, "m3", 1, { idempotencyKey: "k" });
    const cost = await billed(async () => expect(await lb.submit(board, "m3", 1, { idempotencyKey: "k" })).toMatchObject({ replayed: true }));
    expect(cost.byCommand).toEqual({ evalsha: 1, time: 1, hmget: 1, get: 1 });
  });

  it("top 10: 4 (HGET of the board's mark, ZCARD, ZREVRANGE), and no more for dense ranks at offset 0", async () => {
    const { lb, board } = await seeded();
    for (const ranking of ["ordinal", "dense", "competition"] as const) {
      const cost = await billed(async () => expect((await lb.top(board, { limit: 10, ranking })).entries).toHaveLength(10));
      expect({ ranking, ...cost.byCommand }).toEqual({ ranking, evalsha: 1, hget: 1, zcard: 1, zrevrange: 1 });
    }
  });

  it("a member with 5 neighbours each side: 5 (HMGET, ZREVRANK, ZREVRANGE, ZCARD)", async () => {
    const { lb, board } = await seeded();
    const cost = await billed(async () => expect((await lb.member(board, "m10", { around: 5 }))).toMatchObject({ rank: 10 }));
    expect(cost.byCommand).toEqual({ evalsha: 1, hmget: 1, zrevrank: 1, zrevrange: 1, zcard: 1 });
  });

  it("a read within two minutes of a version boundary asks Redis TIME which version is current", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const endOfToday = Date.parse(`${today}T00:00:00Z`) + 86_400_000;
    // A Worker clock a minute before midnight offers today and tomorrow; Redis time picks today.
    const { lb, board } = fresh({ periods: ["daily"] }, testRedis(), { clock: () => endOfToday - 60_000 });
    accepted(await lb.submit(board, "p", 1));
    const read = await countRoundTrips(() => lb.top(board));
    expect(read.result).toMatchObject({ version: today, total: 1 });
    expect(read.requests).toBe(1);
    const cost = await billed(() => lb.top(board));
    expect(cost.byCommand).toEqual({ evalsha: 1, hget: 1, time: 1, zrevrange: 1 });
  });
});
