import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { InvalidInputError, isRedisUnavailable, RedisUnavailableError } from "../../shared/errors";
import { BlockCache, fixedWindow, MAX_FULL_REFILL_MS, MAX_WINDOW_MS, RateLimiter, slidingWindow, tokenBucket, type Policy } from "../../shared/ratelimit";
import { clearFaults, countRoundTrips, setFaults, testRedis, uniqueName } from "./helpers";

/** The limiter's contract: round trips, the block cache, failure modes, refunds, input checks, its client. */

const PREFIX = uniqueName("rate-lim");
const redis = testRedis();
const LONG = MAX_WINDOW_MS;

function limiter(policies: Policy[], options: { cache?: BlockCache | false } = {}): RateLimiter {
  return new RateLimiter(redis, { prefix: PREFIX, policies, cache: options.cache ?? false });
}
const fw = (limit: number, extra: Partial<Policy> = {}): Policy => ({
  name: "fw",
  algorithm: fixedWindow({ limit, windowMs: LONG }),
  ...extra,
});
const tb = (capacity: number, extra: Partial<Policy> = {}): Policy => ({
  name: "tb",
  algorithm: tokenBucket({ capacity, refill: 1, intervalMs: LONG }),
  ...extra,
});

afterEach(clearFaults);

describe("its client", () => {
  it("refuses, when built, a client that parses replies as JSON (@upstash/redis's default)", () => {
    const parsing = new Redis({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! });
    expect(() => new RateLimiter(parsing, { policies: [fw(1)] })).toThrow(TypeError);
    expect(() => new RateLimiter(parsing, { policies: [fw(1)] })).toThrow(/automaticDeserialization: false/);
    expect(() => new RateLimiter(redis, { policies: [fw(1)] })).not.toThrow();
  });

  it("writes under the default prefix erf when given none", async () => {
    const id = uniqueName("default-prefix");
    await new RateLimiter(redis, { policies: [fw(3)], cache: false }).limit(id);
    expect(await redis.get(`erf:rate:fwc:fw:${id}`)).toBe("1");
    await redis.del(`erf:rate:fwc:fw:${id}`);
  });
});

