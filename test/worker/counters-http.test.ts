import { afterEach, describe, expect, it } from "vitest";
import { WindowedCounters } from "../../shared/counters";
import { clearFaults, countRoundTrips, setFaults, testRedis, uniqueName } from "./helpers";
import { callWorker } from "./rate-helpers";

/** `/v1/counters/{name}` through the real Worker (API protection off: only the route's own requests). */

const PREFIX = uniqueName("ctr-http");
const counters = new WindowedCounters(testRedis(), { prefix: PREFIX });
const OFF = { RATE_POLICIES: '{"middleware":{"v1":[],"public":[]}}', KEY_PREFIX: PREFIX };
const call = (path: string, init: RequestInit = {}) => callWorker(path, init, OFF);
const hit = (name: string, body?: unknown) =>
  call(`/v1/counters/${encodeURIComponent(name)}`, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const total = async (name: string) => (await counters.series(name, { granularity: "hour", buckets: 2 })).total;

afterEach(clearFaults);

describe("POST /v1/counters/{name}", () => {
  it("returns the new counts; by defaults to 1; one request", async () => {
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
    expect(await total(name)).toBe(1);
  });

  it("a body that is not JSON is a 415 problem and counts nothing", async () => {
    const name = uniqueName("form");
    const form = { method: "POST", body: "by=5", headers: { "Content-Type": "application/x-www-form-urlencoded" } };
    const res = await call(`/v1/counters/${name}`, form);
    expect(res.status).toBe(415);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    expect(await total(name)).toBe(0);
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
    expect(await total(name)).toBe(2);
  });
});

describe("GET /v1/counters/{name}", () => {
  it("returns { granularity, buckets: [{ start, count }], total } in one request", async () => {
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
  ])("%s is a 400 problem, with no Redis request", async (_, query) => {
    const { result: res, requests } = await countRoundTrips(() => call(`/v1/counters/${uniqueName()}?${query}`));
    expect(res.status).toBe(400);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    expect(requests).toBe(0);
  });

  it("Redis down is a 503 problem, not a hang", async () => {
    await setFaults({ down: "5xx" });
    const res = await call(`/v1/counters/${uniqueName()}`);
    expect(res.status).toBe(503);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  });
});
