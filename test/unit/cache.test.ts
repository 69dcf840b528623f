import { describe, expect, it } from "vitest";
import { json, parseCacheControl, policyFromResponse, responseTags, stableStringify } from "../../shared/cache";
import {
  applyDueCall, decodePayload, encodePayload, invalidateCall, parseApplied, parseRead, parseStore, readCall, State, storeCall,
} from "../../shared/cache/codec";
import { cacheKeys } from "../../shared/cache/keys";
import { originTarget } from "../../shared/cache/proxy";
import { encodeValue } from "../../shared/cache/value";
import { xfetchMultiplier } from "../../shared/cache/xfetch";
import { InvalidInputError } from "../../shared/errors";

const keys = cacheKeys("p");

describe("cache keys", () => {
  it("name every key under <prefix>:cache, namespaces apart, one tag table", () => {
    expect(keys.entry("user:1")).toBe("p:cache:entry:kv:user:1");
    expect(cacheKeys("p", "proxy").entry("/a?b")).toBe("p:cache:entry:proxy:/a?b");
    expect(keys.tags).toBe("p:cache:tags");
    expect(keys.scheduleCancelled("id")).toBe("p:cache:schedule:cancelled:id");
  });
});

describe("read", () => {
  it("passes the entry and the tag table as KEYS, the lease request as ARGV", () => {
    expect(readCall(keys, "k", { leaseMs: 5000, token: "t", gap: 0 })).toEqual({
      keys: ["p:cache:entry:kv:k", "p:cache:tags"],
      args: ["5000", "t", "0", ""],
    });
  });

  it("parses a miss, and a stale hit with tags, age and ttl from Redis time", () => {
    expect(parseRead([0, "1000000", 1])).toEqual({ state: State.Absent, nowUs: 1_000_000, lease: true });
    const read = parseRead([2, "10000000", 0, '{"a":1}', "j", "", "7000000", "9000000", "a\x1fb", "v1", 0]);
    expect(read).toEqual({
      state: State.Stale,
      nowUs: 10_000_000,
      lease: false,
      version: "v1",
      storedAtUs: 7_000_000,
      freshUntilUs: 9_000_000,
      entry: { value: json({ a: 1 }), tags: ["a", "b"], ageSeconds: 3, ttlSeconds: 0, stale: true },
    });
    expect(parseRead([1, "10000000", 0, "", "j", "", "7000000", "19000000", "", "v1", 1])).toEqual({
      state: State.Fresh,
      nowUs: 10_000_000,
      lease: false,
      version: "v1",
      storedAtUs: 7_000_000,
      freshUntilUs: 19_000_000,
      unchanged: true,
    });
    expect(parseRead([1, "10000000", 0, "hi", "t", "text/plain", "10000000", "12500000", ""]).entry).toMatchObject({
      tags: [],
      ageSeconds: 0,
      ttlSeconds: 3,
      stale: false,
    });
  });
});

describe("store", () => {
  it("sends windows in ms, the value, and the tags as the rest of ARGV", () => {
    const call = storeCall(keys, "k", {
      value: encodeValue(json([1])),
      entry: { ttl: 60, staleTtl: 10, staleIfErrorTtl: 30, tags: ["x", "y"] },
      asOf: "123",
      token: "tok",
      storeId: "sid",
      fillWindowMs: 60_000,
    });
    expect(call).toEqual({
      keys: ["p:cache:entry:kv:k", "p:cache:tags"],
      args: ["123", "tok", "60000", "10000", "30000", "j", "", "[1]", "sid", "60000", "x", "y"],
    });
  });

  it("parses stored fresh, stored stale and refused", () => {
    expect(parseStore([1, 0])).toEqual({ stored: true, stale: false, replaced: false });
    expect(parseStore([2, 1])).toEqual({ stored: true, stale: true, replaced: true });
    expect(parseStore([0, "newer"])).toEqual({ stored: false, reason: "newer" });
  });
});

