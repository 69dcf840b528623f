import { describe, expect, it } from "vitest";
import { Cache, InflightMap, json, type InvalidationMode, type Loaded } from "../../shared/cache";
import { deferred, sleep, testRedis, uniqueName } from "./helpers";

const jitter = (maxMs = 3) => sleep(Math.floor(Math.random() * (maxMs + 1)));

describe("invalidate vs fill", () => {
  it("1,000 races: once invalidate returns, no read serves a value loaded before it as fresh", async () => {
    const prefix = uniqueName("race");
    const LANES = 10;
    const ROUNDS = 100; // LANES × ROUNDS = 1,000 iterations
    let staleReads = 0;
    let racedFills = 0; // fills that loaded a version older than the invalidation that followed

    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        const cache = new Cache(testRedis(), { prefix, onBackgroundError: () => {} });
        const tag = `lane-${lane}`;
        let version = 0; // the "database": each write bumps it, then invalidates the tag
        for (let round = 0; round < ROUNDS; round++) {
          const key = `k-${lane}-${round}`;
          const mode: InvalidationMode = round % 2 === 0 ? "hard" : "soft";
          const loaderStarted = deferred();
          const loader = async (): Promise<Loaded> => {
            loaderStarted.resolve();
            await jitter();
            const seen = version;
            await jitter();
            return { value: json(seen), ttl: 5, tags: [tag] }; // short-lived: 1,000 keys need not outlive the test
          };
          const fill = cache.fetch(key, loader);
          const write = (async () => {
            // The write lands while the load is in progress: before or after it reads the data.
            await loaderStarted.promise;
            await jitter();
            const written = ++version;
            await cache.invalidate({ tags: [tag], mode });
            // The invalidation has returned: a fresh read must show `written` or later.
            const read = await cache.get(key);
            if (read && !read.stale && (read.value as { value: number }).value < written) staleReads++;
            return written;
          })();
          const [filled, written] = await Promise.all([fill, write]);
          if ((filled.value as { value: number }).value < written) racedFills++;
          const after = await cache.get(key);
          if (after && !after.stale && (after.value as { value: number }).value < version) staleReads++;
        }
      }),
    );

    expect(staleReads).toBe(0);
    // The race window was really exercised: many fills loaded data the invalidation superseded.
    expect(racedFills).toBeGreaterThan(10);
  });
});

describe("a fill overtaken by an invalidation", () => {
  it("is answered as stale, also to a caller that joined it after the invalidation returned", async () => {
    const cache = new Cache(testRedis(), { prefix: uniqueName("join"), onBackgroundError: () => {} });
    const loading = deferred();
    const gate = deferred();
    const first = cache.fetch("k", async (): Promise<Loaded> => {
      loading.resolve();
      await gate.promise;
      return { value: json("old"), ttl: 60, tags: ["t"] };
    });
    await loading.promise; // the read has returned: the load is as of a time before the invalidation
    await cache.invalidate({ tags: ["t"] });
    let otherLoads = 0;
    const joined = cache.fetch("k", async () => ({ value: json(`new${++otherLoads}`), ttl: 60, tags: ["t"] }));
    gate.resolve();
    for (const result of [await first, await joined]) {
      expect(result).toMatchObject({ status: "MISS", value: json("old"), stale: true, ttlSeconds: 0 });
    }
    expect(otherLoads).toBe(0); // it did join the in-flight load
    expect(await cache.get("k")).toBeNull(); // and the store refused the value
  });
});

describe("stampede", () => {
  it("200 concurrent misses on one key: one load per isolate at most, one across isolates", async () => {
    const prefix = uniqueName("stampede");
    // Four "isolates": each its own in-flight map and Redis client, as separate isolates have.
    const isolates = Array.from({ length: 4 }, () => ({
      cache: new Cache(testRedis(), { prefix, inflight: new InflightMap(), waitMs: 5000 }),
      loads: 0,
    }));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const isolate = isolates[i % isolates.length]!;
        return isolate.cache.fetch(
          "hot",
          async () => {
            isolate.loads++;
            await sleep(150);
            return { value: json("filled") };
          },
          { ttl: 60 },
        );
      }),
    );
    expect(results.every((r) => (r.value as { value: string }).value === "filled")).toBe(true);
    for (const isolate of isolates) expect(isolate.loads).toBeLessThanOrEqual(1);
    expect(isolates.reduce((sum, i) => sum + i.loads, 0)).toBe(1);
    // The lease holder's 50 callers share its MISS; the other isolates waited and read the fill.
    expect(results.filter((r) => r.status === "MISS")).toHaveLength(50);
    expect(results.filter((r) => r.status === "HIT")).toHaveLength(150);
  });

  it("caches built per request in one isolate share its single flight: 50 concurrent fetches, one load", async () => {
    const prefix = uniqueName("per-request");
    let loads = 0;
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        new Cache(testRedis(), { prefix }).fetch("hot", async () => {
          loads++;
          await sleep(100);
          return { value: json("once") };
        }, { ttl: 60 }),
      ),
    );
    expect(loads).toBe(1);
    expect(results.filter((r) => r.status === "MISS")).toHaveLength(50); // every caller shared the one load
  });

  it("a caller that cannot get the lease waits only briefly, then loads itself", async () => {
    const prefix = uniqueName("stuck");
    // Two isolates: each has its own in-flight map.
    const holder = new Cache(testRedis(), { prefix, leaseMs: 10_000, inflight: new InflightMap() });
    const other = new Cache(testRedis(), { prefix, waitMs: 300, inflight: new InflightMap() });
    const loading = deferred();
    const gate = deferred();
    const blocked = holder.fetch("k", async (): Promise<Loaded> => {
      loading.resolve();
      await gate.promise;
      return { value: json("late") };
    }, { ttl: 60 });
    await loading.promise; // the holder has read and taken the lease (it loads only then); its loader hangs
    const started = Date.now();
    const mine = await other.fetch("k", async () => ({ value: json("mine") }), { ttl: 60 });
    expect(mine).toMatchObject({ status: "MISS", value: json("mine") });
    expect(Date.now() - started).toBeLessThan(2000);
    gate.resolve();
    await blocked;
  });
});
