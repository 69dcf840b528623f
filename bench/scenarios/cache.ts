import { expectStatus, type BenchContext, type Scenario } from "../scenario";

/**
 * Cache scenarios. "In Worker" rows run one core operation per HTTP request through the
 * bench-only route (functions/routes/bench-cache.ts), outside `/v1`, so their REST counts are
 * the cache's alone; "HTTP API" rows are what a remote client pays, including the rate-limit
 * middleware's check on `/v1/*` (one more REST request when RATE_POLICIES leaves it on).
 * - hit: one REST request (value, its tags' records and Redis time come back from one script);
 * - miss-and-fill: a new key per operation, instant loader: read (miss, lease), store;
 * - invalidate-by-tag: a tag carried by 1,000 entries; one REST request whatever the number
 *   of entries (the seed's SMEMBERS + DEL grows with them).
 */

const HOT_KEYS = 100;
const TAGGED_ENTRIES = 1000;

async function put(ctx: BenchContext, key: string, body: Record<string, unknown>): Promise<void> {
  await expectStatus(await ctx.call(`/v1/cache/${encodeURIComponent(key)}`, { method: "PUT", body: JSON.stringify(body) }), 200, 201);
}

/** `Cache.fetch` in the Worker; throws unless the status is `expected`. */
async function fetchInWorker(ctx: BenchContext, key: string, expected: "HIT" | "MISS"): Promise<void> {
  const res = await ctx.call(`/__bench/cache/fetch/${encodeURIComponent(key)}`, { method: "POST" });
  if (res.status !== 200) return expectStatus(res, 200);
  const { status } = (await res.json()) as { status: string };
  if (status !== expected) throw new Error(`expected ${expected}, got ${status} for ${key}`);
}

/** Runs `count` calls of `fn`, `width` at a time (setup only). */
async function inParallel(count: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await fn(next++);
  }));
}

const hotKey = (ctx: BenchContext, i: number) => `${ctx.runId}-hot-${i % HOT_KEYS}`;
const wideTag = (ctx: BenchContext) => `${ctx.runId}-wide`;
const storeHot = (ctx: BenchContext) =>
  inParallel(HOT_KEYS, 8, (i) => put(ctx, hotKey(ctx, i), { value: { i, text: "x".repeat(200) }, ttl: 3600, tags: ["bench-hot", `hot-${i}`] }));
const tagWide = (ctx: BenchContext) =>
  inParallel(TAGGED_ENTRIES, 8, (i) => put(ctx, `${ctx.runId}-tagged-${i}`, { value: i, ttl: 3600, tags: [wideTag(ctx)] }));

export const scenarios: Scenario[] = [
  {
    group: "cache",
    name: "in Worker: hit (Cache.fetch on a stored key)",
    setup: storeHot,
    run: (ctx, i) => fetchInWorker(ctx, hotKey(ctx, i), "HIT"),
  },
  {
    group: "cache",
    name: "HTTP API: hit (GET /v1/cache/{key})",
    setup: storeHot,
    run: async (ctx, i) => {
      const res = await ctx.call(`/v1/cache/${hotKey(ctx, i)}`);
      if (res.headers.get("X-Cache") !== "HIT") throw new Error(`expected a HIT, got ${res.status} ${res.headers.get("X-Cache")}`);
      await expectStatus(res, 200);
    },
  },
  {
    group: "cache",
    name: "in Worker: miss-and-fill (Cache.fetch on a new key, instant loader)",
    run: (ctx, i) => fetchInWorker(ctx, `${ctx.runId}-fill-${i}`, "MISS"),
  },
  {
    group: "cache",
    name: `in Worker: invalidate-by-tag (tag on ${TAGGED_ENTRIES} entries)`,
    setup: tagWide,
    run: async (ctx) => expectStatus(await ctx.call(`/__bench/cache/invalidate/${wideTag(ctx)}`, { method: "POST" }), 200),
  },
  {
    group: "cache",
    name: `HTTP API: invalidate-by-tag (POST /v1/cache/invalidate, tag on ${TAGGED_ENTRIES} entries)`,
    setup: tagWide,
    run: async (ctx) => expectStatus(await ctx.call("/v1/cache/invalidate", { method: "POST", body: JSON.stringify({ tags: [wideTag(ctx)] }) }), 200),
  },
  {
    group: "cache",
    name: "HTTP API: set (PUT /v1/cache/{key}, 2 tags)",
    run: (ctx, i) => put(ctx, `${ctx.runId}-set-${i}`, { value: { i }, ttl: 300, tags: ["bench-set", `set-${i % 10}`] }),
  },
];
