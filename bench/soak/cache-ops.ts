import { body, drain, json, mayHaveApplied, names, pick, sizes, type SoakContext } from "./context";
import type { AppliedInvalidation } from "./ledger";

/**
 * The cache's share of the soak: cache-aside reads and writes, hot reads from the isolate's
 * L1 (`Cache-Control: max-stale`), invalidations now and scheduled, and the read-through proxy
 * over the demo origin. Every acknowledged invalidation, every L1 read and write, and every
 * proxied body go to the ledger for the invariants.
 */

const CACHE_KEYS = 100;
/** The L1 readers' bound: `Cache-Control: max-stale=2`. */
export const L1_MAX_STALE_MS = 2_000;
/** How far ahead a scheduled invalidation is due: 2 to 4 s (past any round trip, so it is scheduled, not applied at once). */
export const SCHEDULE_AHEAD_MS = [2_000, 4_000] as const;

export async function cacheGet(ctx: SoakContext): Promise<void> {
  await drain(await ctx.recorder.time("cache.get", [200, 404], () => ctx.call(`/v1/cache/${names.cacheKey(ctx, pick(CACHE_KEYS))}`)));
}

export async function cachePut(ctx: SoakContext, i: number): Promise<void> {
  const k = pick(CACHE_KEYS);
  const put = { method: "PUT", body: JSON.stringify({ value: { k, i }, ttl: 300, tags: [names.cacheTag(ctx, k)] }) };
  await drain(await ctx.recorder.time("cache.put", [200, 201], () => ctx.call(`/v1/cache/${names.cacheKey(ctx, k)}`, put)));
}

/**
 * What an invalidation invalidates: a tag of the cache-aside entries (most), of a proxied
 * product, or, for scheduled ones only, of an L1 key. An L1 key's is always soft (its readers
 * must always get a 200: a stale entry is still served, from Redis), the others hard or soft.
 * L1 keys are invalidated only by the cron: an invalidation through the Worker drops the
 * isolate's copies at once, while one applied by the cron is a change made elsewhere, which
 * copies may serve for their bound and no longer.
 */
function someInvalidation(ctx: SoakContext, scheduled: boolean): { tags: string[]; mode: "hard" | "soft" } {
  const roll = Math.random();
  if (scheduled && roll < 0.2) return { tags: [names.hotTag(ctx, pick(sizes.HOT_KEYS))], mode: "soft" };
  const tag = roll < 0.4 ? names.productTag(pick(sizes.PRODUCTS)) : names.cacheTag(ctx, pick(sizes.CACHE_TAGS));
  return { tags: [tag], mode: Math.random() < 0.5 ? "hard" : "soft" };
}

export async function cacheInvalidate(ctx: SoakContext): Promise<void> {
  const request = json(someInvalidation(ctx, false));
  const res = await ctx.recorder.time("cache.invalidate", [200], () => ctx.call("/v1/cache/invalidate", request));
  if (res?.status !== 200) return drain(res);
  const applied = await body<AppliedInvalidation>(res);
  if (applied) ctx.ledger.applied.push(applied);
}

/** `POST /v1/cache/invalidate` with `at` 2–4 s ahead: 202 and an id (200 if it was already due when it arrived). */
export async function cacheSchedule(ctx: SoakContext): Promise<void> {
  const atMs = Date.now() + SCHEDULE_AHEAD_MS[0] + pick(SCHEDULE_AHEAD_MS[1] - SCHEDULE_AHEAD_MS[0]);
  const request = json({ ...someInvalidation(ctx, true), at: new Date(atMs).toISOString() });
  const res = await ctx.recorder.time("cache.schedule", [200, 202], () => ctx.call("/v1/cache/invalidate", request));
  if (res?.status === 202) {
    const item = await body<{ id: string; tags: string[]; at: string }>(res);
    if (item) ctx.ledger.scheduled.push({ id: item.id, tags: item.tags, atMs: Date.parse(item.at) });
  } else if (res?.status === 200) {
    const applied = await body<AppliedInvalidation>(res);
    if (applied) ctx.ledger.applied.push(applied);
  } else {
    if (mayHaveApplied(res)) ctx.ledger.scheduledUncertain++;
    await drain(res);
  }
}

/** Keys whose write is in flight: one writer per L1 key at a time, so versions reach Redis in order. */
const hotBusy = new WeakMap<SoakContext, Set<string>>();

/** The body of a PUT of `version` to L1 key `k`: an hour's TTL, and the key's own tag. */
const hotPut = (ctx: SoakContext, k: number, version: number): RequestInit => ({
  method: "PUT",
  body: JSON.stringify({ value: { v: version }, ttl: 3600, tags: [names.hotTag(ctx, k)] }),
});