describe("invalidation", () => {
  it("declares every invalidated key's entry in KEYS and sends tags before key names", () => {
    const call = invalidateCall(keys, { mode: "hard", tags: ["t1", "t2"], keys: ["a", "b"] }, { epoch: "e", fillWindowMs: 60_000, channel: "ch" });
    expect(call.keys).toEqual(["p:cache:tags", "p:cache:entry:kv:a", "p:cache:entry:kv:b"]);
    expect(call.args).toEqual(["hard", "e", "60000", "ch", "2", "t1", "t2", "a", "b"]);
  });

  it("round-trips a scheduled payload, and declares each item's entries with its key count", () => {
    const item = { id: "i1", mode: "soft" as const, at: "2030-01-01T00:00:00.000Z", tags: ["a"], keys: ["k1", "k2"] };
    expect(decodePayload("i1", encodePayload(item))).toEqual(item);
    const other = { ...item, id: "i2", tags: [], keys: [] };
    const call = applyDueCall(keys, [item, other], { cutoffMs: 5, epoch: "e", fillWindowMs: 1000, channel: "ch" });
    expect(call.keys.slice(3)).toEqual(["p:cache:entry:kv:k1", "p:cache:entry:kv:k2"]);
    expect(call.args.slice(4)).toEqual(["i1", "2", "i2", "0"]);
    expect(parseApplied([3, '{"tags":["a"],"keys":[],"mode":"hard","at":"x","id":"i1"}'])).toEqual({
      remaining: 3,
      applied: [{ tags: ["a"], keys: [], mode: "hard", at: "x", id: "i1" }],
    });
  });
});

describe("proxy target", () => {
  const origin = "https://origin.example.com/bucket";
  it("keeps the origin's host and base path, and the query", () => {
    expect(originTarget(origin, "products/42", "/v1/proxy/products/42", "?lang=en").href).toBe("https://origin.example.com/bucket/products/42?lang=en");
    expect(originTarget("https://o.example", "a b/ü", "/v1/proxy/a%20b/%C3%BC", "").href).toBe("https://o.example/a%20b/%C3%BC");
  });

  it("refuses paths that could leave the origin: dot segments, empty segments, backslashes, encoded slashes", () => {
    const bad: Array<[string, string]> = [
      ["../other", "/v1/proxy/../other"],
      ["a/../../x", "/v1/proxy/a/../../x"],
      ["./a", "/v1/proxy/./a"],
      ["/evil.example/x", "/v1/proxy//evil.example/x"],
      ["a\\b", "/v1/proxy/a%5Cb"],
      ["a/b", "/v1/proxy/a%2Fb"],
      ["a/b", "/v1/proxy/a%2fb"],
    ];
    for (const [routed, raw] of bad) expect(() => originTarget(origin, routed, raw, ""), raw).toThrow(InvalidInputError);
  });

  it("builds the target from the routed path, so a path the router decoded cannot shift the origin", () => {
    // GET /v1/%70roxy/abc routes to the proxy with the path "abc": the host stays the origin's.
    expect(originTarget("https://origin.example.com", "abc", "/v1/%70roxy/abc", "").host).toBe("origin.example.com");
  });
});

describe("HTTP cache policy", () => {
  it("parses Cache-Control directives and both tag headers", () => {
    expect(parseCacheControl('max-age=60, S-MAXAGE="120", public')).toEqual(new Map<string, string | true>([["max-age", "60"], ["s-maxage", "120"], ["public", true]]));
    expect(responseTags(new Headers({ "Cache-Tag": "a, b", "Surrogate-Key": "b c" }))).toEqual(["a", "b", "c"]);
  });

  it("stores 200s with a freshness lifetime, all tags or none", () => {
    expect(policyFromResponse(200, new Headers({ "Cache-Control": "s-maxage=60, stale-while-revalidate=5" }))).toMatchObject({ store: true, ttl: 60, staleTtl: 5 });
    expect(policyFromResponse(204, new Headers({ "Cache-Control": "max-age=60" }))).toMatchObject({ store: false, reason: "status" });
    const many = Array.from({ length: 65 }, (_, i) => `t${i}`).join(",");
    expect(policyFromResponse(200, new Headers({ "Cache-Control": "max-age=60", "Cache-Tag": many }))).toMatchObject({ store: false, reason: "tags" });
  });
});

