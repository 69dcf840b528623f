import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../functions/index";
import { COUNTER_SCRIPTS, GRANULARITIES, WindowedCounters } from "../../shared/counters/windowed-counter";
import { InvalidInputError } from "../../shared/errors";
import { clearFaults, countRoundTrips, setFaults, sleep, testRedis, uniqueName } from "./helpers";

/** Windowed counters: the core against the real Redis, and `/v1/counters/{name}` through the Worker. */

const PREFIX = uniqueName("ctr");
const redis = testRedis();
const counters = new WindowedCounters(redis, { prefix: PREFIX });
/** Calls the Worker with the rate-limit middleware off, so round trips are the route's own. */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${env.API_TOKEN}`);
  if (init.body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  const overrides = { RATE_POLICIES: '{"middleware":{"v1":[],"public":[]}}', KEY_PREFIX: PREFIX };
  return await worker.fetch(new Request(`http://worker.test${path}`, { ...init, headers }), { ...env, ...overrides }, createExecutionContext());
}
const hit = (name: string, body?: unknown) =>
  call(`/v1/counters/${encodeURIComponent(name)}`, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

afterEach(clearFaults);

describe("the core", () => {
  it("pins its scripts' SHA1s (edit them deliberately)", async () => {
    const shas = Object.fromEntries(await Promise.all(COUNTER_SCRIPTS.map(async (s) => [s.name, await s.sha1()])));
    expect(shas).toEqual({
      "counter-hit": "c0545b8a41eb259d9307d55830dcf5415d8fea1e",
      "counter-series": "a0f67ac7c31ce41d21de7167eb58d834d93ebc7f",
    });
  });

  it("a hit adds to the current second, minute and hour, in one request", async () => {
    const name = uniqueName("hit");
    await counters.hit(name); // scripts loaded
    const { result, requests } = await countRoundTrips(() => counters.hit(name, 4));
    expect(requests).toBe(1);
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

  it("a series is the last N buckets, oldest first, zero-filled, in one request", async () => {
    const name = uniqueName("series");
    await counters.hit(name, 2);
    await sleep(1100);
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

  it("defaults to 60 minute buckets; a counter never hit is all zeros", async () => {
    const series = await counters.series(uniqueName("empty"));
    expect(series.granularity).toBe("minute");
    expect(series.buckets).toHaveLength(60);
    expect(series.total).toBe(0);
  });

  it("old buckets count as nothing: a ring slot left by an older bucket is ignored and overwritten", async () => {
    const name = uniqueName("stale");
    const key = `${PREFIX}:counter:second:${name}`;
    // Fill every slot of the seconds ring with a bucket from long ago.
    const slots = Object.fromEntries(Array.from({ length: GRANULARITIES.second.size }, (_, i) => [String(i), `${i * 1000}:99`]));
    await redis.hset(key, slots);
    expect((await counters.series(name, { granularity: "second", buckets: 300 })).total).toBe(0);
    expect((await counters.hit(name)).second).toBe(1);
  });

  it("every ring expires by itself, one full ring after its last hit", async () => {
    const name = uniqueName("ttl");
    await counters.hit(name);
    for (const [granularity, { stepMs, size }] of Object.entries(GRANULARITIES)) {
      const ttl = await redis.pttl(`${PREFIX}:counter:${granularity}:${name}`);
      expect(ttl).toBeGreaterThan(stepMs * size - 5000);
      expect(ttl).toBeLessThanOrEqual(stepMs * size);
    }
  });

  it("refuses bad input before any request", async () => {
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

describe("POST /v1/counters/{name}", () => {
  it("returns the new counts; by defaults to 1", async () => {
    const name = uniqueName("post");
    const first = await hit(name);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ minute: 1, hour: 1 });
    const { result: second, requests } = await countRoundTrips(() => hit(name, { by: 10 }));
    expect(requests).toBe(1);
    expect(await second.json()).toMatchObject({ minute: 11, hour: 11 });
  });

  it.each([
    ["by 0", { by: 0 }],
    ["a negative by", { by: -3 }],
    ["a fractional by", { by: 2.5 }],
    ["by as a string", { by: "2" }],
    ["an unknown field", { by: 1, at: 0 }],
  ])("%s is a 400 problem and counts nothing", async (_, body) => {
    const name = uniqueName("bad");
    await hit(name);
    const res = await hit(name, body);
    expect(res.status).toBe(400);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    expect((await counters.series(name, { granularity: "hour", buckets: 2 })).total).toBe(1);
  });

  it("a body that is not JSON is a 415 problem and counts nothing", async () => {
    const name = uniqueName("form");
    const form = { method: "POST", body: "by=5", headers: { "Content-Type": "application/x-www-form-urlencoded" } };
    const res = await call(`/v1/counters/${name}`, form);
    expect(res.status).toBe(415);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    expect((await counters.series(name, { granularity: "hour", buckets: 2 })).total).toBe(0);
  });

  it("a name over 256 bytes is a 400 problem", async () => {
    const res = await hit("é".repeat(129));
    expect(res.status).toBe(400);
    expect((await res.json<{ detail: string }>()).detail).toContain("256 bytes");
  });

  it("is sent once, never retried: a lost reply is a 503 and the hit counted once", async () => {
    const name = uniqueName("lost");
    await hit(name);
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    const res = await hit(name);
    expect(res.status).toBe(503);
    await clearFaults();
    expect((await counters.series(name, { granularity: "hour", buckets: 2 })).total).toBe(2);
  });
});

describe("GET /v1/counters/{name}", () => {
  it("returns { granularity, buckets: [{ start, count }], total }", async () => {
    const name = uniqueName("get");
    await hit(name, { by: 3 });
    const { result: res, requests } = await countRoundTrips(() => call(`/v1/counters/${name}?granularity=hour&buckets=3`));
    expect(requests).toBe(1);
    expect(res.status).toBe(200);
    const body = await res.json<{ granularity: string; buckets: Array<{ start: number; count: number }>; total: number }>();
    expect(body.granularity).toBe("hour");
    expect(body.buckets).toHaveLength(3);
    expect(body.buckets[2]!.count).toBe(3);
    expect(body.total).toBe(3);
    expect(body.buckets[2]!.start % 3_600_000).toBe(0);
  });

  it.each([
    ["buckets over the cap", "granularity=minute&buckets=1441"],
    ["zero buckets", "buckets=0"],
    ["non-numeric buckets", "buckets=ten"],
    ["an unknown granularity", "granularity=day"],
  ])("%s is a 400 problem", async (_, query) => {
    const res = await call(`/v1/counters/${uniqueName()}?${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  });

  it("Redis down is a 503 problem, not a hang", async () => {
    await setFaults({ down: "5xx" });
    const res = await call(`/v1/counters/${uniqueName()}`);
    expect(res.status).toBe(503);
  });
});
