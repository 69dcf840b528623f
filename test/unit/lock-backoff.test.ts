import { describe, expect, it } from "vitest";
import { type Attempt, type Backoff, exponentialJitter, retryWithin } from "../../shared/lock/backoff";

/** A fake clock: sleeping and attempts advance it, nothing really waits. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => (now += ms),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
  };
}

const busy = (retryAfterMs?: number): Attempt<string, null> => ({ done: false, value: null, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });

describe("exponentialJitter", () => {
  it("doubles the ceiling up to maxMs and sleeps between half of it and all of it", () => {
    const low = exponentialJitter({ baseMs: 10, maxMs: 100, random: () => 0 });
    const high = exponentialJitter({ baseMs: 10, maxMs: 100, random: () => 0.999999 });
    expect([0, 1, 2, 3, 4, 20].map((n) => low.delayMs(n))).toEqual([5, 10, 20, 40, 50, 50]);
    expect(high.delayMs(0)).toBeCloseTo(10, 3);
    expect(high.delayMs(3)).toBeCloseTo(80, 3);
    expect(high.delayMs(50)).toBeCloseTo(100, 3);
  });

  it("spreads waiters that failed together", () => {
    const backoff = exponentialJitter({ baseMs: 10, maxMs: 1000 });
    const delays = new Set(Array.from({ length: 50 }, () => Math.round(backoff.delayMs(4) * 1000)));
    expect(delays.size).toBeGreaterThan(40);
  });
});

describe("retryWithin", () => {
  const fixed = (ms: number): Backoff => ({ delayMs: () => ms });

  it("never waits past the deadline: the last sleep is clipped, then one last attempt", async () => {
    const time = fakeTime();
    let attempts = 0;
    const outcome = await retryWithin(
      async () => {
        attempts++;
        time.advance(7); // each request takes 7 ms
        return busy();
      },
      { waitMs: 100, backoff: fixed(30), now: time.now, sleep: time.sleep },
    );
    expect(outcome.done).toBe(false);
    // 7 + 30 + 7 + 30 + 7 + 19 (clipped) + 7 = 107: waitMs plus one request.
    expect(time.sleeps).toEqual([30, 30, 19]);
    expect(attempts).toBe(4);
    expect(time.now()).toBe(107);
  });

  it("makes exactly one attempt when waitMs is 0", async () => {
    const time = fakeTime();
    let attempts = 0;
    await retryWithin(async () => (attempts++, busy()), { waitMs: 0, backoff: fixed(30), now: time.now, sleep: time.sleep });
    expect(attempts).toBe(1);
    expect(time.sleeps).toEqual([]);
  });

  it("wakes when the holder's lease ends rather than after a longer backoff", async () => {
    const time = fakeTime();
    let attempts = 0;
    const outcome = await retryWithin(
      async () => (++attempts === 2 ? { done: true, value: "lease" } : busy(12)),
      { waitMs: 1000, backoff: fixed(200), now: time.now, sleep: time.sleep },
    );
    expect(outcome).toEqual({ done: true, value: "lease" });
    expect(time.sleeps).toEqual([12]);
  });

  it("keeps within maxAttempts by spreading the time left, the last attempt at the deadline", async () => {
    const time = fakeTime();
    let attempts = 0;
    await retryWithin(async () => (attempts++, busy()), { waitMs: 1000, maxAttempts: 5, backoff: fixed(10), now: time.now, sleep: time.sleep });
    expect(attempts).toBe(5);
    expect(time.sleeps).toEqual([250, 250, 250, 250]);
    expect(time.now()).toBe(1000);
  });

  it("stops at the first success", async () => {
    const time = fakeTime();
    let attempts = 0;
    const outcome = await retryWithin(
      async () => (++attempts === 3 ? { done: true, value: "lease" } : busy()),
      { waitMs: 10_000, backoff: fixed(5), now: time.now, sleep: time.sleep },
    );
    expect(outcome).toEqual({ done: true, value: "lease" });
    expect(attempts).toBe(3);
  });
});
