import { afterEach, describe, expect, it } from "vitest";
import {
  BlockCache,
  fixedWindow,
  LeaseStore,
  MAX_WINDOW_MS,
  RateLimiter,
  slidingWindow,
  tokenBucket,
  type Algorithm,
  type LeaseOptions,
  type LimitResult,
  type Policy,
} from "../../shared/ratelimit";
import { clearFaults, countRoundTrips, setFaults, testRedis, uniqueName } from "./helpers";
import { callWorker, parseList } from "./rate-helpers";

/**
 * Local token leases, over the real endpoint and Redis. Each simulated isolate is its own
 * RateLimiter with its own LeaseStore and BlockCache, as two Worker isolates would have; they
 * share only Redis.
 */

const PREFIX = uniqueName("rate-lease");
const redis = testRedis();
const LONG = MAX_WINDOW_MS;

const ALGORITHMS: Record<string, (limit: number) => Algorithm> = {
  "fixed-window": (limit) => fixedWindow({ limit, windowMs: LONG }),
  "sliding-window": (limit) => slidingWindow({ limit, windowMs: LONG }),
  // One token back per interval, and the longest interval a full refill allows: no refill during a test.
  "token-bucket": (limit) => tokenBucket({ capacity: limit, refill: 1, intervalMs: Math.min(LONG, Math.floor(1e15 / limit)) }),
};

function policy(name: string, algorithm: Algorithm, lease?: LeaseOptions): Policy {
  return { name, algorithm, ...(lease ? { lease } : {}) };
}

/** One simulated isolate: its own leases and block cache, optionally its own clock. */
function isolate(policies: Policy[], now?: () => number): RateLimiter {
  return new RateLimiter(redis, { prefix: PREFIX, policies, leases: new LeaseStore(), cache: new BlockCache(), ...(now ? { now } : {}) });
}

const admitted = (results: LimitResult[]) => results.filter((r) => r.allowed).length;

afterEach(clearFaults);

describe("the lease option", () => {
  it("is accepted on every algorithm, and refused when built with units outside 1..limit or a bad ttl", () => {
    for (const make of Object.values(ALGORITHMS)) {
      expect(() => isolate([policy("p", make(10), { units: 10, ttlMs: 1000 })])).not.toThrow();
      expect(() => isolate([policy("p", make(10), { units: 11, ttlMs: 1000 })])).toThrow(/lease units must be an integer from 1 to 10/);
      expect(() => isolate([policy("p", make(10), { units: 0, ttlMs: 1000 })])).toThrow(RangeError);
      expect(() => isolate([policy("p", make(10), { units: 1, ttlMs: 0 })])).toThrow(/lease ttlMs/);
      expect(() => isolate([policy("p", make(10), { units: 1, ttlMs: 3_600_001 })])).toThrow(/lease ttlMs/);
    }
  });
});

describe.each(Object.keys(ALGORITHMS))("%s with leases", (name) => {
  const make = ALGORITHMS[name]!;

  // 50 per isolate: no isolate can lease more units than it has callers, so none is stranded.
  it("200 concurrent callers across 4 isolates admit exactly the limit, in each of 5 trials", async () => {
    const limit = 50;
    const p = policy("hot", make(limit), { units: 5, ttlMs: 60_000 });
    for (let trial = 0; trial < 5; trial++) {
      const isolates = Array.from({ length: 4 }, () => isolate([p]));
      const id = uniqueName("crowd");
      const { result, requests } = await countRoundTrips(() =>
        Promise.all(Array.from({ length: 200 }, (_, i) => isolates[i % 4]!.limit(id))),
      );
      expect(admitted(result)).toBe(limit);
      // Leases did their part: some callers were admitted without a request of their own.
      expect(result.filter((r) => r.source === "lease").length).toBeGreaterThan(0);
      expect(requests).toBeLessThan(200);
      // Redis counts every leased unit as spent: nothing is left for anyone.
      expect(await isolate([p]).peek(id)).toMatchObject({ allowed: false, remaining: 0 });
    }
  });

  it("a hot identifier's allowed checks cost at most 0.1 requests per check", async () => {
    const l = isolate([policy("hot", make(1_000_000), { units: 50, ttlMs: 60_000 })]);
    const id = uniqueName("hot");
    await l.limit(id); // the script is loaded and the first lease taken
    const checks = 200;
    const { result, requests } = await countRoundTrips(async () => {
      const out: LimitResult[] = [];
      for (let i = 0; i < checks; i++) out.push(await l.limit(id));
      return out;
    });
    expect(admitted(result)).toBe(checks);
    expect(requests / checks).toBeLessThanOrEqual(0.1);
    // remaining falls by one per check, lease or not: it is Redis's count plus what is still leased.
    const remaining = result.map((r) => r.remaining);
    expect(remaining).toEqual(remaining.map((_, i) => remaining[0]! - i));
  });
});

