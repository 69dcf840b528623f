import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../functions/index";
import { afterEach } from "vitest";
import { api, clearFaults, json, setFaults, sleep, testRedis, uniqueName } from "./helpers";

const put = (key: string, body: unknown, init: RequestInit = {}) => api(`/v1/cache/${encodeURIComponent(key)}`, json(body, { method: "PUT", ...init }));
const get = (key: string) => api(`/v1/cache/${encodeURIComponent(key)}`);
const invalidate = (body: unknown) => api("/v1/cache/invalidate", json(body));

async function problemOf(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  return res.json<{ type: string; status: number; detail: string; errors?: Array<{ path: string; message: string }> }>();
}

/** Whether the Worker's Redis holds the entry hash of `key` at all (KEY_PREFIX "erf", namespace kv). */
async function stored(key: string): Promise<boolean> {
  return (await testRedis().exists(`erf:cache:entry:kv:${key}`)) === 1;
}

function callWorker(path: string, init: RequestInit, overrides: Partial<Cloudflare.Env>) {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${env.API_TOKEN}`);
  headers.set("Content-Type", "application/json");
  return worker.fetch(new Request(`http://worker.test${path}`, { ...init, headers }), { ...env, ...overrides }, createExecutionContext());
}

describe("PUT, GET, DELETE /v1/cache/{key}", () => {
  it("creates (201), replaces (200), reads with X-Cache and Age, deletes idempotently (204)", async () => {
    const key = uniqueName("k");
    expect((await put(key, { value: { a: 1 }, ttl: 60, tags: ["x"] })).status).toBe(201);
    const replaced = await put(key, { value: { a: 2 }, ttl: 60, tags: ["x", "y"] });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toEqual({ key, replaced: true });
    const res = await get(key);
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Cache")).toBe("HIT");
    expect(res.headers.get("Age")).toBe("0");
    expect(await res.json()).toEqual({ key, value: { a: 2 }, tags: ["x", "y"], ageSeconds: 0, ttlSeconds: 60, stale: false });
    expect((await api(`/v1/cache/${key}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/v1/cache/${key}`, { method: "DELETE" })).status).toBe(204);
    expect((await problemOf(await get(key), 404)).type).toBe("urn:problem:cache-miss");
  });

  it("stores text and base64 bytes with their content type; keys may hold an encoded '/'", async () => {
    const key = `${uniqueName("dir")}/page?x=1`;
    expect((await put(key, { value: "<p>hé</p>", ttl: 60, contentType: "text/html; charset=utf-8" })).status).toBe(201);
    expect(await (await get(key)).json()).toMatchObject({ key, value: "<p>hé</p>", contentType: "text/html; charset=utf-8", encoding: "utf8" });
    const bin = uniqueName("bin");
    expect((await put(bin, { value: "AP8Q", ttl: 60, encoding: "base64", contentType: "image/x-test" })).status).toBe(201);
    expect(await (await get(bin)).json()).toMatchObject({ value: "AP8Q", contentType: "image/x-test", encoding: "base64" });
  });
});

