import { describe, expect, it, onTestFinished } from "vitest";
import { exponentialJitter, Locks } from "../../shared/lock";
import { testRedis, uniqueName } from "./helpers";

const CLIENTS = 50;
const CYCLES = 200;

describe("mutual exclusion under contention", () => {
  // 10,000 contended grants take 1-2 minutes on a quiet machine, several on a busy one.
  it(`${CLIENTS} clients × ${CYCLES} cycles: never two holders, fences increase in grant order`, { timeout: 480_000 }, async () => {
    const name = uniqueName("mutex");
    // Should the test fail or time out, its clients stop instead of loading the files that run next.
    let finished = false;
    onTestFinished(() => {
      finished = true;
    });
    let inside = 0;
    let most = 0;
    let counter = 0; // updated non-atomically: a second holder would lose increments
    const fences: number[] = [];

    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        // Each client has its own Redis client, as separate Workers would. The timeout is shorter
        // than the helper's 5 s because each pending request holds a timer and workerd caps live
        // timers at 10,000; 3 s still leaves room for a machine busy with other test runs.
        const locks = new Locks(testRedis({ retries: 1, timeoutMs: 3000 }), {
          backoff: exponentialJitter({ baseMs: 4, maxMs: 40 }),
        });
        for (let cycle = 0; cycle < CYCLES && !finished; cycle++) {
          // Polling locks are not fair: under constant contention a waiter can use up its whole
          // waitMs and come back busy (a correct outcome), so it simply asks again.
          let lease = await locks.acquire(name, { ttlMs: 10_000, waitMs: 10_000 });
          while (!lease.acquired && !finished) lease = await locks.acquire(name, { ttlMs: 10_000, waitMs: 10_000 });
          if (!lease.acquired) return;
          inside++;
          most = Math.max(most, inside);
          fences.push(lease.fence);
          const seen = counter;
          // Yield to the event loop inside the critical section, so another holder could interleave.
          await new Promise((resolve) => setTimeout(resolve, 0));
          counter = seen + 1;
          inside--;
          const released = await locks.release(name, lease.token);
          if (!released.released) throw new Error(`release failed: ${released.reason}`);
        }
      }).map((client) => client.catch((error: unknown) => ((finished = true), Promise.reject(error)))),
    );

    expect(most).toBe(1);
    expect(counter).toBe(CLIENTS * CYCLES);
    expect(fences).toHaveLength(CLIENTS * CYCLES);
    for (let i = 1; i < fences.length; i++) {
      if (!(fences[i]! > fences[i - 1]!)) throw new Error(`fence ${i} (${fences[i]}) is not above fence ${i - 1} (${fences[i - 1]})`);
    }
  });
});