describe("a lease", () => {
  it("is counted in Redis at once, and reports remaining from the lease with source lease", async () => {
    const p = policy("fw", fixedWindow({ limit: 10, windowMs: LONG }), { units: 4, ttlMs: 60_000 });
    const l = isolate([p]);
    const id = uniqueName("counted");
    const first = await countRoundTrips(() => l.limit(id));
    expect(first.requests).toBe(1);
    expect(first.result).toMatchObject({ allowed: true, remaining: 9, policies: [{ leased: 4, remaining: 9 }] });
    expect(first.result.source).toBeUndefined();
    expect(await redis.get(`${PREFIX}:rate:fwc:fw:${id}`)).toBe("5");
    const second = await countRoundTrips(() => l.limit(id));
    expect(second.requests).toBe(0);
    expect(second.result).toMatchObject({ allowed: true, remaining: 8, source: "lease", policies: [{ leased: 3, remaining: 8 }] });
  });

  it("grants fewer units than asked when fewer remain, so the limit is reached exactly", async () => {
    const p = policy("fw", fixedWindow({ limit: 6, windowMs: LONG }), { units: 4, ttlMs: 60_000 });
    const [a, b] = [isolate([p]), isolate([p])];
    const id = uniqueName("partial");
    expect(await a.limit(id)).toMatchObject({ allowed: true, policies: [{ leased: 4 }] }); // 5 of 6 spent
    expect(await b.limit(id)).toMatchObject({ allowed: true, remaining: 0, policies: [{ leased: 0 }] }); // the 6th
    const fromA = [];
    for (let i = 0; i < 5; i++) fromA.push(await a.limit(id));
    expect(fromA.map((r) => r.allowed)).toEqual([true, true, true, true, false]);
    expect((await b.limit(id)).allowed).toBe(false);
  });

  it("ends after its ttl: its unused units are never admitted after it", async () => {
    let t = 1_000_000;
    const p = policy("fw", fixedWindow({ limit: 10, windowMs: LONG }), { units: 5, ttlMs: 1000 });
    const a = isolate([p], () => t);
    const b = isolate([p]);
    const id = uniqueName("expiry");
    expect(await a.limit(id)).toMatchObject({ allowed: true, policies: [{ leased: 5 }] }); // 6 of 10 counted
    t += 1; // the clock moves on, inside the lease
    expect(await a.limit(id)).toMatchObject({ allowed: true, source: "lease" });
    t += 1000; // past the lease's end: the 4 units leased and unused are lost
    const fromB = [];
    for (let i = 0; i < 6; i++) fromB.push(await b.limit(id));
    expect(admitted(fromB)).toBe(4); // what Redis had left, and no more
    const after = await countRoundTrips(() => a.limit(id));
    expect(after.requests).toBe(1); // Redis decides again, not A's ended lease
    expect(after.result).toMatchObject({ allowed: false, remaining: 0 });
    expect(Number(await redis.get(`${PREFIX}:rate:fwc:fw:${id}`))).toBe(10);
  });

  it("of a window ends before the window does, so it never admits in the next one", async () => {
    // A 2 s window: a lease granted in it lasts at most until 1 s before its end.
    const p = policy("fw", fixedWindow({ limit: 100, windowMs: 2000 }), { units: 10, ttlMs: 60_000 });
    let t = 5_000_000;
    const l = isolate([p], () => t);
    const id = uniqueName("window-end");
    const first = await l.limit(id);
    t += 1000; // 1 s later the window has at most 1 s left: the lease is gone
    const next = await countRoundTrips(() => l.limit(id));
    expect(next.requests).toBe(1);
    expect(next.result.source).toBeUndefined();
    expect(first.allowed).toBe(true);
  });

  it("is never used nor taken by peek, which reports Redis's state with leased units spent", async () => {
    const p = policy("tb", tokenBucket({ capacity: 10, refill: 1, intervalMs: LONG }), { units: 3, ttlMs: 60_000 });
    const l = isolate([p]);
    const id = uniqueName("peek");
    await l.limit(id); // 1 spent + 3 leased
    const peek = await countRoundTrips(() => l.peek(id));
    expect(peek.requests).toBe(1);
    expect(peek.result).toMatchObject({ allowed: true, remaining: 6 });
    expect(peek.result.source).toBeUndefined();
    // The lease is intact: 3 local admissions, then Redis again.
    for (let i = 0; i < 3; i++) expect((await countRoundTrips(() => l.limit(id))).requests).toBe(0);
    expect((await countRoundTrips(() => l.limit(id))).requests).toBe(1);
  });

  it("is forgotten by a reset through the same isolate", async () => {
    const p = policy("fw", fixedWindow({ limit: 10, windowMs: LONG }), { units: 5, ttlMs: 60_000 });
    const l = isolate([p]);
    const id = uniqueName("reset");
    await l.limit(id);
    await l.reset(id);
    const next = await countRoundTrips(() => l.limit(id));
    expect(next.requests).toBe(1);
    expect(next.result).toMatchObject({ allowed: true, remaining: 9, policies: [{ leased: 5 }] });
  });
});

