import { cacheGet, cacheInvalidate, cachePut, cacheSchedule, hotRead, hotWrite, proxyGet } from "./cache-ops";
import type { SoakContext } from "./context";
import { lockCycle, semaphoreCycle } from "./lock-ops";
import { RATE_POLICIES, rateCheck } from "./rate";
import { counterHit, leaderboardMember, leaderboardSubmit, leaderboardTop } from "./score-ops";

export { names, type SoakContext } from "./context";

/**
 * The soak's mixed load: every feature at once, over the HTTP API, with names unique to the
 * run. Each client loop picks operations by weight; every answer is recorded, and every write
 * the service acknowledged goes to the ledger that the invariants check at the end. Beside the
 * clients, two event-stream subscribers and the cron ticker run for the whole load
 * (`events.ts`, `cron.ts`).
 */

/** Each operation and its share of the load (weights, out of their sum). */
const MIX: readonly { operations: readonly string[]; weight: number; run: (ctx: SoakContext, i: number) => Promise<void> }[] = [
  { operations: ["cache.get"], weight: 18, run: cacheGet },
  { operations: ["cache.get-l1"], weight: 12, run: hotRead },
  { operations: ["cache.put"], weight: 7, run: cachePut },
  { operations: ["cache.put-l1"], weight: 1, run: hotWrite },
  { operations: ["cache.invalidate"], weight: 2, run: cacheInvalidate },
  { operations: ["cache.schedule"], weight: 2, run: cacheSchedule },
  { operations: ["proxy.get"], weight: 8, run: proxyGet },
  ...RATE_POLICIES.map((policy) => ({ operations: [policy.operation], weight: 3, run: rateCheck(policy) })),
  { operations: ["counter.hit"], weight: 12, run: counterHit },
  { operations: ["leaderboard.submit"], weight: 10, run: leaderboardSubmit },
  { operations: ["leaderboard.top"], weight: 5, run: leaderboardTop },
  { operations: ["leaderboard.member"], weight: 3, run: leaderboardMember },
  { operations: ["lock.acquire", "lock.section-read", "lock.section-write", "lock.release"], weight: 7, run: lockCycle },
  { operations: ["semaphore.acquire", "semaphore.status", "semaphore.release"], weight: 5, run: semaphoreCycle },
];
const TOTAL_WEIGHT = MIX.reduce((sum, entry) => sum + entry.weight, 0);

/** Operations that run beside the clients: the event streams' connections and the cron firings. */
const BACKGROUND: readonly string[] = ["events.connect", "cache.cron"];

/** Every operation name the report must show. */
export const OPERATIONS: readonly string[] = [...MIX.flatMap((entry) => entry.operations), ...BACKGROUND];

/**
 * Step `i` of the load: the first steps take each operation once, in order, so that even a
 * short or slow run reports every one; then operations are picked by weight.
 */
export function step(ctx: SoakContext, i: number): Promise<void> {
  if (i < MIX.length) return MIX[i]!.run(ctx, i);
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const entry of MIX) {
    roll -= entry.weight;
    if (roll < 0) return entry.run(ctx, i);
  }
  return MIX[0]!.run(ctx, i);
}
