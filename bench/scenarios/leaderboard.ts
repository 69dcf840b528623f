import { coldIsolate, expectStatus, expectXCache, L1_OPERATIONS, type BenchContext, type Scenario } from "../scenario";

/**
 * Leaderboard scenarios on one unconfigured board (so the defaults: all-time, daily, weekly
 * and monthly), seeded with MEMBERS members by batch submits before the first scenario.
 * Every operation is one Lua script, so one REST request to Redis for the leaderboard itself.
 *
 * The submits: a mix (mode best, scores spread so that about half improve), then the two
 * ends of it measured apart: a best that never beats the stored score (nothing changes) and
 * a sum that changes the score in all four periods.
 *
 * The hot board's top 10 with L1: reads that accept a 1 s staleness, answered from the
 * isolate's memory but for one read from Redis per second; the row runs for several seconds,
 * so those reads are in its steady state. Its first call meets a cold isolate (the L1 emptied).
 */
const MEMBERS = 1000;
const BATCH = 100;

let seeded: Promise<void> | undefined;

const boardOf = (ctx: BenchContext) => `${ctx.runId}-leaderboard`;
const memberOf = (i: number) => `player-${i % MEMBERS}`;

/** Seeds the board once per run, whichever scenario runs first. */
function seed(ctx: BenchContext): Promise<void> {
  seeded ??= (async () => {
    for (let start = 0; start < MEMBERS; start += BATCH) {
      const entries = Array.from({ length: BATCH }, (_, j) => ({
        member: memberOf(start + j),
        score: ((start + j) * 7919) % 100_000, // spread, with some ties
        name: `Player ${start + j}`,
      }));
      const res = await ctx.call(`/v1/leaderboards/${boardOf(ctx)}/scores/batch`, {
        method: "POST",
        body: JSON.stringify({ entries }),
      });
      await expectStatus(res, 200);
    }
  })();
  return seeded;
}

export const scenarios: Scenario[] = [
  {
    group: "leaderboard",
    name: "POST scores (best, 4 periods)",
    setup: seed,
    run: async (ctx, i) => {
      const res = await ctx.call(`/v1/leaderboards/${boardOf(ctx)}/scores`, {
        method: "POST",
        body: JSON.stringify({ member: memberOf(i * 13), score: (i * 104_729) % 100_000 }),
      });
      await expectStatus(res, 200);
    },
  },
  {
    group: "leaderboard",
    name: "POST scores (best, not beaten: no change)",
    setup: seed,
    // Every seeded score is at least 0, so a best of -1 never changes anything.
    run: async (ctx, i) => {
      const res = await ctx.call(`/v1/leaderboards/${boardOf(ctx)}/scores`, {
        method: "POST",
        body: JSON.stringify({ member: memberOf(i * 7), score: -1 }),
      });
      await expectStatus(res, 200);
    },
  },
  {
    group: "leaderboard",
    name: "POST scores (sum: all 4 periods change)",
    setup: seed,
    run: async (ctx, i) => {
      const res = await ctx.call(`/v1/leaderboards/${boardOf(ctx)}/scores`, {
        method: "POST",
        body: JSON.stringify({ member: memberOf(i * 11), score: 1, mode: "sum" }),
      });
      await expectStatus(res, 200);
    },
  },
  {
    group: "leaderboard",
    name: "GET top 10",
    setup: seed,
    run: async (ctx) => expectStatus(await ctx.call(`/v1/leaderboards/${boardOf(ctx)}?limit=10`), 200),
  },
  {
    group: "leaderboard",
    name: "GET top 10 with L1 (max-stale=1, hot board)",
    setup: seed,
    operations: L1_OPERATIONS,
    beforeFirstCall: coldIsolate,
    run: async (ctx) => expectXCache(await ctx.call(`/v1/leaderboards/${boardOf(ctx)}?limit=10`, { headers: { "Cache-Control": "max-stale=1" } }), ["HIT-L1", "MISS"]),
  },
  {
    group: "leaderboard",
    name: "GET member around=5",
    setup: seed,
    run: async (ctx, i) =>
      expectStatus(await ctx.call(`/v1/leaderboards/${boardOf(ctx)}/members/${memberOf(i * 31)}?around=5`), 200),
  },
];