describe("POST /v1/cache/invalidate", () => {
  it("hard by tag: 200 with what was invalidated; the entry is gone", async () => {
    const [key, tag] = [uniqueName("k"), uniqueName("tag")];
    await put(key, { value: 1, ttl: 60, tags: [tag] });
    const res = await invalidate({ tags: [tag] });
    expect(res.status).toBe(200);
    const body = await res.json<{ tags: string[]; keys: string[]; mode: string; at: string }>();
    expect(body).toMatchObject({ tags: [tag], keys: [], mode: "hard" });
    expect(Number.isNaN(Date.parse(body.at))).toBe(false);
    expect((await get(key)).status).toBe(404);
  });

  it("soft by key: served with X-Cache STALE", async () => {
    const key = uniqueName("k");
    await put(key, { value: 1, ttl: 60 });
    expect((await invalidate({ keys: [key], mode: "soft" })).status).toBe(200);
    const res = await get(key);
    expect(res.headers.get("X-Cache")).toBe("STALE");
    expect(await res.json()).toMatchObject({ value: 1, stale: true, ttlSeconds: 0 });
  });

  it("at in the future: 202 with an id, listed, cancellable once; at in the past applies now", async () => {
    const [key, tag] = [uniqueName("k"), uniqueName("tag")];
    await put(key, { value: 1, ttl: 60, tags: [tag] });
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const res = await invalidate({ tags: [tag], mode: "soft", at });
    expect(res.status).toBe(202);
    const item = await res.json<{ id: string; at: string }>();
    expect(item).toMatchObject({ tags: [tag], keys: [], mode: "soft", at });
    expect((await get(key)).headers.get("X-Cache")).toBe("HIT");

    const listed = await (await api("/v1/cache/invalidations?limit=100")).json<{ total: number; invalidations: Array<{ id: string }> }>();
    expect(listed.invalidations).toContainEqual({ id: item.id, tags: [tag], keys: [], mode: "soft", at });
    expect((await api(`/v1/cache/invalidations/${item.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await problemOf(await api(`/v1/cache/invalidations/${item.id}`, { method: "DELETE" }), 404)).type).toBe("urn:problem:invalidation-not-found");
    const after = await (await api("/v1/cache/invalidations?limit=100")).json<{ invalidations: Array<{ id: string }> }>();
    expect(after.invalidations.map((i) => i.id)).not.toContain(item.id);

    const past = await invalidate({ tags: [tag], at: new Date(Date.now() - 60_000).toISOString() });
    expect(past.status).toBe(200);
    expect((await get(key)).status).toBe(404);
  });
});

describe("bad input gets a 400 or 413 problem and stores nothing", () => {
  it("PUT: bad keys, ttls, tags, bodies", async () => {
    const key = uniqueName("bad");
    const cases: Array<[string, RequestInit, number]> = [
      [`/v1/cache/${"k".repeat(513)}`, json({ value: 1, ttl: 60 }, { method: "PUT" }), 400],
      [`/v1/cache/a%00b`, json({ value: 1, ttl: 60 }, { method: "PUT" }), 400],
      [`/v1/cache/a%0Ab`, json({ value: 1, ttl: 60 }, { method: "PUT" }), 400],
      [`/v1/cache/invalidations`, json({ value: 1, ttl: 60 }, { method: "PUT" }), 400],
      ...[0, -1, 31_536_001, 1.5, "60", null].map((ttl): [string, RequestInit, number] => [`/v1/cache/${key}`, json({ value: 1, ttl }, { method: "PUT" }), 400]),
      [`/v1/cache/${key}`, json({ value: 1 }, { method: "PUT" }), 400],
      [`/v1/cache/${key}`, json({ ttl: 60 }, { method: "PUT" }), 400],
      [`/v1/cache/${key}`, json({ value: 1, ttl: 60, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }, { method: "PUT" }), 400],
      [`/v1/cache/${key}`, json({ value: 1, ttl: 60, tags: ["ok", "bad\u0007"] }, { method: "PUT" }), 400],
      [`/v1/cache/${key}`, json({ value: 1, ttl: 60, tags: ["x".repeat(257)] }, { method: "PUT" }), 400],
      [`/v1/cache/${key}`, json({ value: 1, ttl: 60, staleTtl: -1 }, { method: "PUT" }), 400],
      [`/v1/cache/${key}`, json({ value: 1, ttl: 60, surprise: true }, { method: "PUT" }), 400],
      [`/v1/cache/${key}`, json({ value: 1, ttl: 60, encoding: "base64" }, { method: "PUT" }), 400],
      [`/v1/cache/${key}`, json({ value: "%%%", ttl: 60, encoding: "base64" }, { method: "PUT" }), 400],
      [`/v1/cache/${key}`, { method: "PUT", body: '{"value": 1, "ttl": 6' }, 400],
      [`/v1/cache/${key}`, { method: "PUT", body: JSON.stringify({ value: "x".repeat(2 * 1024 * 1024), ttl: 60 }) }, 413],
    ];
    for (const [path, init, status] of cases) {
      const res = await api(path, init);
      const problem = await problemOf(res, status);
      expect(problem.detail.length).toBeGreaterThan(0);
    }
    const notJson = await api(`/v1/cache/${key}`, { method: "PUT", body: "value=1", headers: { "Content-Type": "text/plain" } });
    expect((await problemOf(notJson, 415)).type).toBe("urn:problem:http-415");
    expect((await get(key)).status).toBe(404);
    expect(await stored(key)).toBe(false);
    expect(await stored("k".repeat(513))).toBe(false);
    expect(await stored("invalidations")).toBe(false);
  });

  it("a value over CACHE_MAX_VALUE_BYTES is a 413 problem and stores nothing", async () => {
    const key = uniqueName("big");
    const res = await callWorker(`/v1/cache/${key}`, { method: "PUT", body: JSON.stringify({ value: "x".repeat(3000), ttl: 60 }) }, { CACHE_MAX_VALUE_BYTES: "2048" });
    expect((await problemOf(res, 413)).type).toBe("urn:problem:value-too-large");
    expect(await stored(key)).toBe(false);
  });

  it("POST invalidate: nothing to invalidate, bad mode, bad at, too many tags or keys", async () => {
    const [key, tag] = [uniqueName("k"), uniqueName("tag")];
    await put(key, { value: 1, ttl: 60, tags: [tag] });
    const bodies = [
      {},
      { tags: [] },
      { tags: [tag], mode: "medium" },
      { tags: [tag], at: "tomorrow" },
      { tags: [tag], at: "2030-01-01T00:00:00" }, // no offset
      { tags: [tag], at: new Date(Date.now() + 2 * 365 * 86_400_000).toISOString() },
      { tags: [tag, ...Array.from({ length: 64 }, (_, i) => `t${i}`)] },
      { keys: Array.from({ length: 101 }, (_, i) => `k${i}`) },
      { keys: ["a\u0000"] },
      { tags: [tag], extra: 1 },
    ];
    for (const body of bodies) await problemOf(await invalidate(body), 400);
    expect((await get(key)).headers.get("X-Cache")).toBe("HIT");
  });
});

describe("when Redis is unavailable", () => {
  afterEach(clearFaults);

  it("reads and writes answer a 503 problem, never a hang or a raw Redis error", async () => {
    const key = uniqueName("down");
    await setFaults({ down: "5xx" });
    for (const res of [await get(key), await put(key, { value: 1, ttl: 60 }), await invalidate({ tags: ["t"] })]) {
      expect((await problemOf(res, 503)).type).toBe("urn:problem:redis-unavailable");
    }
    await clearFaults();
    expect(await stored(key)).toBe(false);
  });
});

describe("OpenAPI", () => {
  it("documents the cache and proxy routes", async () => {
    const doc = await (await api("/openapi.json", { auth: false })).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(doc.paths["/v1/cache/{key}"] ?? {}).sort()).toEqual(["delete", "get", "put"]);
    expect(doc.paths["/v1/cache/invalidate"]?.post).toBeDefined();
    expect(doc.paths["/v1/cache/invalidations"]?.get).toBeDefined();
    expect(doc.paths["/v1/cache/invalidations/{id}"]?.delete).toBeDefined();
    expect(doc.paths["/v1/proxy/{path}"]?.get).toBeDefined();
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/__bench/cache"))).toEqual([]);
  });
});

describe("GET /v1/cache/stats", () => {
  it("counts hits, stale hits, misses and fills per minute, flushed from the isolate every few seconds", async () => {
    type Stats = { minutes: Array<{ start: number; hits: number; staleHits: number; misses: number; fills: number }>; totals: Record<string, number> };
    const read = async () => (await (await api("/v1/cache/stats?minutes=2")).json<Stats>()).totals;
    const before = await read();
    const key = uniqueName("stats");
    await api(`/v1/cache/${key}`); // a miss
    await put(key, { value: 1, ttl: 60 });
    await api(`/v1/cache/${key}`); // a hit
    await api(`/v1/cache/${key}`); // a hit
    // The isolate flushes at most every 5 s, on the next cache request after that.
    let after = await read();
    const deadline = Date.now() + 15_000;
    while (after.hits! - before.hits! < 2 && Date.now() < deadline) {
      await sleep(500);
      after = await read();
    }
    expect(after.hits! - before.hits!).toBeGreaterThanOrEqual(2);
    expect(after.misses! - before.misses!).toBeGreaterThanOrEqual(1);
    const res = await (await api("/v1/cache/stats?minutes=2")).json<Stats>();
    expect(res.minutes).toHaveLength(2);
    expect(res.minutes[1]!.start - res.minutes[0]!.start).toBe(60_000);
    expect((await api("/v1/cache/stats?minutes=121")).status).toBe(400);
  });
});