describe("concurrent checks in one isolate", () => {
  it("wait for the isolate's one lease request and are admitted from it", async () => {
    const l = isolate([policy("fw", fixedWindow({ limit: 1000, windowMs: LONG }), { units: 30, ttlMs: 60_000 })]);
    const id = uniqueName("burst");
    const { result, requests } = await countRoundTrips(() => Promise.all(Array.from({ length: 20 }, () => l.limit(id))));
    expect(admitted(result)).toBe(20);
    expect(requests).toBe(1);
    expect(result.filter((r) => r.source === "lease").length).toBe(19);
    expect(Number(await redis.get(`${PREFIX}:rate:fwc:fw:${id}`))).toBe(31);
  });

  it("do not hang when the lease request fails: each applies the failure mode", async () => {
    const l = isolate([policy("fw", fixedWindow({ limit: 1000, windowMs: LONG }), { units: 30, ttlMs: 60_000 })]);
    const id = uniqueName("down");
    await setFaults({ down: "5xx" });
    const results = await Promise.all(Array.from({ length: 5 }, () => l.limit(id)));
    expect(results.every((r) => r.allowed && r.reason === "redis-unavailable")).toBe(true);
    await clearFaults();
    const next = await countRoundTrips(() => l.limit(id));
    expect(next.requests).toBe(1); // no lease was recorded from the failed requests
    expect(next.result).toMatchObject({ allowed: true, policies: [{ leased: 30 }] });
  });
});

