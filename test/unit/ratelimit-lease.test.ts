import { describe, expect, it } from "vitest";
import { ConfigError } from "../../functions/platform/config";
import { parseRateConfig } from "../../functions/ratelimit/config";
import { checkedHeaders, rateLimitHeaders } from "../../functions/ratelimit/headers";
import { fixedWindow, slidingWindow, tokenBucket } from "../../shared/ratelimit/algorithms";
import { buildCheck, leaseResult, parseCheck, validatePolicies } from "../../shared/ratelimit/codec";
import { LeaseStore } from "../../shared/ratelimit/lease-store";
import type { Policy } from "../../shared/ratelimit/types";

/** The pure parts of leases: the store, validation, the check's lease arguments and reply, config, headers. */

const fw = (lease?: Policy["lease"]): Policy => ({ name: "fw", algorithm: fixedWindow({ limit: 10, windowMs: 60_000 }), ...(lease ? { lease } : {}) });
const tb = (lease?: Policy["lease"]): Policy => ({
  name: "tb",
  algorithm: tokenBucket({ capacity: 20, refill: 1, intervalMs: 1000 }),
  ...(lease ? { lease } : {}),
});

describe("LeaseStore", () => {
  const lease = (units: number, expiresAt = 2000) => ({ units, expiresAt, base: 7, resetAt: 5000 });

  it("takes a cost from every key's lease, or from none when one cannot pay", () => {
    const store = new LeaseStore();
    store.grant("a", lease(3));
    store.grant("b", lease(1));
    expect(store.take(["a", "b"], 1, 1000)).toEqual([
      { units: 2, remaining: 9, resetMs: 4000 },
      { units: 0, remaining: 7, resetMs: 4000 },
    ]);
    expect(store.take(["a", "b"], 1, 1000)).toBeUndefined(); // b is spent
    expect(store.units("a", 1000)).toBe(2); // a kept its units
    expect(store.take(["a"], 3, 1000)).toBeUndefined(); // a cost larger than what is left
    expect(store.take(["missing"], 1, 1000)).toBeUndefined();
  });

  it("never uses a lease at or after its end, and drops it", () => {
    const store = new LeaseStore();
    store.grant("a", lease(5, 2000));
    expect(store.units("a", 1999)).toBe(5);
    expect(store.take(["a"], 1, 2000)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it("replaces a lease with a new grant, holds none for a grant of 0, forgets one on delete", () => {
    const store = new LeaseStore();
    store.grant("a", lease(5));
    store.grant("a", lease(2));
    expect(store.units("a", 0)).toBe(2);
    store.grant("a", lease(0));
    expect(store.size).toBe(0);
    store.grant("a", lease(4));
    store.delete("a");
    expect(store.units("a", 0)).toBe(0);
  });

  it("is bounded: the least recently granted lease goes first", () => {
    const store = new LeaseStore(2);
    for (const key of ["a", "b", "c"]) store.grant(key, lease(1));
    expect(store.size).toBe(2);
    expect(store.units("a", 0)).toBe(0);
    expect(store.units("c", 0)).toBe(1);
  });

  it("marks keys pending until their lease request settles, fulfilled or not", async () => {
    const store = new LeaseStore();
    let fail!: (e: Error) => void;
    const request = new Promise((_, reject) => (fail = reject));
    store.track(["a", "b"], request);
    expect(store.isPending("a")).toBe(true);
    const pending = store.pendingFor(["x", "b"]);
    expect(pending).toBeDefined();
    fail(new Error("lost"));
    await pending; // never rejects: a waiter simply asks Redis itself
    await Promise.resolve();
    expect(store.isPending("a")).toBe(false);
    expect(store.pendingFor(["a", "b"])).toBeUndefined();
  });
});

describe("lease validation", () => {
  it("accepts 1 to limit units for 1 ms to 1 h, on every algorithm", () => {
    for (const algorithm of [fixedWindow({ limit: 10, windowMs: 1001 }), slidingWindow({ limit: 10, windowMs: 1001 }), tokenBucket({ capacity: 10, refill: 1, intervalMs: 1 })]) {
      expect(() => validatePolicies([{ name: "p", algorithm, lease: { units: 10, ttlMs: 3_600_000 } }])).not.toThrow();
      expect(() => validatePolicies([{ name: "p", algorithm, lease: { units: 1, ttlMs: 1 } }])).not.toThrow();
    }
    expect(() => validatePolicies([fw({ units: 11, ttlMs: 1000 })])).toThrow(/lease units must be an integer from 1 to 10/);
    expect(() => validatePolicies([fw({ units: 1.5, ttlMs: 1000 })])).toThrow(RangeError);
    expect(() => validatePolicies([fw({ units: 1, ttlMs: 3_600_001 })])).toThrow(/lease ttlMs/);
  });

  it("refuses a lease on a window of 1 s or less, which could never grant one", () => {
    for (const algorithm of [fixedWindow({ limit: 10, windowMs: 1000 }), slidingWindow({ limit: 10, windowMs: 500 })]) {
      expect(() => validatePolicies([{ name: "p", algorithm, lease: { units: 1, ttlMs: 100 } }])).toThrow(/a lease needs a window longer than 1000 ms/);
    }
  });
});

describe("the check's lease arguments and reply", () => {
  it("sends the lease wanted and the policy's ttl per policy; 0 0 for none and always for peek", () => {
    const targets = [fw({ units: 4, ttlMs: 500 }), tb()].map((policy, i) => ({ policy, key: `k${i}` }));
    expect(buildCheck("limit", 1, targets, [4, 0]).args).toEqual(["limit", "1", "fwc", "10", "60000", "10000", "4", "500", "tb", "20", "1", "1000", "0", "0"]);
    expect(buildCheck("peek", 0, targets, [4, 0]).args.slice(6, 8)).toEqual(["0", "0"]);
  });

  it("parses each grant: units and ms", () => {
    const targets = [fw(), tb()].map((policy) => ({ policy, id: "u" }));
    const { grants } = parseCheck([1, 1, 5, 100, 0, 0, 4, 900, 1, 15, 3000, 0, 0, 0, 0], targets);
    expect(grants).toEqual([
      { units: 4, ms: 900 },
      { units: 0, ms: 0 },
    ]);
  });

  it("a local admission reports each policy's lease and says source lease", () => {
    const targets = [fw(), tb()].map((policy) => ({ policy, id: "u" }));
    const result = leaseResult(targets, [
      { units: 2, remaining: 5, resetMs: 1000 },
      { units: 8, remaining: 12, resetMs: 4000 },
    ]);
    expect(result).toMatchObject({ allowed: true, remaining: 5, resetMs: 1000, retryAfterMs: 0, source: "lease" });
    expect(result.policies.map((p) => p.leased)).toEqual([2, 8]);
  });
});

describe("RATE_POLICIES lease", () => {
  it("parses units and ttl into the policy's lease", () => {
    const config = parseRateConfig({ policies: { hot: { algorithm: "sliding-window", limit: 100, window: "1m", lease: { units: 10, ttl: "2s" } } } });
    expect(config.policies.get("hot")!.lease).toEqual({ units: 10, ttlMs: 2000 });
    expect(config.policies.get("api")!.lease).toBeUndefined();
  });

  it("refuses more units than the limit, a ttl outside 10ms..1h, and unknown fields, naming RATE_POLICIES", () => {
    const bad = [
      { units: 101, ttl: "1s" },
      { units: 1, ttl: "5ms" },
      { units: 1, ttl: "2h" },
      { units: 1, ttl: "1s", extra: true },
      { units: 0, ttl: "1s" },
    ];
    for (const lease of bad) {
      expect(() => parseRateConfig({ policies: { hot: { algorithm: "fixed-window", limit: 100, window: "1m", lease } } })).toThrow(ConfigError);
      expect(() => parseRateConfig({ policies: { hot: { algorithm: "fixed-window", limit: 100, window: "1m", lease } } })).toThrow(/RATE_POLICIES/);
    }
  });
});

describe("headers of a lease", () => {
  it("add RateLimit-Source / Checked-RateLimit-Source: lease only for an answer from a lease", () => {
    const policy = fw();
    const fromLease = leaseResult([{ policy, id: "u" }], [{ units: 1, remaining: 3, resetMs: 2000 }]);
    expect(rateLimitHeaders([policy], fromLease)).toMatchObject({ "RateLimit-Source": "lease", RateLimit: '"fw";r=3;t=2' });
    expect(checkedHeaders([policy], fromLease)).toMatchObject({ "Checked-RateLimit-Source": "lease" });
    const { source: _, ...fromRedis } = fromLease;
    expect(rateLimitHeaders([policy], fromRedis)).not.toHaveProperty("RateLimit-Source");
    expect(checkedHeaders([policy], fromRedis)).not.toHaveProperty("Checked-RateLimit-Source");
  });
});