describe("XFetch and stable serialisation", () => {
  it("never refreshes early with beta 0, and grows with beta", () => {
    expect(xfetchMultiplier(0, () => 0.5)).toBe(0);
    expect(xfetchMultiplier(2, () => 0.5)).toBeCloseTo(2 * Math.LN2);
  });

  it("serialises objects with sorted keys", () => {
    expect(stableStringify([{ b: 1, a: 2 }])).toBe('[{"a":2,"b":1}]');
  });
});

describe("L1 budget and bounds (no Redis)", () => {
  it("keeps only fresh copies within the budget, serves within the bound, asks past it, drops by tag", async () => {
    const { L1Cache } = await import("../../shared/cache/l1");
    let now = 1_000;
    const l1 = new L1Cache(2_000, () => now);
    const entry = (n: number, tags: string[] = []) => ({ value: json("x".repeat(n)), tags, ageSeconds: 0, ttlSeconds: 60, stale: false });
    const timing = { nowUs: 0, freshUntilUs: 60_000_000, storedAtUs: 0 };
    l1.keep("a", entry(100, ["t"]), "v", timing, { generation: l1.generation, sentAt: now });
    expect(l1.lookup("a", 500).kind).toBe("hit");
    now += 600;
    expect(l1.lookup("a", 500).kind).toBe("revalidate");
    l1.keep("big", entry(5_000), "v", timing, { generation: l1.generation, sentAt: now }); // over the whole budget: not kept
    expect(l1.lookup("big", 500).kind).toBe("none");
    const stale = l1.generation;
    l1.invalidate(["t"], []);
    expect(l1.lookup("a", 10_000).kind).toBe("none");
    l1.keep("a", entry(100, ["t"]), "v", timing, { generation: stale, sentAt: now }); // a read that raced the invalidation
    expect(l1.lookup("a", 10_000).kind).toBe("none");
    for (let i = 0; i < 50; i++) l1.keep(`k${i}`, entry(100), "v", timing, { generation: l1.generation, sentAt: now });
    expect(l1.bytes).toBeLessThanOrEqual(2_000);
  });

  it("counts the bound and the TTL from when the read was sent, not from when the reply came", async () => {
    const { L1Cache } = await import("../../shared/cache/l1");
    let now = 10_000;
    const l1 = new L1Cache(1 << 20, () => now);
    const entry = { value: json("x"), tags: [], ageSeconds: 0, ttlSeconds: 1, stale: false };
    // Sent at 10 000, answered 400 ms later with 1 s of freshness left as Redis saw it.
    const read = { generation: l1.generation, sentAt: now };
    now += 400;
    l1.keep("slow", entry, "v", { nowUs: 5_000_000, freshUntilUs: 6_000_000, storedAtUs: 5_000_000 }, read);
    expect(l1.lookup("slow", 500).kind).toBe("hit");
    now += 101; // 501 ms after the read was sent: a change Redis saw just after it may be that old
    expect(l1.lookup("slow", 500).kind).toBe("revalidate");
    l1.confirm("slow", { nowUs: 5_500_000, freshUntilUs: 6_000_000 }, now - 300); // revalidated by a read sent 300 ms ago
    expect(l1.lookup("slow", 299).kind).toBe("revalidate");
    expect(l1.lookup("slow", 300).kind).toBe("hit");
    now += 200; // 500 ms of freshness left at the revalidation's send time: gone at +500, not +800
    expect(l1.lookup("slow", 60_000).kind).toBe("none");
  });
});
