import { Hono } from "hono";
import {
  cache,
  cacheOf,
  edgeRedis,
  type EdgeRedisEnv,
  lock,
  problemHandler,
  rateLimit,
  withLock,
} from "edge-redis-functions/hono";
import { tokenBucket } from "edge-redis-functions/ratelimit";

/**
 * A shop-like Worker that uses edge-redis-functions only through its package entries. Each
 * adapter has its own routes:
 * - `edgeRedis()` puts the cores on `c.var` (leaderboards, counters, cache, locks);
 * - `cache()` in front of GET /products/:id, /prices and /account;
 * - `rateLimit()` on POST /login, per `X-User`;
 * - `lock()` on POST /orders/:id/pay, `withLock()` inside POST /reports.
 * UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN come from `.dev.vars` or secrets.
 */
const app = new Hono<EdgeRedisEnv>();
app.onError(problemHandler);
// Registered before the cores, so it answers even without Redis credentials.
app.get("/", (c) => c.text("hono-app example: see src/index.ts for the routes"));
app.use("*", edgeRedis({ prefix: "shop" }));

// 3 attempts, then one more per hour: a login guard that never resets mid-test.
const loginPolicy = { name: "login", algorithm: tokenBucket({ capacity: 3, refill: 1, intervalMs: 3_600_000 }) };

// Cache-aside: the handler runs on a miss only; `rendered` tells a cached answer from a new one.
app.get("/products/:id", cache({ ttl: 60, tags: (c) => [`product:${c.req.param("id")}`] }), (c) => {
  c.header("Cache-Tag", "products");
  return c.json({ id: c.req.param("id"), rendered: crypto.randomUUID() });
});

// Served stale for up to 60 s after a soft invalidation, while the route runs again in the background.
app.get("/prices", cache({ ttl: 60, staleTtl: 60, tags: ["prices"] }), (c) => c.json({ rendered: crypto.randomUUID() }));

// A private answer is never stored nor shared.
app.get("/account", cache({ ttl: 60 }), (c) => {
  c.header("Cache-Control", "private");
  return c.json({ rendered: crypto.randomUUID() });
});

app.post("/invalidate", async (c) => {
  const { tags, mode } = await c.req.json<{ tags: string[]; mode?: "hard" | "soft" }>();
  return c.json(await cacheOf(c).invalidate({ tags, mode: mode ?? "hard" }));
});

app.post("/login", rateLimit({ policies: [loginPolicy], key: (c) => c.req.header("X-User") }), (c) => c.json({ ok: true }));

// One payment per order at a time; the fence orders writes if a lease is ever lost.
app.post("/orders/:id/pay", lock({ name: (c) => `order:${c.req.param("id")}`, ttlMs: 5000 }), (c) =>
  c.json({ order: c.req.param("id"), paidWithFence: c.var.lease.fence }),
);

app.post("/reports", async (c) => {
  const report = await withLock(c, "nightly-report", ({ fence }) => ({ fence }), { ttlMs: 5000 });
  return c.json(report);
});

app.post("/scores", async (c) => {
  const { member, score } = await c.req.json<{ member: string; score: number }>();
  return c.json(await c.var.leaderboards.submit("arena", member, score));
});

app.get("/top", async (c) => c.json(await c.var.leaderboards.top("arena", { limit: 10 })));

app.post("/visits/:page", async (c) => c.json(await c.var.counters.hit(`page:${c.req.param("page")}`)));

export default app;
