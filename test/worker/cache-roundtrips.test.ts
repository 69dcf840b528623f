import { describe, expect, it } from "vitest";
import { Cache, json } from "../../shared/cache";
import { CacheStats } from "../../shared/cache/stats";
import { countRoundTrips, testRedis, uniqueName } from "./helpers";

/**
 * Round trips and Redis commands per operation, counted at the local endpoint. Each test first
 * runs the scripts once, so EVALSHA finds them loaded (a cold NOSCRIPT adds one EVAL, once).
 */
async function warmCache() {
  const cache = new Cache(testRedis(), { prefix: uniqueName("rt") });
  await cache.fetch("warm", async () => ({ value: json(0) }), { ttl: 60, tags: ["warm"] });
  await cache.invalidate({ tags: ["warm"] });
  return cache;
}

/** Copies an entry record to `count` new keys inside Redis, in one script: 100,000 entries in well under a second. */
const CLONE_ENTRY = `
local record = redis.call("GET", KEYS[1])
for i = 1, tonumber(ARGV[2]) do
  redis.call("SET", ARGV[1] .. i, record, "PX", 600000)
end
return tonumber(ARGV[2])
`;
const DELETE_CLONES = `
for i = 1, tonumber(ARGV[2]) do redis.call("UNLINK", ARGV[1] .. i) end
return 1
`;

/**
 * Commands Redis itself has run, those inside scripts included (INFO commandstats): the Redis
 * work of an operation, where the endpoint's counters see only the EVALSHA that carried it.
 */
async function redisCalls(redis: ReturnType<typeof testRedis>): Promise<number> {
  const info = String(await redis.eval("return redis.call('INFO', 'commandstats')", [], []));
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Redis-side commands `fn` caused (the measuring calls cost the same every time, so they cancel out in comparisons). */
async function redisWork(redis: ReturnType<typeof testRedis>, fn: () => Promise<unknown>): Promise<number> {
  const before = await redisCalls(redis);
  await fn();
  return (await redisCalls(redis)) - before;
}

describe("round trips", () => {
  it("a hit is one request and one command, for get and fetch", async () => {
    const cache = await warmCache();
    await cache.set("h", json("v"), { ttl: 60, tags: ["a", "b", "c"] });
    const get = await countRoundTrips(() => cache.get("h"));
    expect(get.result).toMatchObject({ value: json("v"), stale: false });
    expect(get).toMatchObject({ requests: 1, commands: 1 });
    const fetched = await countRoundTrips(() => cache.fetch("h", async () => ({ value: json("other") }), { ttl: 60 }));
    expect(fetched.result.status).toBe("HIT");
    expect(fetched).toMatchObject({ requests: 1, commands: 1 });
  });

  it("billed commands (Upstash bills each one a script runs): a hit 4 whatever its tags, a store with tags 5, a miss and fill 9, a tag invalidation 4", async () => {
    const cache = await warmCache();
    const redis = testRedis();
    const overhead = await redisWork(redis, async () => {}); // the measuring calls themselves
    const billed = async (fn: () => Promise<unknown>) => (await redisWork(redis, fn)) - overhead;
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    await cache.set("one", json(1), { ttl: 60, tags: tags(1) });
    await cache.set("many", json(1), { ttl: 60, tags: tags(20) });
    expect(await billed(() => cache.get("one"))).toBe(4);
    expect(await billed(() => cache.get("many"))).toBe(4);
    expect(await billed(() => cache.set("two", json(2), { ttl: 60, tags: tags(2) }))).toBe(5);
    expect(await billed(() => cache.fetch("fill", async () => ({ value: json(3) }), { ttl: 60, tags: tags(2) }))).toBe(9);
    expect(await billed(() => cache.invalidate({ tags: ["t0"] }))).toBe(4);
    expect(await billed(() => cache.delete("two"))).toBe(4);
    expect(await billed(() => cache.invalidate({ keys: ["one", "many"], mode: "soft" }))).toBe(3 + 2 * 2);
  });

  it("billed commands of a statistics flush: EVALSHA + one HINCRBY per kind, + an HDEL and a PEXPIRE once per new minute", async () => {
    const redis = testRedis();
    const key = `${uniqueName("rt")}:cache:stats`;
    let now = Math.floor(Date.now() / 60_000) * 60_000 + 1_000;
    const stats = new CacheStats(5_000, () => now);
    const recordAll = () => {
      for (const kind of ["hits", "staleHits", "misses", "fills"] as const) stats.record(kind, 2);
    };
    recordAll();
    await stats.flushIfDue(redis, `${key}:warm`); // the script is known to Redis before the count
    const overhead = await redisWork(redis, async () => {});
    const billed = async (fn: () => Promise<unknown>) => (await redisWork(redis, fn)) - overhead;
    now += 60_000; // a new minute, all four kinds counted
    recordAll();
    expect(await billed(() => stats.flushIfDue(redis, key))).toBe(1 + 4 + 2);
    now += 5_000; // the same minute again
    recordAll();
    expect(await billed(() => stats.flushIfDue(redis, key))).toBe(1 + 4);
    now += 1_000; // not due yet: nothing is sent
    stats.record("hits");
    expect(await billed(() => stats.flushIfDue(redis, key))).toBe(0);
  });

  it("a miss that loads and stores is two requests plus the loader", async () => {
    const cache = await warmCache();
    const miss = await countRoundTrips(() => cache.fetch("m", async () => ({ value: json(1) }), { ttl: 60, tags: ["x"] }));
    expect(miss.result.status).toBe("MISS");
    expect(miss).toMatchObject({ requests: 2, commands: 2 });
  });

  it("a tag carried by 100,000 entries is invalidated with the same requests and commands as a tag carried by one", async () => {
    const cache = await warmCache();
    const redis = testRedis({ timeoutMs: 30_000 });
    const N = 100_000;
    await cache.set("template", json("big"), { ttl: 600, tags: ["big"] });
    await cache.set("single", json("small"), { ttl: 600, tags: ["small"] });
    const clonePrefix = cache.keys.entry("big-");
    expect(await redis.eval(CLONE_ENTRY, [cache.keys.entry("template")], [clonePrefix, String(N)])).toBe(N);
    try {
      for (const i of [1, 50_000, N]) expect(await cache.get(`big-${i}`)).toMatchObject({ value: json("big"), stale: false });

      const one = await countRoundTrips(() => cache.invalidate({ tags: ["small"] }));
      const many = await countRoundTrips(() => cache.invalidate({ tags: ["big"] }));
      expect(one).toMatchObject({ requests: 1, commands: 1 });
      expect(many).toMatchObject({ requests: one.requests, commands: one.commands });
      // Inside Redis too: the same commands for 100,000 entries as for one (O(1) per tag).
      await cache.set("single", json("small"), { ttl: 600, tags: ["small"] });
      await cache.set("template", json("big"), { ttl: 600, tags: ["big"] });
      expect(await redisWork(redis, () => cache.invalidate({ tags: ["big"] }))).toBe(
        await redisWork(redis, () => cache.invalidate({ tags: ["small"] })),
      );

      for (const i of [1, 50_000, N]) expect(await cache.get(`big-${i}`)).toBeNull();
      expect(await cache.get("single")).toBeNull();
    } finally {
      await redis.eval(DELETE_CLONES, [], [clonePrefix, String(N)]);
    }
  });
});