/** Stores version 0 of every L1 key (before the load): their readers then always find one. */
export async function hotSetup(ctx: SoakContext): Promise<void> {
  for (let k = 0; k < sizes.HOT_KEYS; k++) {
    const key = names.hotKey(ctx, k);
    const sentMs = Date.now();
    const res = await ctx.call(`/v1/cache/${key}`, hotPut(ctx, k, 0));
    await drain(res);
    if (res.status !== 201 && res.status !== 200) throw new Error(`storing the L1 key ${key} answered ${res.status}`);
    ctx.ledger.hotWrites.set(key, [{ version: 0, sentMs, ackedMs: Date.now() }]);
  }
}

/** `GET /v1/cache/{key}` with `Cache-Control: max-stale=2`: from the isolate's memory while Redis confirmed it within 2 s. */
export async function hotRead(ctx: SoakContext): Promise<void> {
  const k = pick(sizes.HOT_KEYS);
  const key = names.hotKey(ctx, k);
  const sentMs = Date.now();
  const headers = { "Cache-Control": `max-stale=${L1_MAX_STALE_MS / 1000}` };
  const res = await ctx.recorder.time("cache.get-l1", [200], () => ctx.call(`/v1/cache/${key}`, { headers }));
  if (res?.status !== 200) return drain(res);
  const read = await body<{ value: { v: number } }>(res);
  const receivedMs = Date.now();
  if (typeof read?.value?.v !== "number") {
    ctx.ledger.hotUnreadable++;
    return;
  }
  ctx.ledger.hotReads.push({ key, tag: names.hotTag(ctx, k), version: read.value.v, sentMs, receivedMs, fromL1: res.headers.get("X-Cache") === "HIT-L1" });
}

/**
 * How often each L1 key may be rewritten: the first half as often as the mix asks (writes
 * racing revalidations of the copies), the other half at most every 8 s, so that a soft
 * invalidation applied by the cron stands for a few seconds before a write makes the entry
 * fresh again, and a read answered from memory past the bound after it can be seen.
 */
const hotWriteEveryMs = (k: number) => (k < sizes.HOT_KEYS / 2 ? 0 : 8_000);

/** A new version of an L1 key nobody is writing and that may be rewritten now (else a hot read). */
export async function hotWrite(ctx: SoakContext): Promise<void> {
  const busy = hotBusy.get(ctx) ?? new Set<string>();
  hotBusy.set(ctx, busy);
  const now = Date.now();
  const free = Array.from({ length: sizes.HOT_KEYS }, (_, k) => k).filter((k) => {
    const key = names.hotKey(ctx, k);
    return !busy.has(key) && now - ctx.ledger.hotWrites.get(key)!.at(-1)!.sentMs >= hotWriteEveryMs(k);
  });
  if (free.length === 0) return hotRead(ctx);
  const k = free[pick(free.length)]!;
  const key = names.hotKey(ctx, k);
  const writes = ctx.ledger.hotWrites.get(key)!;
  const write = { version: writes.length, sentMs: now, ackedMs: null as number | null };
  writes.push(write);
  busy.add(key);
  try {
    const res = await ctx.recorder.time("cache.put-l1", [200], () => ctx.call(`/v1/cache/${key}`, hotPut(ctx, k, write.version)));
    await drain(res);
    if (res?.status === 200) write.ackedMs = Date.now();
  } finally {
    busy.delete(key);
  }
}

const X_CACHE = new Set(["HIT", "MISS", "STALE", "BYPASS"]);

/** `GET /v1/proxy/...` of the demo origin: a product (most reads), the product list, or its clock. */
export async function proxyGet(ctx: SoakContext): Promise<void> {
  const roll = Math.random();
  const id = names.product(pick(sizes.PRODUCTS));
  const path = roll < 0.8 ? `/products/${id}` : roll < 0.9 ? "/products" : "/time";
  const res = await ctx.recorder.time("proxy.get", [200], () => ctx.call(`/v1/proxy${path}`));
  if (res?.status !== 200) return drain(res);
  ctx.ledger.proxyReads++;
  const xCache = res.headers.get("X-Cache") ?? "";
  const got = await body<{ id?: unknown; products?: unknown; now?: unknown }>(res);
  const own =
    path === "/products" ? Array.isArray(got?.products) : path === "/time" ? typeof got?.now === "string" : got?.id === id;
  if (!own || !X_CACHE.has(xCache)) ctx.ledger.proxyWrong.push(`${path}: X-Cache '${xCache}', body ${JSON.stringify(got)?.slice(0, 80)}`);
}
