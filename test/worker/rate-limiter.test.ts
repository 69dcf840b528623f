import { afterAll, afterEach, describe, expect, it } from "vitest";
import { InvalidInputError, isRedisUnavailable, RedisUnavailableError } from "../../shared/errors";
import { BlockCache } from "../../shared/ratelimit/block-cache";
import { CHECK_SCRIPT } from "../../shared/ratelimit/check-script";
import { fixedWindow } from "../../shared/ratelimit/fixed-window";
import { buildCheck, RateLimiter } from "../../shared/ratelimit/limiter";
import { slidingWindow } from "../../shared/ratelimit/sliding-window";
import { MAX_FULL_REFILL_MS, tokenBucket } from "../../shared/ratelimit/token-bucket";
import { MAX_WINDOW_MS, type Policy } from "../../shared/ratelimit/types";
import { clearFaults, countRoundTrips, setFaults, testRedis, uniqueName } from "./helpers";

/** The limiter's contract: round trips, the block cache, failure modes, refunds, input checks. */

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

describe("the check script", () => {
  it("is pinned: an edit must be deliberate (update this SHA1 with it)", async () => {
    expect(await CHECK_SCRIPT.sha1()).toBe("6d00ebe64e5ace3e35513fea3139c0186a07efa2");
  });

  it("gets one key and four arguments per policy", () => {
    const policies = [fw(5), tb(7)];
    const targets = policies.map((policy, i) => ({ policy, key: `k${i}` }));
    expect(buildCheck("limit", 2, targets)).toEqual({
      keys: ["k0", "k1"],
      args: ["limit", 2, "fw", 5, LONG, 0, "tb", 7, 1, LONG],
    });
  });
});

describe("round trips", () => {
  it("one EVALSHA per check in steady state, whatever the number of policies", async () => {
    const l = limiter([fw(10), tb(10)]);
    const id = uniqueName("steady");
    await l.limit(id); // the script is loaded by now
    const { requests, byCommand } = await countRoundTrips(() => l.limit(id));
    expect(requests).toBe(1);
    expect(byCommand).toEqual({ EVALSHA: 1 });
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

describe("the block cache", () => {
  it("is bounded, dropping the least recently written entries first", () => {
    const cache = new BlockCache(3);
    for (const key of ["a", "b", "c", "d"]) cache.block(key, 10_000, 0);
    expect(cache.size).toBe(3);
    expect(cache.blockedFor("a", 1)).toBe(0);
    expect(cache.blockedFor("d", 1)).toBe(9_999);
  });

  it("expires entries on the local clock, and says nothing while that clock has not moved", () => {
    const cache = new BlockCache();
    cache.block("k", 1_000, 100);
    expect(cache.blockedFor("k", 100)).toBe(0); // a clock that has not moved cannot tell
    expect(cache.blockedFor("k", 400)).toBe(600);
    expect(cache.blockedFor("k", 1_000)).toBe(0);
    expect(cache.blockedFor("k", 500)).toBe(0); // expired entries are dropped
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

  it("a token bucket's full refill is bounded, and the longest one accepted works in Redis", async () => {
    expect(() => tokenBucket({ capacity: 1e9, refill: 1, intervalMs: MAX_WINDOW_MS })).toThrow(RangeError);
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
    const l = limiter([{ name: "sw", algorithm: slidingWindow({ limit: 2, windowMs: LONG }) }]);
    const id = uniqueName("peek");
    expect(await l.peek(id)).toMatchObject({ allowed: true, remaining: 2, resetMs: 0, retryAfterMs: 0 });
    await l.limit(id, { cost: 2 });
    const full = await l.peek(id);
    expect(full).toMatchObject({ allowed: false, remaining: 0 });
    expect(full.retryAfterMs).toBeGreaterThan(0);
    expect((await l.peek(id)).remaining).toBe(0);
    await l.reset(id);
    expect(await l.peek(id)).toMatchObject({ allowed: true, remaining: 2 });
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
  ] as const)("answers within the timeout plus a small margin when Redis is slow (fail %s)", async (mode, allowed) => {
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
    expect(elapsed).toBeLessThan(300 + 400);
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