describe("checks of several policies", () => {
  const perUser = policy("user", fixedWindow({ limit: 100, windowMs: LONG }), { units: 5, ttlMs: 60_000 });
  const global = policy("global", tokenBucket({ capacity: 1000, refill: 1, intervalMs: LONG }), { units: 10, ttlMs: 60_000 });

  it("are admitted locally only while every policy holds a lease unit", async () => {
    const l = isolate([perUser, global]);
    const id = uniqueName("multi");
    const first = await l.limit(id);
    expect(first.policies.map((p) => p.leased)).toEqual([5, 10]);
    for (let i = 0; i < 5; i++) expect((await countRoundTrips(() => l.limit(id))).requests).toBe(0);
    // The per-user lease is spent, the global one still holds 5: one request, which leases only for "user".
    const next = await countRoundTrips(() => l.limit(id));
    expect(next.requests).toBe(1);
    expect(next.result.policies.map((p) => p.leased)).toEqual([5, 5]);
    expect(Number(await redis.get(`${PREFIX}:rate:fwc:user:${id}`))).toBe(1 + 5 + 1 + 5);
  });

  it("never lease when one of the policies has no lease option", async () => {
    const plain = policy("plain", fixedWindow({ limit: 100, windowMs: LONG }));
    const l = isolate([perUser, plain]);
    const id = uniqueName("mixed");
    for (let i = 0; i < 3; i++) {
      const { requests, result } = await countRoundTrips(() => l.limit(id));
      expect(requests).toBe(1);
      expect(result.policies.every((p) => p.leased === undefined)).toBe(true);
    }
    expect(Number(await redis.get(`${PREFIX}:rate:fwc:user:${id}`))).toBe(3);
  });
});

describe("over HTTP", () => {
  const RATE_POLICIES = JSON.stringify({
    policies: { hot: { algorithm: "fixed-window", limit: 1000, window: "1h", lease: { units: 20, ttl: "30s" } } },
    middleware: { v1: ["hot"] },
  });
  const call = (path: string, init: RequestInit = {}) => callWorker(path, init, { RATE_POLICIES });

  it("POST /v1/rate answers from the lease with source lease in the body and Checked-RateLimit-Source", async () => {
    const id = uniqueName("http");
    const first = await call(`/v1/rate/hot/${id}`, { method: "POST" });
    expect(first.status).toBe(200);
    expect(first.headers.get("Checked-RateLimit-Source")).toBeNull();
    const second = await call(`/v1/rate/hot/${id}`, { method: "POST" });
    const body = await second.json<Record<string, unknown>>();
    expect(body).toMatchObject({ policy: "hot", allowed: true, source: "lease" });
    expect(second.headers.get("Checked-RateLimit-Source")).toBe("lease");
    const [item] = parseList(second.headers.get("Checked-RateLimit")!);
    expect(item!.params.r).toBe(body.remaining);
  });

  it("the middleware says RateLimit-Source: lease when the caller's own check came from the lease", async () => {
    const first = await call(`/v1/rate/hot/${uniqueName("mw")}`, { method: "GET" });
    expect(first.status).toBe(200);
    const later = await call(`/v1/rate/hot/${uniqueName("mw")}`, { method: "GET" });
    expect(later.headers.get("RateLimit-Source")).toBe("lease");
    expect(parseList(later.headers.get("RateLimit")!)[0]!.value).toBe("hot");
  });

  it("a lease with more units than the limit is a 500 misconfigured problem naming RATE_POLICIES", async () => {
    const bad = JSON.stringify({ policies: { hot: { algorithm: "token-bucket", limit: 10, refill: 1, interval: "1s", lease: { units: 11, ttl: "1s" } } } });
    const res = await callWorker(`/v1/rate/hot/${uniqueName("bad")}`, { method: "POST" }, { RATE_POLICIES: bad });
    expect(res.status).toBe(500);
    const problem = await res.json<{ type: string; detail: string }>();
    expect(problem.type).toBe("urn:problem:misconfigured");
    expect(problem.detail).toMatch(/RATE_POLICIES.*lease units/);
  });
});
