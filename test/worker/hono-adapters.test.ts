import { env } from "cloudflare:test";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cache, edgeRedis, type EdgeRedisEnv, lock, problemHandler, rateLimit, type UpstashBindings } from "../../functions/hono";
import { Locks } from "../../shared/lock";
import { tokenBucket, type Policy } from "../../shared/ratelimit";
import { clearFaults, deferred, setFaults, testRedis, uniqueName } from "./helpers";

/**
 * The Hono adapters in an app of their own (not the service), called with `app.request`: the
 * outcomes a user's routes rely on beyond the example app's happy paths: a Redis that is down
 * or not configured, concurrent misses, a route that throws while holding a lock.
 */
const bindings: UpstashBindings = { UPSTASH_REDIS_REST_URL: env.UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN: env.UPSTASH_REDIS_REST_TOKEN };
const unconfigured: UpstashBindings = {};

afterEach(clearFaults);

function bucket(name: string, failure: "open" | "closed"): Policy {
  return { name, algorithm: tokenBucket({ capacity: 2, refill: 1, intervalMs: 3_600_000 }), failure };
}

describe("rateLimit()", () => {
  const app = new Hono();
  app.onError(problemHandler);
  app.get("/open", rateLimit({ policies: [bucket("open", "open")], key: () => "me" }), (c) => c.text("ran"));
  app.get("/closed", rateLimit({ policies: [bucket("closed", "closed")], key: () => "me" }), (c) => c.text("ran"));

  it("without Redis credentials, a fail-open policy runs the route and a fail-closed one answers 503", async () => {
    const open = await app.request("/open", {}, unconfigured);
    expect(open.status).toBe(200);
    expect(await open.text()).toBe("ran");
    expect(open.headers.get("RateLimit-Policy")).toBe('"open";q=2;w=7200');
    expect(open.headers.get("RateLimit")).toBeNull();

    const closed = await app.request("/closed", {}, unconfigured);
    expect(closed.status).toBe(503);
    expect(await closed.json()).toMatchObject({ type: "urn:problem:rate-limit-unavailable" });
  });

  it("never checks an unknown path (a 404 costs no Upstash request)", async () => {
    const res = await app.request("/nowhere", {}, unconfigured);
    expect(res.status).toBe(404);
    expect(res.headers.get("RateLimit-Policy")).toBeNull();
  });
});

describe("cache()", () => {
  it("runs the route once for concurrent misses of one key; every caller gets its answer", async () => {
    let runs = 0;
    const gate = deferred();
    const app = new Hono();
    app.get("/slow", cache({ ttl: 60, key: () => uniqueKey }), async (c) => {
      runs++;
      await gate.promise;
      return c.json({ run: runs });
    });
    const uniqueKey = uniqueName("slow");
    const pending = [app.request("/slow", {}, bindings), app.request("/slow", {}, bindings), app.request("/slow", {}, bindings)];
    setTimeout(gate.resolve, 50);
    const answers = await Promise.all(pending.map(async (p) => (await p).json()));
    expect(runs).toBe(1);
    expect(answers).toEqual([{ run: 1 }, { run: 1 }, { run: 1 }]);
  });

  it("stores neither errors nor private answers, and lets other methods through", async () => {
    let runs = 0;
    const app = new Hono();
    const key = uniqueName("k");
    app.use("*", cache({ ttl: 60, key: (c) => `${key}${c.req.path}` }));
    app.get("/missing", (c) => c.json({ run: ++runs }, 404));
    app.get("/mine", (c) => c.json({ run: ++runs }, 200, { "Cache-Control": "private, max-age=60" }));
    app.post("/mine", (c) => c.json({ run: ++runs }));

    for (const path of ["/missing", "/mine"]) {
      const first = await app.request(path, {}, bindings);
      const second = await app.request(path, {}, bindings);
      expect([first.headers.get("X-Cache"), second.headers.get("X-Cache")]).toEqual(["BYPASS", "BYPASS"]);
      expect((await second.json<{ run: number }>()).run).toBe((await first.json<{ run: number }>()).run + 1);
    }
    const posted = await app.request("/mine", { method: "POST" }, bindings);
    expect(posted.headers.get("X-Cache")).toBeNull();
  });

  it("answers from the route, uncached, when Redis is down", async () => {
    const app = new Hono();
    app.get("/data", cache({ ttl: 60, key: () => uniqueName("down") }), (c) => c.json({ fresh: true }));
    await setFaults({ down: "5xx" });
    const res = await app.request("/data", {}, bindings);
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Cache")).toBe("BYPASS");
    expect(await res.json()).toEqual({ fresh: true });
  });
});

describe("lock()", () => {
  it("releases the lock when the route throws, and the error is a 500 problem", async () => {
    const name = uniqueName("boom");
    const app = new Hono<EdgeRedisEnv>();
    app.onError(problemHandler);
    app.use("*", edgeRedis());
    app.post("/boom", lock({ name }), () => {
      throw new Error("route failed");
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await app.request("/boom", { method: "POST" }, bindings);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ type: "urn:problem:internal" });
    // A bug is logged with its stack for the operator, never sent to the client.
    expect(logged.mock.calls.flat().some((arg) => arg instanceof Error && arg.message === "route failed")).toBe(true);
    logged.mockRestore();
    expect(await new Locks(testRedis()).status(name)).toEqual({ locked: false });
  });
});

describe("edgeRedis()", () => {
  it("answers 503 redis-not-configured without credentials", async () => {
    const app = new Hono<EdgeRedisEnv>();
    app.onError(problemHandler);
    app.use("*", edgeRedis());
    app.get("/top", async (c) => c.json(await c.var.leaderboards.top("arena")));
    const res = await app.request("/top", {}, unconfigured);
    expect(res.status).toBe(503);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ type: "urn:problem:redis-not-configured" });
  });
});
