import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { GRANULARITIES, WindowedCounters } from "../../shared/counters";
import { InvalidInputError } from "../../shared/errors";
import { countRoundTrips, sleep, testRedis, uniqueName } from "./helpers";

/** Windowed counters' core against the real Redis through the local endpoint. */

const PREFIX = uniqueName("ctr");
const redis = testRedis();
const counters = new WindowedCounters(redis, { prefix: PREFIX });
const key = (granularity: string, name: string) => `${PREFIX}:counter:${granularity}:${name}`;

describe("its client", () => {
  it("refuses, when built, a client that parses replies as JSON (@upstash/redis's default)", () => {
    const parsing = new Redis({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! });
    expect(() => new WindowedCounters(parsing)).toThrow(TypeError);
    expect(() => new WindowedCounters(parsing)).toThrow(/automaticDeserialization: false/);
  });

  it("writes under the default prefix erf when given none", async () => {
    const name = uniqueName("default-prefix");
    await new WindowedCounters(redis).hit(name);
    expect(await redis.exists(`erf:counter:hour:${name}`)).toBe(1);
    await redis.del(...Object.keys(GRANULARITIES).map((g) => `erf:counter:${g}:${name}`));
  });
});

describe("hits", () => {
  it("add to the current second, minute and hour, in one request", async () => {
    const name = uniqueName("hit");
    await counters.hit(name); // scripts loaded
    const { result, requests, byCommand } = await countRoundTrips(() => counters.hit(name, 4));
    expect(requests).toBe(1);
    expect(byCommand).toEqual({ EVALSHA: 1 });
    expect(result.minute).toBe(5);
    expect(result.hour).toBe(5);
    expect(result.second).toBeGreaterThanOrEqual(4); // a second boundary may fall between the hits
  });

  it("200 concurrent hits from separate clients lose nothing", async () => {
    const name = uniqueName("concurrent");
    const clients = Array.from({ length: 16 }, () => new WindowedCounters(testRedis(), { prefix: PREFIX }));
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => clients[i % 16]!.hit(name)));
    const series = await counters.series(name, { granularity: "hour", buckets: 2 });
    expect(series.total).toBe(200);
    // Every hit saw a distinct running count in its hour (the increments were atomic).
    const hourCounts = results.map((r) => r.hour);
    if (series.buckets[0]!.count === 0) expect(new Set(hourCounts).size).toBe(200);
  });

  it("keep one field per bucket, named by its start in Redis time", async () => {
    const name = uniqueName("fields");
    await counters.hit(name, 7);
    const [hourStart] = (await counters.series(name, { granularity: "hour", buckets: 1 })).buckets.map((b) => b.start);
    expect(await redis.hkeys(key("hour", name))).toEqual([String(hourStart)]);
    expect(await redis.hget(key("hour", name), String(hourStart))).toBe("7");
  });

  it("expire each hash by itself, one full ring after its newest bucket started", async () => {
    const name = uniqueName("ttl");
    await counters.hit(name);
    for (const [granularity, { stepMs, size }] of Object.entries(GRANULARITIES)) {
      const ttl = await redis.pttl(key(granularity, name));
      expect(ttl).toBeGreaterThan(stepMs * size - 5000);
      expect(ttl).toBeLessThanOrEqual(stepMs * size);
    }
  });

  it("bound memory: when a bucket starts and a hash holds more than two rings of fields, the buckets that left the ring go", async () => {
    const name = uniqueName("sweep");
    const hours = key("hour", name);
    const { size, stepMs } = GRANULARITIES.hour;
    // 2 × 168 + 10 fields of buckets long gone (and a field that is no bucket at all).
    const gone = Object.fromEntries(Array.from({ length: 2 * size + 10 }, (_, i) => [String(i * stepMs), "5"]));
    await redis.hset(hours, { ...gone, junk: "1" });
    expect((await counters.hit(name)).hour).toBe(1); // a new bucket: the sweep runs
    expect(await redis.hlen(hours)).toBe(1);
    expect((await counters.series(name, { granularity: "hour", buckets: size })).total).toBe(1);
  });

  it("leave fields outside the ring alone while the hash is under two rings: they are never read", async () => {
    const name = uniqueName("no-sweep");
    const minutes = key("minute", name);
    await redis.hset(minutes, { "0": "99", "60000": "99" });
    await counters.hit(name);
    expect(await redis.hlen(minutes)).toBe(3);
    expect((await counters.series(name, { granularity: "minute", buckets: 1440 })).total).toBe(1);
  });
});

describe("series", () => {
  it("are the last N buckets, oldest first, zero-filled, in one request", async () => {
    const name = uniqueName("series");
    await counters.hit(name, 2);
    await sleep(1100); // the next hit must land in a later second
    await counters.hit(name, 3);
    const { result, requests } = await countRoundTrips(() => counters.series(name, { granularity: "second", buckets: 5 }));
    expect(requests).toBe(1);
    expect(result.granularity).toBe("second");
    expect(result.buckets).toHaveLength(5);
    expect(result.total).toBe(5);
    const starts = result.buckets.map((b) => b.start);
    for (let i = 1; i < 5; i++) expect(starts[i]! - starts[i - 1]!).toBe(1000);
    expect(starts[4]! % 1000).toBe(0);
    expect(Math.abs(starts[4]! - Date.now())).toBeLessThan(5000); // Redis time, near ours
    const nonZero = result.buckets.filter((b) => b.count > 0).map((b) => b.count);
    expect(nonZero).toEqual([2, 3]); // two different seconds, the later one last
    expect(result.buckets[4]!.count === 3 || result.buckets[3]!.count === 3).toBe(true);
  });

  it("default to 60 minute buckets; a counter never hit is all zeros", async () => {
    const series = await counters.series(uniqueName("empty"));
    expect(series.granularity).toBe("minute");
    expect(series.buckets).toHaveLength(60);
    expect(series.total).toBe(0);
  });

  it("return the whole ring when asked (1440 minutes)", async () => {
    const name = uniqueName("ring");
    await counters.hit(name, 9);
    const series = await counters.series(name, { granularity: "minute", buckets: 1440 });
    expect(series.buckets).toHaveLength(1440);
    expect(series.buckets.at(-1)!.count).toBe(9);
    expect(series.total).toBe(9);
  });
});

describe("bad input", () => {
  it("is refused before any request", async () => {
    const attempts: Array<() => Promise<unknown>> = [
      () => counters.hit("x".repeat(257)),
      () => counters.hit("ok", 0),
      () => counters.hit("ok", -1),
      () => counters.hit("ok", 1.5),
      () => counters.series("ok", { granularity: "second", buckets: 301 }),
      () => counters.series("ok", { granularity: "hour", buckets: 169 }),
      () => counters.series("ok", { buckets: 0 }),
      () => counters.series("ok", { granularity: "day" as "hour" }),
    ];
    for (const attempt of attempts) {
      const { result, requests } = await countRoundTrips(() => attempt().then(() => null, (e: unknown) => e));
      expect(result).toBeInstanceOf(InvalidInputError);
      expect(requests).toBe(0);
    }
  });
});
