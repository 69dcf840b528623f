import { afterEach, describe, expect, it, vi } from "vitest";
import {
  fixedWindow,
  MAX_WINDOW_MS,
  RateLimiter,
  slidingWindow,
  tokenBucket,
  type Algorithm,
  type Identity,
  type LimitResult,
  type Policy,
} from "../../shared/ratelimit";
import { InvalidInputError } from "../../shared/errors";
import { sleep, testRedis, uniqueName } from "./helpers";

/**
 * The algorithms' guarantees under concurrency, across window boundaries and with a frozen
 * Worker clock, against the real Redis through the local endpoint.
 */

const PREFIX = uniqueName("rate-alg");
// Sixteen clients: concurrent checks travel in separate REST requests over separate
// connections, arrive in any order, and interleave in Redis.
const CLIENTS = Array.from({ length: 16 }, () => testRedis());
const CALLERS = 200;
const TRIALS = 50;
// Limits cycled through the trials: below, at and above the number of callers.
const LIMITS = [1, 7, 50, 100, 199, 200, 250];

// These tests are about correctness, not speed: with many callers on a loaded machine a check
// may take seconds, and the default 1 s timeout would turn it into a "redis-unavailable" result.
const PATIENT_MS = 30_000;

function limiters(policies: Policy[], cache = false): RateLimiter[] {
  const patient = policies.map((p) => ({ timeoutMs: PATIENT_MS, ...p }));
  return CLIENTS.map((redis) => new RateLimiter(redis, { prefix: PREFIX, policies: patient, cache: cache ? undefined : false }));
}

/** `CALLERS` concurrent checks of one fresh identity, spread over the clients. */
async function burst(pool: RateLimiter[], id: Identity, callers = CALLERS): Promise<LimitResult[]> {
  return Promise.all(Array.from({ length: callers }, (_, i) => pool[i % pool.length]!.limit(id)));
}

function admitted(results: LimitResult[]): number {
  for (const r of results) expect(r.reason).toBeUndefined(); // every decision came from Redis
  return results.filter((r) => r.allowed).length;
}

afterEach(() => {
  vi.restoreAllMocks();
});

// Windows of 366 days: a trial never straddles a window boundary; no token is refilled during it.
const LONG: Record<string, (limit: number) => Algorithm> = {
  "fixed window": (limit) => fixedWindow({ limit, windowMs: MAX_WINDOW_MS }),
  "token bucket": (limit) => tokenBucket({ capacity: limit, refill: 1, intervalMs: MAX_WINDOW_MS }),
  // With no previous window the estimate is the exact count: the bound is min(L, calls) too.
  "sliding window": (limit) => slidingWindow({ limit, windowMs: MAX_WINDOW_MS }),
};

describe.each(Object.entries(LONG))("%s: 200 concurrent callers, 50 trials", (label, make) => {
  it("admits exactly min(limit, callers) in every trial", async () => {
    const overAdmissions: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const limit = LIMITS[trial % LIMITS.length]!;
      const pool = limiters([{ name: "p", algorithm: make(limit) }]);
      const n = admitted(await burst(pool, uniqueName(label.replace(" ", "-"))));
      if (n !== Math.min(limit, CALLERS)) overAdmissions.push(`trial ${trial}: limit ${limit}, admitted ${n}`);
    }
    expect(overAdmissions).toEqual([]);
  });
});