describe("round trips", () => {
  it("one EVALSHA per check in steady state, whatever the number and mix of policies", async () => {
    for (const policies of [[fw(10)], [fw(10), { ...fw(10), name: "fw2" }], [fw(10), tb(10)]]) {
      const l = limiter(policies);
      const id = uniqueName("steady");
      await l.limit(id); // the script is loaded by now
      for (const call of [() => l.limit(id), () => l.peek(id)]) {
        const { requests, byCommand } = await countRoundTrips(call);
        expect(requests).toBe(1);
        expect(byCommand).toEqual({ EVALSHA: 1 });
      }
    }
  });

  it("after SCRIPT FLUSH the next check takes exactly 2 requests (NOSCRIPT, then EVAL), then 1 again", async () => {
    const l = limiter([fw(10)]);
    const id = uniqueName("flush");
    await l.limit(id);
    await redis.scriptFlush();
    const flushed = await countRoundTrips(() => l.limit(id));
    expect(flushed.requests).toBe(2);
    expect(flushed.byCommand).toEqual({ EVALSHA: 1, EVAL: 1 });
    expect(flushed.result).toMatchObject({ allowed: true, remaining: 8 });
    expect((await countRoundTrips(() => l.limit(id))).requests).toBe(1);
  });

  it("an identifier known to be blocked is rejected with no request, until reset through this isolate", async () => {
    const cache = new BlockCache();
    const l = limiter([fw(2)], { cache });
    const id = uniqueName("blocked");
    await l.limit(id);
    const last = await l.limit(id); // remaining 0: now known to be blocked
    expect(last).toMatchObject({ allowed: true, remaining: 0 });
    // The cache answers only once the local clock has moved past the moment it learned the
    // block (in Workers, at the next I/O: the next request's arrival).
    await new Promise((resolve) => setTimeout(resolve, 2));
    const cached = await countRoundTrips(() => l.limit(id));
    expect(cached.requests).toBe(0);
    expect(cached.result).toMatchObject({ allowed: false, remaining: 0, reason: "cached-block" });
    expect(cached.result.retryAfterMs).toBeGreaterThan(0);
    expect(cached.result.retryAfterMs).toBeLessThanOrEqual(last.resetMs);
    // Another isolate (another cache) does not know the block: Redis decides there.
    expect((await countRoundTrips(() => limiter([fw(2)], { cache: new BlockCache() }).limit(id))).requests).toBe(1);
    await l.reset(id);
    expect(await l.limit(id)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it("a denial that leaves units (a cost too big for what is left) is not cached", async () => {
    const l = limiter([tb(5)], { cache: new BlockCache() });
    const id = uniqueName("partial");
    await l.limit(id, { cost: 3 });
    expect(await l.limit(id, { cost: 3 })).toMatchObject({ allowed: false, remaining: 2 });
    const small = await countRoundTrips(() => l.limit(id, { cost: 2 }));
    expect(small.requests).toBe(1);
    expect(small.result).toMatchObject({ allowed: true, remaining: 0 });
  });
});

describe("the fixed window's counter", () => {
  it("is a plain integer under the fwc kind, expiring at its window's end in Redis time", async () => {
    const windowMs = 60_000;
    const l = limiter([{ name: "minute", algorithm: fixedWindow({ limit: 10, windowMs }) }]);
    const id = uniqueName("fwc");
    const result = await l.limit(id, { cost: 3 });
    const key = `${PREFIX}:rate:fwc:minute:${id}`;
    expect(await redis.get(key)).toBe("3");
    // The key dies when the window ends: its TTL is the window's remaining time (resetMs).
    const pttl = await redis.pttl(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(result.resetMs);
    expect(result.resetMs - pttl).toBeLessThan(5000); // the time between the script and PTTL
  });

  it("a denied check spends nothing, and a check denied by one policy undoes the others' increments", async () => {
    const l = limiter([
      { name: "wide", algorithm: fixedWindow({ limit: 100, windowMs: LONG }) },
      { name: "narrow", algorithm: fixedWindow({ limit: 3, windowMs: LONG }) },
    ]);
    const id = uniqueName("undo");
    expect(await l.limit(id, { cost: 3 })).toMatchObject({ allowed: true, remaining: 0 });
    const denied = await l.limit(id, { cost: 2 });
    expect(denied.allowed).toBe(false);
    expect(denied.policies.map((p) => [p.policy, p.allowed])).toEqual([
      ["wide", true],
      ["narrow", false],
    ]);
    expect(await redis.mget(`${PREFIX}:rate:fwc:wide:${id}`, `${PREFIX}:rate:fwc:narrow:${id}`)).toEqual(["3", "3"]);
  });

  it("a counter this check created and then undid is deleted, never left without a TTL", async () => {
    const l = limiter([
      { name: "fresh", algorithm: fixedWindow({ limit: 100, windowMs: LONG }) },
      { name: "full", algorithm: fixedWindow({ limit: 1, windowMs: LONG }) },
    ]);
    const id = uniqueName("created");
    await l.limit({ fresh: `${id}-other`, full: id });
    expect((await l.limit({ fresh: id, full: id })).allowed).toBe(false);
    expect(await redis.exists(`${PREFIX}:rate:fwc:fresh:${id}`)).toBe(0);
  });

  it("a counter left by the window that just ended counts as nothing near the boundary (one PTTL)", async () => {
    // In production the script checks a counter's PTTL in the first 10 ms of a window (p3, in
    // µs). Here the stretch is half of a 2 s window, so that either case is common: a counter
    // with less than half a window to live is the previous window's there, and counts elsewhere.
    const windowMs = 2000;
    const algorithm = fixedWindow({ limit: 5, windowMs });
    const wide = { ...algorithm, params: [5, windowMs, (windowMs / 2) * 1000] as const };
    const l = limiter([{ name: "edge", algorithm: wide }]);
    const seen = { boundary: 0, middle: 0 };
    // Attempts follow each other closely, so they are not independent: keep going for up to two
    // and a half windows, which covers both halves of a window at least once.
    const deadline = Date.now() + 2.5 * windowMs;
    while (!(seen.boundary && seen.middle) && Date.now() < deadline) {
      const id = uniqueName("edge");
      const key = `${PREFIX}:rate:fwc:edge:${id}`;
      const setAt = Date.now();
      await redis.set(key, 5, { px: 900 }); // a full counter with under half a window to live
      const result = await l.limit(id);
      if (Date.now() - setAt > 800) continue; // too slow to be sure the counter was still alive
      const into = windowMs - result.resetMs; // where in its window the check ran (Redis time)
      if (into < windowMs / 2) {
        seen.boundary++;
        expect(result).toMatchObject({ allowed: true, remaining: 4 }); // the old count was ignored
        expect(await redis.pttl(key)).toBeGreaterThan(900); // replaced by this window's counter
      } else {
        seen.middle++;
        expect(result).toMatchObject({ allowed: false, remaining: 0 }); // the counter counted
      }
    }
    expect(seen.boundary).toBeGreaterThan(0);
    expect(seen.middle).toBeGreaterThan(0);
  });
});

describe("costs and refunds", () => {
  it("a cost spends that many units at once", async () => {
    const l = limiter([fw(10)]);
    const id = uniqueName("cost");
    expect(await l.limit(id, { cost: 7 })).toMatchObject({ allowed: true, remaining: 3 });
    expect(await l.limit(id, { cost: 4 })).toMatchObject({ allowed: false, remaining: 3 });
    expect(await l.limit(id, { cost: 3 })).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("a negative cost refunds a token bucket, never above its capacity", async () => {
    const l = limiter([tb(10)]);
    const id = uniqueName("refund");
    await l.limit(id, { cost: 8 });
    expect(await l.limit(id, { cost: -3 })).toMatchObject({ allowed: true, remaining: 5 });
    expect(await l.limit(id, { cost: -100 })).toMatchObject({ allowed: true, remaining: 10, resetMs: 0 });
    expect((await l.peek(id)).remaining).toBe(10);
  });

  it("refuses bad input before any request, and spends nothing", async () => {
    const l = limiter([fw(5)]);
    const id = uniqueName("bad");
    await l.limit(id);
    const attempts: Array<() => Promise<unknown>> = [
      () => l.limit(id, { cost: 0 }),
      () => l.limit(id, { cost: 1.5 }),
      () => l.limit(id, { cost: -1 }), // refunds are for token buckets only
      () => l.limit(id, { cost: 6 }), // more than the limit: could never be allowed
      () => l.limit(id, { cost: Number.NaN }),
      () => l.limit("x".repeat(257)),
      () => l.limit("é".repeat(129)), // 258 bytes
      () => l.limit(""),
      () => l.limit("a\nb"),
      () => l.peek("x".repeat(257)),
      () => l.reset("x".repeat(257)),
    ];
    for (const attempt of attempts) {
      const { result, requests } = await countRoundTrips(() => attempt().then(() => null, (e: unknown) => e));
      expect(result).toBeInstanceOf(InvalidInputError);
      expect(requests).toBe(0);
    }
    expect((await l.peek(id)).remaining).toBe(4);
  });

  it("the longest full refill accepted works in Redis", async () => {
    const slowest = tokenBucket({ capacity: 1e9, refill: 1, intervalMs: MAX_FULL_REFILL_MS / 1e9 });
    const l = limiter([{ name: "slowest", algorithm: slowest }]);
    const id = uniqueName("slowest");
    expect(await l.limit(id, { cost: 1e9 })).toMatchObject({ allowed: true, remaining: 0, resetMs: MAX_FULL_REFILL_MS });
    const denied = await l.limit(id);
    expect(denied).toMatchObject({ allowed: false, remaining: 0 });
    expect(denied.retryAfterMs).toBeGreaterThan(0);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(MAX_FULL_REFILL_MS / 1e9); // one interval
  });

  it("accepts an id of exactly 256 bytes", async () => {
    const id = `${uniqueName("max")}-`.padEnd(256, "x");
    expect((await limiter([fw(5)]).limit(id)).allowed).toBe(true);
  });
});

describe("peek and reset", () => {
  it("peek spends nothing and tells whether one more unit fits", async () => {
    for (const policy of [{ name: "sw", algorithm: slidingWindow({ limit: 2, windowMs: LONG }) }, fw(2)]) {
      const l = limiter([policy]);
      const id = uniqueName("peek");
      expect(await l.peek(id)).toMatchObject({ allowed: true, remaining: 2, resetMs: 0, retryAfterMs: 0 });
      await l.limit(id, { cost: 2 });
      const full = await l.peek(id);
      expect(full).toMatchObject({ allowed: false, remaining: 0 });
      expect(full.retryAfterMs).toBeGreaterThan(0);
      expect((await l.peek(id)).remaining).toBe(0);
      await l.reset(id);
      expect(await l.peek(id)).toMatchObject({ allowed: true, remaining: 2 });
    }
  });
});

describe("when Redis is unavailable", () => {
  // Requests delayed by the endpoint still complete after the test: let them drain, so that
  // the next test file's round-trip counts do not see them.
  const SLOW_MS = 1500;
  afterAll(() => new Promise((resolve) => setTimeout(resolve, SLOW_MS)));
  const open = (timeoutMs = 300): Policy => ({ ...fw(5), name: "open", failure: "open", timeoutMs });
  const closed = (timeoutMs = 300): Policy => ({ ...fw(5), name: "closed", failure: "closed", timeoutMs });

  it("fails open (allowed, reason redis-unavailable) when the endpoint answers 5xx", async () => {
    await setFaults({ down: "5xx" });
    const result = await limiter([open()]).limit(uniqueName("down"));
    expect(result).toMatchObject({ allowed: true, reason: "redis-unavailable", limit: 5 });
  });

  it("fails closed (denied, reason redis-unavailable) when the endpoint answers 5xx", async () => {
    await setFaults({ down: "5xx" });
    const result = await limiter([closed()]).limit(uniqueName("down"));
    expect(result).toMatchObject({ allowed: false, reason: "redis-unavailable" });
  });

  it("a multi-policy check fails closed if any of its policies does", async () => {
    await setFaults({ down: "5xx" });
    const result = await limiter([open(), closed()]).limit(uniqueName("mixed"));
    expect(result).toMatchObject({ allowed: false, reason: "redis-unavailable" });
  });

  it.each([
    ["open", true],
    ["closed", false],
  ] as const)("gives up at the policy's timeout when Redis is slow (fail %s), not at the client's", async (mode, allowed) => {
    await setFaults({ latencyMs: SLOW_MS });
    // A client that would wait 5 s: the limiter's own timeout must bound the wait.
    const slow = new RateLimiter(testRedis({ timeoutMs: 5000 }), {
      prefix: PREFIX,
      policies: [mode === "open" ? open(300) : closed(300)],
      cache: false,
    });
    const started = Date.now();
    const result = await slow.limit(uniqueName("slow"));
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ allowed, reason: "redis-unavailable" });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(SLOW_MS); // it did not wait for Redis
  });

  it("peek and reset throw RedisUnavailableError (there is nothing to fail open to)", async () => {
    await setFaults({ down: "5xx" });
    const l = limiter([open()]);
    await expect(l.peek(uniqueName("p"))).rejects.toSatisfy(isRedisUnavailable);
    await expect(l.reset(uniqueName("p"))).rejects.toSatisfy(isRedisUnavailable);
    await setFaults({ latencyMs: SLOW_MS });
    const slow = new RateLimiter(testRedis({ timeoutMs: 5000 }), { prefix: PREFIX, policies: [open(200)], cache: false });
    await expect(slow.peek(uniqueName("p"))).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(slow.reset(uniqueName("p"))).rejects.toBeInstanceOf(RedisUnavailableError);
  });
});
