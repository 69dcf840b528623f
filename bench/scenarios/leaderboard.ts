import { expectStatus, type BenchContext, type Scenario } from "../scenario";

/**
 * Leaderboard scenarios on one unconfigured board (so the defaults: all-time, daily, weekly
 * and monthly), seeded with MEMBERS members by batch submits before the first scenario.
 * Every operation is one Lua script, so one REST request to Redis for the leaderboard itself.
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
    name: "GET top 10",
    setup: seed,
    run: async (ctx) => expectStatus(await ctx.call(`/v1/leaderboards/${boardOf(ctx)}?limit=10`), 200),
  },
  {
    group: "leaderboard",
    name: "GET member around=5",
    setup: seed,
    run: async (ctx, i) =>
      expectStatus(await ctx.call(`/v1/leaderboards/${boardOf(ctx)}/members/${memberOf(i * 31)}?around=5`), 200),
  },
];
