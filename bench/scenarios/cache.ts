import { coldIsolate, expectStatus, expectXCache, L1_OPERATIONS, type BenchContext, type Scenario } from "../scenario";

/**
 * Cache scenarios. "In Worker" rows run one core operation per HTTP request through the
 * bench-only route (functions/routes/bench-cache.ts), outside `/v1`, so their REST counts are
 * the cache's alone; "HTTP API" rows are what a remote client pays, including the rate-limit
 * middleware's check on `/v1/*` (one more REST request when RATE_POLICIES leaves it on).
 * - hit: one REST request (value, its tags' records and Redis time come back from one script);
 * - miss-and-fill: a new key per operation, instant loader: read (miss, lease), store;
 * - invalidate-by-tag: a tag carried by 1,000 entries; one REST request whatever the number
 *   of entries (the seed's SMEMBERS + DEL grows with them);
 * - hot-key hit with L1: reads that accept a 1 s staleness of a few hot keys, answered from the
 *   isolate's memory; one revalidation per key per second. The rows run long enough for
 *   several bounds to pass, so the steady state counts the revalidations (the goal: at least
 *   1.5x the baseline's throughput, at most 0.05 requests per hit). Their first call meets a
 *   cold isolate (the L1 emptied): a read from Redis.
 */

const HOT_KEYS = 100;
/** Keys read with L1 on: hot enough that every one stays in the isolate's memory. */
const L1_HOT_KEYS = 10;
const TAGGED_ENTRIES = 1000;

async function put(ctx: BenchContext, key: string, body: Record<string, unknown>): Promise<void> {
  await expectStatus(await ctx.call(`/v1/cache/${encodeURIComponent(key)}`, { method: "PUT", body: JSON.stringify(body) }), 200, 201);
}

/** `Cache.fetch` in the Worker; throws unless the status is `expected`. */
function fetchInWorker(ctx: BenchContext, key: string, expected: "HIT" | "MISS"): Promise<void> {
  return fetchVia(ctx, "fetch", key, [expected]);
}

/** `Cache.fetch` in the Worker (`fetch-l1`: with maxStaleMs); throws unless the status is one of `expected`. */
async function fetchVia(ctx: BenchContext, op: "fetch" | "fetch-l1", key: string, expected: string[]): Promise<void> {
  const res = await ctx.call(`/__bench/cache/${op}/${encodeURIComponent(key)}`, { method: "POST" });
  if (res.status !== 200) return expectStatus(res, 200);
  const { status } = (await res.json()) as { status: string };
  if (!expected.includes(status)) throw new Error(`expected ${expected.join("/")}, got ${status} for ${key}`);
}

/** Runs `count` calls of `fn`, `width` at a time (setup only). */
async function inParallel(count: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await fn(next++);
  }));
}

const hotKey = (ctx: BenchContext, i: number) => `${ctx.runId}-hot-${i % HOT_KEYS}`;
const l1Key = (ctx: BenchContext, i: number) => hotKey(ctx, i % L1_HOT_KEYS);
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
    run: async (ctx, i) => expectXCache(await ctx.call(`/v1/cache/${hotKey(ctx, i)}`), ["HIT"]),
  },
  {
    group: "cache",
    name: `in Worker: hot-key hit with L1 (Cache.fetch, maxStaleMs 1 s, ${L1_HOT_KEYS} keys)`,
    setup: storeHot,
    operations: L1_OPERATIONS,
    beforeFirstCall: coldIsolate,
    // HIT: the first read of a key in the isolate, or its revalidation once the bound passed.
    run: (ctx, i) => fetchVia(ctx, "fetch-l1", l1Key(ctx, i), ["HIT-L1", "HIT"]),
  },
  {
    group: "cache",
    name: `HTTP API: hot-key hit with L1 (GET /v1/cache/{key}, max-stale=1, ${L1_HOT_KEYS} keys)`,
    setup: storeHot,
    operations: L1_OPERATIONS,
    beforeFirstCall: coldIsolate,
    run: async (ctx, i) => expectXCache(await ctx.call(`/v1/cache/${l1Key(ctx, i)}`, { headers: { "Cache-Control": "max-stale=1" } }), ["HIT-L1", "HIT"]),
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
