import { describe, expect, it } from "vitest";
import { Cache, InflightMap, json } from "../../shared/cache";
import { readCall } from "../../shared/cache/codec";
import { L1Cache } from "../../shared/cache/l1";
import { READ_ENTRY } from "../../shared/cache/scripts";
import { api, countCacheRoute, countRoundTrips, sleep, slowReplies, testRedis, uniqueName } from "./helpers";

/**
 * The in-isolate L1: reads that accept a bounded staleness are answered from memory. Each
 * simulated isolate is a Cache with its own L1 and in-flight map over the same Redis.
 */
function isolate(prefix: string, l1 = new L1Cache(), redis = testRedis()) {
  return { cache: new Cache(redis, { prefix, l1, inflight: new InflightMap(), onBackgroundError: () => {} }), l1 };
}

describe("cache L1", () => {
  it("a hot read costs no request within the bound, and one after it", async () => {
    const { cache } = isolate(uniqueName("l1"));
    await cache.set("hot", json({ v: 1 }), { ttl: 60 });
    await cache.get("hot"); // the script is known to Redis before the count
    // The first read and the hot ones run back to back inside one count: reading the counters is
    // I/O, which moves the Workers clock, and may wait for a quiet endpoint.
    const reads = await countRoundTrips(async () => {
      const first = await cache.get("hot", { maxStaleMs: 300 });
      expect(first).toMatchObject({ value: json({ v: 1 }), stale: false });
      expect(first?.l1).toBeUndefined(); // from Redis
      for (let i = 0; i < 20; i++) expect((await cache.get("hot", { maxStaleMs: 300 }))?.l1).toBeDefined();
    });
    expect(reads.requests).toBe(1);
    await sleep(350);
    const after = await countRoundTrips(() => cache.get("hot", { maxStaleMs: 300 }));
    expect(after.requests).toBe(1);
    expect(after.result?.l1).toBeUndefined(); // confirmed by Redis just now
  });

  it("concurrent readers whose copy lapsed together share one request", async () => {
    const { cache } = isolate(uniqueName("l1"));
    await cache.set("hot", json({ v: 1 }), { ttl: 60 });
    await cache.get("hot"); // the script is known to Redis before the count
    const cold = await countRoundTrips(() => Promise.all(Array.from({ length: 8 }, () => cache.get("hot", { maxStaleMs: 200 }))));
    expect(cold.requests).toBe(1);
    await sleep(250);
    const lapsed = await countRoundTrips(() => Promise.all(Array.from({ length: 8 }, () => cache.get("hot", { maxStaleMs: 200 }))));
    expect(lapsed.requests).toBe(1);
    for (const entry of lapsed.result) expect(entry?.value).toEqual(json({ v: 1 }));
  });

  it("an invalidation through the same isolate takes effect at once", async () => {
    const { cache } = isolate(uniqueName("l1"));
    await cache.set("k", json(1), { ttl: 60, tags: ["t"] });
    await cache.get("k", { maxStaleMs: 60_000 });
    await cache.invalidate({ tags: ["t"] });
    expect(await cache.get("k", { maxStaleMs: 60_000 })).toBeNull();
    await cache.set("k", json(2), { ttl: 60 });
    expect((await cache.get("k", { maxStaleMs: 60_000 }))?.value).toEqual(json(2));
  });

  it("a read that raced a set of the same isolate keeps nothing", async () => {
    const { cache } = isolate(uniqueName("l1"));
    await cache.set("k", json("old"), { ttl: 60 });
    for (let i = 0; i < 5; i++) {
      const set = cache.set("k", json(`new-${i}`), { ttl: 60 });
      const read = cache.get("k", { maxStaleMs: 60_000 });
      await Promise.all([set, read]);
      expect((await cache.get("k", { maxStaleMs: 60_000 }))?.value).toEqual(json(`new-${i}`));
    }
  });

  it("an invalidation elsewhere is honoured within the bound, and never later", async () => {
    const prefix = uniqueName("l1");
    const a = isolate(prefix);
    const b = isolate(prefix);
    const bound = 400;
    await a.cache.set("k", json("old"), { ttl: 60, tags: ["t"] });
    expect((await a.cache.get("k", { maxStaleMs: bound }))?.value).toEqual(json("old"));
    await b.cache.invalidate({ tags: ["t"] });
    const invalidatedAt = Date.now();
    for (;;) {
      const askedAt = Date.now(); // the bound is about when the read is asked
      const read = await a.cache.get("k", { maxStaleMs: bound });
      if (read === null) break;
      expect(askedAt - invalidatedAt).toBeLessThanOrEqual(bound);
      await sleep(25);
    }
    expect(Date.now() - invalidatedAt).toBeLessThanOrEqual(bound + 1000);
  });

  it("a slow reply does not stretch the bound: it counts from when the read was sent", async () => {
    const prefix = uniqueName("l1");
    let now = Date.now();
    const { redis, beforeNextReply } = slowReplies();
    const { cache: a } = isolate(prefix, new L1Cache(1 << 20, () => now), redis);
    const b = isolate(prefix);
    const bound = 1_000;
    await a.set("k", json("old"), { ttl: 60, tags: ["t"] });
    // Redis answers A's read; then B invalidates, and the reply takes 800 ms to reach A.
    const sentAt = now;
    beforeNextReply(async () => {
      await b.cache.invalidate({ tags: ["t"] });
      now += 800;
    });
    expect((await a.get("k", { maxStaleMs: bound }))?.value).toEqual(json("old"));
    now = sentAt + bound - 50;
    expect((await a.get("k", { maxStaleMs: bound }))?.l1).toBeDefined(); // within the bound of the invalidation
    now = sentAt + bound + 50;
    expect(await a.get("k", { maxStaleMs: bound })).toBeNull(); // not the reply's arrival + bound
  });

  it("a revalidation answered 'unchanged' after a set through the same isolate dropped the copy reads again: never a false miss", async () => {
    let now = Date.now();
    const { redis, beforeNextReply } = slowReplies();
    const { cache } = isolate(uniqueName("l1"), new L1Cache(1 << 20, () => now), redis);
    await cache.set("k", json("v1"), { ttl: 60 });
    expect((await cache.get("k", { maxStaleMs: 100 }))?.value).toEqual(json("v1")); // the copy is held
    now += 200; // past the bound: the next read revalidates the held version
    // Redis answers "unchanged"; before the reply arrives, a set through this isolate drops the copy.
    beforeNextReply(async () => {
      await cache.set("k", json("v2"), { ttl: 60 });
    });
    expect((await cache.get("k", { maxStaleMs: 100 }))?.value).toEqual(json("v2"));
  });

  it("never serves a copy past its own TTL, whatever the bound", async () => {
    const { cache } = isolate(uniqueName("l1"));
    await cache.set("short", json(1), { ttl: 1 });
    await cache.get("short", { maxStaleMs: 60_000 });
    await sleep(1100);
    const read = await countRoundTrips(() => cache.get("short", { maxStaleMs: 60_000 }));
    expect(read.result).toBeNull();
    expect(read.requests).toBe(1);
  });

  it("revalidates without resending the value: Redis answers 'unchanged' for the held version", async () => {
    const redis = testRedis();
    const { cache } = isolate(uniqueName("l1"));
    const big = "x".repeat(200_000);
    await cache.set("big", json(big), { ttl: 60 });
    const first = (await READ_ENTRY.run(redis, readCall(cache.keys, "big", { leaseMs: 0, token: "", gap: 0 }))) as string[];
    const version = first[9]!;
    expect(first[3]!.length).toBeGreaterThan(200_000);
    const again = (await READ_ENTRY.run(redis, readCall(cache.keys, "big", { leaseMs: 0, token: "", gap: 0, known: version }))) as Array<string | number>;
    expect(again[3]).toBe("");
    expect(Number(again[10])).toBe(1);
    await cache.set("big", json("changed"), { ttl: 60 });
    const changed = (await READ_ENTRY.run(redis, readCall(cache.keys, "big", { leaseMs: 0, token: "", gap: 0, known: version }))) as Array<string | number>;
    expect(Number(changed[10])).toBe(0);
    expect(changed[3]).toBe('"changed"');
  });

  it("stays within its byte budget under a stream of distinct keys", async () => {
    const l1 = new L1Cache(50_000);
    const { cache } = isolate(uniqueName("l1"), l1);
    for (let i = 0; i < 200; i++) {
      await cache.set(`k${i}`, json("v".repeat(1000)), { ttl: 60 });
      await cache.get(`k${i}`, { maxStaleMs: 60_000 });
      expect(l1.bytes).toBeLessThanOrEqual(50_000);
    }
    expect(l1.size).toBeGreaterThan(0);
    expect(l1.size).toBeLessThan(200);
  });

  it("fetch answers HIT-L1 from memory too", async () => {
    const { cache } = isolate(uniqueName("l1"));
    let loads = 0;
    const loader = async () => ({ value: json(++loads) });
    expect((await cache.fetch("f", loader, { ttl: 60, maxStaleMs: 5000 })).status).toBe("MISS");
    expect((await cache.fetch("f", loader, { ttl: 60, maxStaleMs: 5000 })).status).toBe("HIT");
    const third = await countRoundTrips(() => cache.fetch("f", loader, { ttl: 60, maxStaleMs: 5000 }));
    expect(third.result.status).toBe("HIT-L1");
    expect(third.requests).toBe(0);
    expect(loads).toBe(1);
  });
});

describe("GET /v1/cache/{key} with Cache-Control: max-stale", () => {
  it("answers HIT-L1 with no request, says how long ago Redis confirmed it, and a PUT through this isolate shows at once", async () => {
    const key = uniqueName("l1http");
    const put = (value: number) => api(`/v1/cache/${key}`, { method: "PUT", body: JSON.stringify({ value, ttl: 60 }) });
    const get = () => api(`/v1/cache/${key}`, { headers: { "Cache-Control": "max-stale=5" } });
    await put(1);
    expect((await get()).headers.get("X-Cache")).toBe("HIT");
    const second = await countCacheRoute(get, 0);
    expect(second.requests).toBe(0);
    expect(second.result.headers.get("X-Cache")).toBe("HIT-L1");
    expect(second.result.headers.get("X-Cache-Confirmed")).toMatch(/^\d+ms$/);
    await put(2);
    const third = await get();
    expect(third.headers.get("X-Cache")).toBe("HIT");
    expect(await third.json()).toMatchObject({ value: 2 });
    // Without max-stale (and CACHE_L1_MS unset), every read asks Redis.
    expect((await countCacheRoute(() => api(`/v1/cache/${key}`), 1)).requests).toBe(1);
  });
});
