import { afterEach, describe, expect, it } from "vitest";
import { Cache, bytes, cached, InflightMap, InvalidationScheduler, json, memoKey, stableStringify, text, ValueTooLargeError, type CacheOptions, type Loaded } from "../../shared/cache";
import { InvalidInputError, RedisUnavailableError } from "../../shared/errors";
import { clearFaults, countRoundTrips, deferred, setFaults, sleep, testRedis, uniqueName } from "./helpers";

/** A cache on a fresh prefix, so nothing here touches another test's keys. */
function makeCache(options: Partial<CacheOptions> = {}) {
  const redis = testRedis();
  const cache = new Cache(redis, { prefix: uniqueName("cc"), onBackgroundError: () => {}, ...options });
  return { cache, redis };
}

/** Collects `waitUntil` work so a test can wait for background refreshes. */
function background() {
  const tasks: Promise<unknown>[] = [];
  return { waitUntil: (p: Promise<unknown>) => void tasks.push(p), settle: () => Promise.all(tasks), get count() { return tasks.length; } };
}


/**
 * PUBLISH calls Redis has run, commands inside scripts included (INFO commandstats). The
 * endpoint's counters see only the EVALSHA, so this is how a test sees the publish itself.
 */
async function publishCount(): Promise<number> {
  const info = String(await testRedis().eval("return redis.call('INFO', 'commandstats')", [], []));
  return Number(/cmdstat_publish:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

afterEach(clearFaults);

describe("get, set, delete", () => {
  it("round-trips JSON with tags, age and ttl; reports created then replaced", async () => {
    const { cache } = makeCache();
    expect(await cache.get("a")).toBeNull();
    expect(await cache.set("a", json({ n: 1, s: "é" }), { ttl: 60, tags: ["t1", "t2", "t1"] })).toEqual({ replaced: false });
    expect(await cache.set("a", json({ n: 2, s: "é" }), { ttl: 60, tags: ["t1", "t2"] })).toEqual({ replaced: true });
    const entry = await cache.get("a");
    expect(entry).toMatchObject({ value: { type: "json", value: { n: 2, s: "é" } }, tags: ["t1", "t2"], ageSeconds: 0, stale: false });
    expect(entry!.ttlSeconds).toBeGreaterThanOrEqual(59);
    expect(entry!.ttlSeconds).toBeLessThanOrEqual(60);
  });

  it("keeps text and bytes exactly, with their content type", async () => {
    const { cache } = makeCache();
    const all = new Uint8Array(256).map((_, i) => i);
    await cache.set("t", text("línea\t1", "text/plain; charset=utf-8"), { ttl: 60 });
    await cache.set("b", bytes(all, "application/octet-stream"), { ttl: 60 });
    expect((await cache.get("t"))!.value).toEqual({ type: "text", text: "línea\t1", contentType: "text/plain; charset=utf-8" });
    const b = (await cache.get("b"))!.value;
    expect(b.type).toBe("bytes");
    expect(b.type === "bytes" && [...b.bytes]).toEqual([...all]);
  });

  it("refuses a value over the maximum size and stores nothing", async () => {
    const { cache } = makeCache({ maxValueBytes: 1024 });
    await expect(cache.set("big", text("x".repeat(1025)), { ttl: 60 })).rejects.toBeInstanceOf(ValueTooLargeError);
    await expect(cache.set("big", bytes(new Uint8Array(1025)), { ttl: 60 })).rejects.toBeInstanceOf(ValueTooLargeError);
    expect(await cache.get("big")).toBeNull();
    await cache.set("ok", text("x".repeat(1024)), { ttl: 60 });
    expect(await cache.get("ok")).not.toBeNull();
  });

  it("refuses bad keys, ttls and tags before touching Redis", async () => {
    const { cache } = makeCache();
    const bad: Array<() => Promise<unknown>> = [
      () => cache.set("k".repeat(513), json(1), { ttl: 60 }),
      () => cache.set("a\u0000b", json(1), { ttl: 60 }),
      () => cache.set("k", json(1), { ttl: 0 }),
      () => cache.set("k", json(1), { ttl: 31_536_001 }),
      () => cache.set("k", json(1), { ttl: 1.5 }),
      () => cache.set("k", json(1), { ttl: 60, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }),
      () => cache.set("k", json(1), { ttl: 60, tags: ["bad\ntag"] }),
      () => cache.set("k", json(undefined), { ttl: 60 }),
      () => cache.invalidate({}),
    ];
    const { requests } = await countRoundTrips(async () => {
      for (const call of bad) await expect(call()).rejects.toBeInstanceOf(InvalidInputError);
    });
    expect(requests).toBe(0);
    expect(await cache.get("k")).toBeNull();
  });

  it("delete removes the entry and is idempotent", async () => {
    const { cache } = makeCache();
    await cache.set("d", json(1), { ttl: 60 });
    await cache.delete("d");
    await cache.delete("d");
    expect(await cache.get("d")).toBeNull();
    await cache.set("d", json(2), { ttl: 60 });
    expect((await cache.get("d"))!.value).toEqual(json(2));
  });
});

describe("invalidation", () => {
  it("hard by tag removes exactly the entries carrying the tag, and publishes the event", async () => {
    const { cache } = makeCache();
    await cache.set("a", json("a"), { ttl: 60, tags: ["red"] });
    await cache.set("b", json("b"), { ttl: 60, tags: ["red", "blue"] });
    await cache.set("c", json("c"), { ttl: 60, tags: ["blue"] });
    const published = await publishCount();
    const { result: event, requests } = await countRoundTrips(() => cache.invalidate({ tags: ["red"] }));
    expect(requests).toBe(1);
    expect((await publishCount()) - published).toBe(1);
    expect(event).toMatchObject({ tags: ["red"], keys: [], mode: "hard" });
    expect(Math.abs(Date.parse(event.at) - Date.now())).toBeLessThan(60_000);
    expect(await cache.get("a")).toBeNull();
    expect(await cache.get("b")).toBeNull();
    expect((await cache.get("c"))!.value).toEqual(json("c"));
    // New entries under the tag are fresh again.
    await cache.set("a", json("a2"), { ttl: 60, tags: ["red"] });
    expect(await cache.get("a")).toMatchObject({ value: json("a2"), stale: false });
  });

  it("soft by tag or key leaves entries served as stale", async () => {
    const { cache } = makeCache();
    await cache.set("a", json("a"), { ttl: 60, tags: ["red"] });
    await cache.set("b", json("b"), { ttl: 60 });
    const event = await cache.invalidate({ tags: ["red"], keys: ["b"], mode: "soft" });
    expect(event).toMatchObject({ tags: ["red"], keys: ["b"], mode: "soft" });
    expect(await cache.get("a")).toMatchObject({ value: json("a"), stale: true, ttlSeconds: 0 });
    expect(await cache.get("b")).toMatchObject({ value: json("b"), stale: true });
  });

  it("a soft-invalidated entry is served STALE once while one caller refreshes it", async () => {
    const { cache } = makeCache();
    await cache.set("s", json("old"), { ttl: 60, tags: ["t"] });
    await cache.invalidate({ tags: ["t"], mode: "soft" });
    const bg = background();
    let loads = 0;
    const loader = async (): Promise<Loaded> => ({ value: json(`new${++loads}`), ttl: 60, tags: ["t"] });
    const results = await Promise.all([1, 2, 3].map(() => cache.fetch("s", loader, { waitUntil: bg.waitUntil })));
    expect(results.map((r) => r.status)).toEqual(["STALE", "STALE", "STALE"]);
    await bg.settle();
    expect(loads).toBe(1);
    expect(await cache.fetch("s", loader)).toMatchObject({ status: "HIT", value: json("new1"), stale: false });
  });

  it("refresh inline: the caller that takes the lease loads before it answers, others are answered stale meanwhile", async () => {
    const prefix = uniqueName("cc");
    const { cache } = makeCache({ prefix });
    const { cache: otherIsolate } = makeCache({ prefix, inflight: new InflightMap(), l1: false });
    await cache.set("s", json("old"), { ttl: 60, tags: ["t"] });
    await cache.invalidate({ tags: ["t"], mode: "soft" });
    const gate = deferred();
    const loading = deferred();
    const refreshing = cache.fetch("s", async () => { loading.resolve(); await gate.promise; return { value: json("new"), ttl: 60, tags: ["t"] }; }, { refresh: "inline" });
    await loading.promise;
    const meanwhile = await otherIsolate.fetch("s", async () => ({ value: json("other") }), { refresh: "inline" });
    expect(meanwhile).toMatchObject({ status: "STALE", value: json("old") });
    gate.resolve();
    expect(await refreshing).toMatchObject({ status: "MISS", value: json("new"), stale: false });
    expect(await otherIsolate.get("s")).toMatchObject({ value: json("new"), stale: false });
  });

  it("is eviction-safe: a tag missing from the table never makes an entry look fresh", async () => {
    const { cache, redis } = makeCache();
    await cache.set("e", json(1), { ttl: 60, tags: ["evicted"] });
    await redis.hdel(cache.keys.tags, "e:evicted", "h:evicted", "s:evicted", "k:evicted"); // what pruning too early would do
    expect(await cache.get("e")).toBeNull();
    // The tag comes back with a new epoch when another entry is stored; the old one stays gone.
    await cache.set("f", json(2), { ttl: 60, tags: ["evicted"] });
    expect(await cache.get("e")).toBeNull();
    expect(await cache.get("f")).not.toBeNull();
  });

  it("is eviction-safe when the whole tag table goes: every tagged entry misses, untagged ones stay", async () => {
    const { cache, redis } = makeCache();
    await cache.set("tagged", json(1), { ttl: 60, tags: ["a"] });
    await cache.set("plain", json(2), { ttl: 60 });
    await redis.del(cache.keys.tags); // what an eviction of the table does
    expect(await cache.get("tagged")).toBeNull();
    expect((await cache.get("plain"))!.value).toEqual(json(2));
  });
});

describe("fetch: TTL, stale-while-revalidate, stale-if-error, XFetch", () => {
  it("loads on a miss, then hits without the loader", async () => {
    const { cache } = makeCache();
    let loads = 0;
    const loader = async () => ({ value: json(++loads) });
    expect(await cache.fetch("m", loader, { ttl: 60 })).toMatchObject({ status: "MISS", value: json(1) });
    expect(await cache.fetch("m", loader, { ttl: 60 })).toMatchObject({ status: "HIT", value: json(1) });
    expect(await cache.getOrSet("m", async () => 99, { ttl: 60 })).toBe(1);
    expect(loads).toBe(1);
  });

  it("a loader may decide not to cache (BYPASS) and a value over the limit is not stored", async () => {
    const { cache } = makeCache({ maxValueBytes: 1024 });
    expect(await cache.fetch("n", async () => ({ value: json(1), cache: false }), { ttl: 60 })).toMatchObject({ status: "BYPASS" });
    expect(await cache.fetch("n", async () => ({ value: text("x".repeat(2000)) }), { ttl: 60 })).toMatchObject({ status: "BYPASS" });
    expect(await cache.get("n")).toBeNull();
  });

  it.concurrent("after the TTL: stale within staleTtl (refreshed in the background), absent after", async () => {
    const { cache } = makeCache();
    await cache.set("swr", json("v1"), { ttl: 1, staleTtl: 30 });
    await cache.set("gone", json("g"), { ttl: 1 });
    await sleep(1100);
    expect(await cache.get("gone")).toBeNull();
    const bg = background();
    const stale = await cache.fetch("swr", async () => ({ value: json("v2") }), { ttl: 60, waitUntil: bg.waitUntil });
    expect(stale).toMatchObject({ status: "STALE", value: json("v1"), stale: true });
    await bg.settle();
    expect(bg.count).toBe(1);
    expect(await cache.get("swr")).toMatchObject({ value: json("v2"), stale: false });
  });

  it.concurrent("after the TTL a failing loader gets the stale entry within staleIfErrorTtl, else the error", async () => {
    const { cache } = makeCache();
    await cache.set("sie", json("kept"), { ttl: 1, staleIfErrorTtl: 30 });
    await cache.set("none", json("lost"), { ttl: 1 });
    await sleep(1100);
    const failing = async (): Promise<Loaded> => {
      throw new Error("origin down");
    };
    expect(await cache.get("sie")).toBeNull(); // only an error may use it
    expect(await cache.fetch("sie", failing, { ttl: 60 })).toMatchObject({ status: "STALE", value: json("kept"), stale: true });
    await expect(cache.fetch("none", failing, { ttl: 60 })).rejects.toThrow("origin down");
    expect(await cache.fetch("sie", async () => ({ value: json("new") }), { ttl: 60 })).toMatchObject({ status: "MISS", value: json("new") });
  });

  it.concurrent("XFetch refreshes early when the draw says so, never when beta is 0", async () => {
    let loads = 0;
    const slowLoader = async () => {
      await sleep(150);
      return { value: json(++loads) };
    };
    const prefix = uniqueName("xf");
    const eager = new Cache(testRedis(), { prefix, xfetchBeta: 1, random: () => 0.999999 });
    const never = new Cache(testRedis(), { prefix, xfetchBeta: 0, random: () => 0.999999 });
    await eager.fetch("x", slowLoader, { ttl: 2 }); // delta ≈ 150 ms; 150 ms × 13.8 > 2 s
    expect(await never.fetch("x", slowLoader, { ttl: 2 })).toMatchObject({ status: "HIT" });
    expect(loads).toBe(1);
    const bg = background();
    expect(await eager.fetch("x", slowLoader, { ttl: 2, waitUntil: bg.waitUntil })).toMatchObject({ status: "HIT", value: json(1) });
    await bg.settle();
    expect(loads).toBe(2);
    expect((await eager.get("x"))!.value).toEqual(json(2));
  });
});

describe("when Redis fails", () => {
  it("fetch runs the loader and answers BYPASS (or throws when asked); get throws", async () => {
    const { cache } = makeCache();
    await setFaults({ down: "5xx" });
    expect(await cache.fetch("r", async () => ({ value: json(1) }), { ttl: 60 })).toMatchObject({ status: "BYPASS", value: json(1) });
    await expect(cache.fetch("r", async () => ({ value: json(1) }), { ttl: 60, onRedisError: "throw" })).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(cache.get("r")).rejects.toBeInstanceOf(RedisUnavailableError);
  });
});

describe("a write resent by the client after a lost reply", () => {
  it("set answers as the first try did: created, not replaced", async () => {
    const cache = new Cache(testRedis({ retries: 1 }), { prefix: uniqueName("resend") });
    await cache.set("warm", json(0), { ttl: 60 }); // the script is loaded: the fault hits its EVALSHA
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    const { result, requests } = await countRoundTrips(() => cache.set("k", json(1), { ttl: 60, tags: ["t"] }));
    await clearFaults();
    expect(requests).toBe(2); // the applied-then-dropped request and its retry
    expect(result).toEqual({ replaced: false });
    expect(await cache.get("k")).toMatchObject({ value: json(1), tags: ["t"], stale: false });
    expect(await cache.set("k", json(2), { ttl: 60 })).toEqual({ replaced: true });
  });

  it("cancel of a scheduled invalidation answers cancelled, not 'not pending'", async () => {
    const scheduler = new InvalidationScheduler(testRedis({ retries: 1 }), { prefix: uniqueName("resend") });
    const scheduled = await scheduler.schedule({ tags: ["t"] }, Date.now() + 3_600_000);
    if (!scheduled.scheduled) throw new Error("expected it scheduled");
    await scheduler.cancel("warm"); // the script is loaded: the fault hits its EVALSHA
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    const { result, requests } = await countRoundTrips(() => scheduler.cancel(scheduled.item.id));
    await clearFaults();
    expect(requests).toBe(2);
    expect(result).toBe(true);
    expect(await scheduler.cancel(scheduled.item.id)).toBe(false); // a later, separate cancel
    expect((await scheduler.list()).total).toBe(0);
  });
});

describe("function-result wrapper", () => {
  it("keys by name and stably serialised arguments: equal arguments in any key order share one load", async () => {
    const { cache } = makeCache();
    let calls = 0;
    const area = cached(cache, "area", async (shape: { w: number; h: number }, unit: string) => {
      calls++;
      return `${shape.w * shape.h} ${unit}`;
    }, { ttl: 60 });
    expect(await area({ w: 2, h: 3 }, "m2")).toBe("6 m2");
    expect(await area({ h: 3, w: 2 }, "m2")).toBe("6 m2");
    expect(calls).toBe(1);
    expect(await area({ w: 2, h: 4 }, "m2")).toBe("8 m2");
    expect(calls).toBe(2);
    expect(await memoKey("area", [{ w: 2, h: 3 }, "m2"])).toMatch(/^fn:area:[0-9a-f]{64}$/);
    expect(await memoKey("area", [{ w: 2, h: 3 }, "m2"])).toBe(await memoKey("area", [{ h: 3, w: 2 }, "m2"]));
  });

  it("takes per-call options, so results can be tagged by argument and invalidated", async () => {
    const { cache } = makeCache();
    let calls = 0;
    const user = cached(cache, "user", async (id: number) => ({ id, n: ++calls }), (id) => ({ ttl: 60, tags: [`user:${id}`] }));
    expect(await user(1)).toEqual({ id: 1, n: 1 });
    expect(await user(2)).toEqual({ id: 2, n: 2 });
    expect(await user(1)).toEqual({ id: 1, n: 1 });
    await cache.invalidate({ tags: ["user:1"] });
    expect(await user(1)).toEqual({ id: 1, n: 3 });
    expect(await user(2)).toEqual({ id: 2, n: 2 });
  });

  it("serialises like JSON with sorted keys, and refuses what has no stable form", () => {
    expect(stableStringify([{ b: 1, a: [undefined, { d: 2, c: null }], u: undefined }, "x"])).toBe('[{"a":[null,{"c":null,"d":2}],"b":1},"x"]');
    expect(stableStringify([new Date(0)])).toBe('["1970-01-01T00:00:00.000Z"]');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => stableStringify([cyclic])).toThrow("cyclic");
    expect(() => stableStringify([() => 1])).toThrow("JSON-serialisable");
    expect(() => stableStringify([1n])).toThrow("JSON-serialisable");
  });
});
