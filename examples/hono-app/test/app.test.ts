import { env, SELF } from "cloudflare:test";
import { Locks } from "edge-redis-functions/lock";
import { createRedis } from "edge-redis-functions/redis";
import { describe, expect, it } from "vitest";

/**
 * The example Worker in workerd, against a real Redis behind the local Upstash-compatible
 * endpoint: every adapter through the package's own entry names.
 */
const call = (path: string, init?: RequestInit) => SELF.fetch(`http://example.test${path}`, init);
const unique = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}`;
const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  call(path, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: body === undefined ? null : JSON.stringify(body) });

async function read(path: string) {
  const res = await call(path);
  return { status: res.status, xCache: res.headers.get("X-Cache"), body: await res.json<{ rendered: string }>() };
}

describe("cache()", () => {
  it("answers the second GET from Redis, and runs the route again after its tag is invalidated", async () => {
    const path = `/products/${unique("p")}`;
    const first = await read(path);
    expect(first).toMatchObject({ status: 200, xCache: "MISS" });
    const second = await read(path);
    expect(second).toMatchObject({ status: 200, xCache: "HIT" });
    expect(second.body).toEqual(first.body);

    expect((await post("/invalidate", { tags: [`product:${path.split("/")[2]}`] })).status).toBe(200);
    const third = await read(path);
    expect(third.xCache).toBe("MISS");
    expect(third.body.rendered).not.toBe(first.body.rendered);
  });

  it("tags entries with the response's Cache-Tag header too", async () => {
    const path = `/products/${unique("p")}`;
    const first = await read(path);
    expect((await read(path)).xCache).toBe("HIT");
    await post("/invalidate", { tags: ["products"] });
    const after = await read(path);
    expect(after.xCache).toBe("MISS");
    expect(after.body.rendered).not.toBe(first.body.rendered);
  });

  it("never stores a private response", async () => {
    const first = await read("/account");
    const second = await read("/account");
    expect([first.xCache, second.xCache]).toEqual(["BYPASS", "BYPASS"]);
    expect(second.body.rendered).not.toBe(first.body.rendered);
  });

  it("after a soft invalidation, refreshes the entry in the request that takes the lease, and serves it from then on", async () => {
    const first = await read("/prices");
    await post("/invalidate", { tags: ["prices"], mode: "soft" });
    const refreshed = await read("/prices");
    expect(refreshed.xCache).toBe("MISS");
    expect(refreshed.body.rendered).not.toBe(first.body.rendered);
    const next = await read("/prices");
    expect(next.xCache).toBe("HIT");
    expect(next.body).toEqual(refreshed.body);
  });
});

describe("rateLimit()", () => {
  it("lets 3 logins per user through with RateLimit headers, then answers 429 with Retry-After", async () => {
    const user = { "X-User": unique("u") };
    for (let remaining = 2; remaining >= 0; remaining--) {
      const res = await post("/login", undefined, user);
      expect(res.status).toBe(200);
      expect(res.headers.get("RateLimit-Policy")).toBe('"login";q=3;w=10800');
      expect(res.headers.get("RateLimit")).toMatch(new RegExp(`^"login";r=${remaining};t=\\d+$`));
    }
    const denied = await post("/login", undefined, user);
    expect(denied.status).toBe(429);
    expect(denied.headers.get("Content-Type")).toBe("application/problem+json");
    expect(Number(denied.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await denied.json()).toMatchObject({ type: "urn:problem:rate-limited", policy: "login" });

    // Another user is counted apart; a request without the header is not counted at all.
    expect((await post("/login", undefined, { "X-User": unique("u") })).status).toBe(200);
    expect((await post("/login")).headers.get("RateLimit")).toBeNull();
  });
});

describe("lock() and withLock()", () => {
  const locks = () => new Locks(createRedis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }), { prefix: "shop" });

  it("refuses a payment with 409 while the order is locked, and runs it with a newer fence once released", async () => {
    const order = unique("o");
    const held = await locks().acquire(`order:${order}`, { ttlMs: 10_000 });
    if (!held.acquired) throw new Error("the test's own acquire failed");

    const refused = await post(`/orders/${order}/pay`);
    expect(refused.status).toBe(409);
    expect(refused.headers.get("Retry-After")).not.toBeNull();
    expect(await refused.json()).toMatchObject({ type: "urn:problem:lock-held" });

    expect((await locks().release(`order:${order}`, held.token)).released).toBe(true);
    const paid = await post(`/orders/${order}/pay`);
    expect(paid.status).toBe(200);
    const body = await paid.json<{ paidWithFence: number }>();
    expect(body.paidWithFence).toBeGreaterThan(held.fence);
    // The middleware released the lock after the route.
    expect(await locks().status(`order:${order}`)).toEqual({ locked: false });
  });

  it("withLock runs the section under the lock, and answers 409 while another holds it", async () => {
    const ran = await post("/reports");
    expect(ran.status).toBe(200);
    const first = await ran.json<{ fence: number }>();

    const held = await locks().acquire("nightly-report", { ttlMs: 10_000, waitMs: 5000 });
    if (!held.acquired) throw new Error("the test's own acquire failed");
    try {
      expect((await post("/reports")).status).toBe(409);
    } finally {
      await locks().release("nightly-report", held.token);
    }
    expect(held.fence).toBeGreaterThan(first.fence);
  });
});

describe("edgeRedis() cores on c.var", () => {
  it("ranks submitted scores", async () => {
    const [a, b] = [unique("a"), unique("b")];
    await post("/scores", { member: a, score: 20 });
    await post("/scores", { member: b, score: 10 });
    const top = await (await call("/top")).json<{ entries: Array<{ member: string; rank: number }> }>();
    const ranks = Object.fromEntries(top.entries.map((e) => [e.member, e.rank]));
    expect(ranks[a]).toBeLessThan(ranks[b]!);
  });

  it("counts visits", async () => {
    const page = unique("page");
    // A new name: every window's count starts at this hit.
    expect(await (await post(`/visits/${page}`)).json()).toEqual({ second: 1, minute: 1, hour: 1 });
  });
});