describe("across a window boundary (1 s windows, real waiting)", () => {
  it("fixed window: a spent window denies until its end, then the full limit is back", async () => {
    const [limiter] = limiters([{ name: "fw", algorithm: fixedWindow({ limit: 5, windowMs: 1000 }) }]);
    const id = uniqueName("fw-boundary");
    // Windows are aligned on Redis time: start just after one begins, so that the spending check
    // and the denied one share it even on a slow, loaded machine.
    const probe = await limiter!.limit(uniqueName("fw-probe"));
    await sleep(probe.resetMs + 10);
    expect((await limiter!.limit(id, { cost: 5 })).allowed).toBe(true);
    const denied = await limiter!.limit(id);
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(0);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(1000);
    await sleep(denied.retryAfterMs + 20);
    const again = await limiter!.limit(id, { cost: 5 });
    expect(again).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("token bucket: refills `refill` tokens per interval, never above capacity", async () => {
    const [limiter] = limiters([{ name: "tb", algorithm: tokenBucket({ capacity: 4, refill: 2, intervalMs: 1000 }) }]);
    const id = uniqueName("tb-boundary");
    expect((await limiter!.limit(id, { cost: 4 })).allowed).toBe(true);
    const denied = await limiter!.limit(id, { cost: 2 });
    expect(denied.allowed).toBe(false);
    await sleep(denied.retryAfterMs + 20);
    expect(await limiter!.limit(id, { cost: 2 })).toMatchObject({ allowed: true, remaining: 0 });
    expect((await limiter!.limit(id)).allowed).toBe(false);
  });

  it("sliding window: the previous window's count, weighted, bounds the next window's burst", async () => {
    const limit = 20;
    const windowMs = 2000;
    // A companion fixed window with an unreachable limit, checked in the same script call:
    // its resetMs is the time left in the aligned window, i.e. where in the window (Redis
    // time) each check of the burst ran.
    const pool = limiters([
      { name: "sw", algorithm: slidingWindow({ limit, windowMs }) },
      { name: "clock", algorithm: fixedWindow({ limit: 1_000_000, windowMs }) },
    ]);
    const id = uniqueName("sw-boundary");
    expect((await pool[0]!.limit(id, { cost: limit })).allowed).toBe(true); // the whole window k
    const denied = await pool[0]!.limit(id);
    expect(denied.allowed).toBe(false);
    await sleep(denied.retryAfterMs + 5); // early in window k + 1

    const results = await burst(pool, id);
    const allowed = results.filter((r) => r.allowed);
    expect(allowed.length).toBeGreaterThanOrEqual(1);
    const lastElapsed = Math.max(...allowed.map((r) => windowMs - r.policies[1]!.resetMs));
    // At elapsed e, the previous window still weighs floor(limit * (window - e) / window).
    const bound = limit - Math.floor((limit * (windowMs - lastElapsed)) / windowMs);
    expect(allowed.length).toBeLessThanOrEqual(bound);
    expect(bound).toBeLessThan(limit); // the weighting, not the plain count, is what bounded it
  });
});

describe("with a frozen Worker clock", () => {
  it("decides from Redis time: the same outcomes, and windows still end", async () => {
    const frozen = Date.UTC(2001, 0, 1);
    vi.spyOn(Date, "now").mockReturnValue(frozen);
    const algorithms = [
      ["fw", fixedWindow({ limit: 3, windowMs: 1000 })],
      ["sw", slidingWindow({ limit: 3, windowMs: 1000 })],
      ["tb", tokenBucket({ capacity: 3, refill: 3, intervalMs: 1000 })],
    ] as const;
    // A companion fixed window that never denies tells where in its 1 s window (Redis time)
    // each check ran, so five checks that straddled a window boundary are run again.
    const clock: Policy = { name: "clock", algorithm: fixedWindow({ limit: 1_000_000, windowMs: 1000 }) };
    await Promise.all(
      algorithms.map(async ([name, algorithm]) => {
        // The default (shared) block cache: a clock that never moves must not make it block forever.
        const [limiter] = limiters([{ name, algorithm }, clock], true);
        let id = "";
        let results: LimitResult[] = [];
        for (let attempt = 0; attempt < 3; attempt++) {
          id = uniqueName(`frozen-${name}`);
          results = [];
          for (let i = 0; i < 5; i++) results.push(await limiter!.limit({ [name]: id, clock: `${id}-clock` }));
          const left = results.map((r) => r.policies[1]!.resetMs);
          if (left.every((ms, i) => i === 0 || ms <= left[i - 1]!)) break; // all in one window
        }
        expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, false]);
        const wait = Math.max(...results.map((r) => r.retryAfterMs));
        expect(wait).toBeGreaterThan(0);
        await sleep(wait + 1000 + 20); // past the block, and past the sliding window's weight
        expect(Date.now()).toBe(frozen);
        expect((await limiter!.limit({ [name]: id, clock: `${id}-clock` })).allowed).toBe(true);
      }),
    );
  });
});

describe("multi-policy checks", () => {
  it("a check denied by one policy spends nothing from the others", async () => {
    const policies: Policy[] = [
      { name: "per-ip", algorithm: fixedWindow({ limit: 100, windowMs: MAX_WINDOW_MS }) },
      { name: "per-user", algorithm: slidingWindow({ limit: 50, windowMs: MAX_WINDOW_MS }) },
      { name: "global", algorithm: tokenBucket({ capacity: 5, refill: 1, intervalMs: MAX_WINDOW_MS }) },
    ];
    const pool = limiters(policies);
    const ids = { "per-ip": uniqueName("ip"), "per-user": uniqueName("user"), global: uniqueName("all") };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => pool[i % pool.length]!.limit(ids)));
    expect(admitted(results)).toBe(5); // the global bucket decides
    for (const denied of results.filter((r) => !r.allowed)) {
      expect(denied.policies.find((p) => !p.allowed)?.policy).toBe("global");
    }
    const peek = await pool[0]!.peek(ids);
    expect(peek.policies.map((p) => [p.policy, p.remaining])).toEqual([
      ["per-ip", 95],
      ["per-user", 45],
      ["global", 0],
    ]);
  });

  it("fixed windows only (increment first, undo on denial): 200 callers, and the wider windows keep exactly what was admitted", async () => {
    const policies: Policy[] = [
      { name: "per-ip", algorithm: fixedWindow({ limit: 150, windowMs: MAX_WINDOW_MS }) },
      { name: "per-user", algorithm: fixedWindow({ limit: 1000, windowMs: MAX_WINDOW_MS }) },
      { name: "global", algorithm: fixedWindow({ limit: 37, windowMs: MAX_WINDOW_MS }) },
    ];
    const pool = limiters(policies);
    const ids = { "per-ip": uniqueName("ip"), "per-user": uniqueName("user"), global: uniqueName("all") };
    const results = await burst(pool, ids);
    expect(admitted(results)).toBe(37);
    const peek = await pool[0]!.peek(ids);
    expect(peek.policies.map((p) => [p.policy, p.remaining])).toEqual([
      ["per-ip", 150 - 37],
      ["per-user", 1000 - 37],
      ["global", 0],
    ]);
  });

  it("one id for every policy, or one per policy; a missing one is refused before any request", async () => {
    const policies: Policy[] = [
      { name: "a", algorithm: fixedWindow({ limit: 2, windowMs: MAX_WINDOW_MS }) },
      { name: "b", algorithm: fixedWindow({ limit: 3, windowMs: MAX_WINDOW_MS }) },
    ];
    const [limiter] = limiters(policies);
    const id = uniqueName("same");
    const first = await limiter!.limit(id);
    expect(first).toMatchObject({ allowed: true, limit: 2, remaining: 1 }); // the tighter policy
    await expect(limiter!.limit({ a: id })).rejects.toSatisfy((e) => e instanceof InvalidInputError && /policy "b"/.test(e.message));
    expect((await limiter!.peek(id)).policies.map((p) => p.remaining)).toEqual([1, 2]);
  });
});
