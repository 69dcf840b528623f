import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { isolateL1, isolateStats } from "../../shared/cache/isolate";
import { readStats, STATS_RETENTION_MINUTES } from "../../shared/cache/stats";
import {
  bytes, Cache, InvalidationScheduler, json, DEFAULT_MAX_PENDING, MAX_INVALIDATION_KEYS, MAX_KEY_BYTES, MAX_LIST_LIMIT, MAX_TAG_BYTES, MAX_TAGS,
  MAX_TTL_SECONDS, text, validateKey, ValueTooLargeError, type CacheEntry, type CacheValue,
} from "../../shared/cache";
import { fromBase64, toBase64 } from "../../shared/cache/value";
import { validateName } from "../../shared/keys";
import type { AppEnv } from "../platform/app-env";
import { cacheOptions, readCacheConfig, schedulerOptions } from "./config";
import { l1ReadOptions } from "../platform/max-stale";
import { jsonBody, jsonResponse, problems, v1Route } from "../platform/openapi";
import { createRouter, redisOf } from "../platform/router";
import { coreCheck } from "../platform/validation";
import { cacheMiss, invalidationNotFound, invalidInput, scheduleFull, valueTooLarge } from "./problems";

/** Path segments under /v1/cache that are routes, so never keys. */
const RESERVED_KEYS = new Set(["invalidate", "invalidations", "stats"]);

/** The request's cache on the Worker's config (namespace "kv"). */
export function cacheOf(c: Context<AppEnv>): Cache {
  return new Cache(redisOf(c), cacheOptions(c.var.config, readCacheConfig(c.env)));
}

/**
 * After a cache route answers, hands the isolate's statistics to `waitUntil` when a flush is due
 * (one request every few seconds at most, none when idle).
 */
export const flushCacheStats = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (!isolateStats.due()) return;
  try {
    c.executionCtx.waitUntil(cacheOf(c).flushStats());
  } catch {
    // Redis not configured: nothing to flush to; the counts wait.
  }
});

function schedulerOf(c: Context<AppEnv>): InvalidationScheduler {
  return new InvalidationScheduler(redisOf(c), schedulerOptions(c.var.config, readCacheConfig(c.env)));
}

const Key = z
  .string()
  .superRefine(coreCheck((key) => validateKey(key)))
  .openapi({ param: { name: "key", in: "path" }, description: `1–${MAX_KEY_BYTES} UTF-8 bytes, no control characters or unpaired surrogates; percent-encode "/"`, example: "user:42" });
const Tag = z.string().superRefine(coreCheck((tag) => validateName(tag, "tag", MAX_TAG_BYTES)));
const Tags = z.array(Tag).max(MAX_TAGS);
const Seconds = (min: 0 | 1) => z.number().int().min(min).max(MAX_TTL_SECONDS);

const PutBody = z
  .strictObject({
    value: z.unknown().refine((v) => v !== undefined, "is required").openapi({ description: "Any JSON value; a string when contentType is set", example: { name: "Ada" } }),
    ttl: Seconds(1).openapi({ description: "Seconds fresh", example: 300 }),
    tags: Tags.optional().openapi({ description: `Up to ${MAX_TAGS} tags`, example: ["users", "user:42"] }),
    staleTtl: Seconds(0).optional().openapi({ description: "Seconds served stale after the TTL (stale-while-revalidate; default 0)" }),
    staleIfErrorTtl: Seconds(0).optional().openapi({ description: "Seconds served stale on a loader error (default staleTtl)" }),
    contentType: z.string().optional().openapi({ description: "Store `value` (a string) as text or bytes with this type", example: "text/html; charset=utf-8" }),
    encoding: z.enum(["utf8", "base64"]).optional().openapi({ description: 'With contentType: "utf8" text (default) or "base64" bytes' }),
  })
  .openapi("CachePut");

const EntrySchema = z
  .object({
    key: z.string(),
    value: z.unknown().openapi({ description: "The JSON value; text as a string; bytes as base64" }),
    contentType: z.string().optional(),
    encoding: z.enum(["utf8", "base64"]).optional(),
    tags: z.array(z.string()),
    ageSeconds: z.number().int(),
    ttlSeconds: z.number().int().openapi({ description: "Seconds until stale; 0 when stale" }),
    stale: z.boolean(),
  })
  .openapi("CacheEntry");

const InvalidateBody = z
  .strictObject({
    tags: Tags.optional(),
    keys: z.array(z.string().superRefine(coreCheck((key) => validateKey(key)))).max(MAX_INVALIDATION_KEYS).optional(),
    mode: z.enum(["hard", "soft"]).optional().openapi({ description: "hard (default): never served again; soft: served stale while refreshed" }),
    at: z.iso.datetime({ offset: true }).optional().openapi({ description: "RFC 3339; in the future: scheduled (202)", example: "2030-01-01T00:00:00Z" }),
  })
  .refine((b) => (b.tags?.length ?? 0) + (b.keys?.length ?? 0) > 0, { message: "give at least one tag or key", path: ["tags"] })
  .openapi("CacheInvalidate");

const invalidation = { tags: z.array(z.string()), keys: z.array(z.string()), mode: z.enum(["hard", "soft"]), at: z.string() };
const Scheduled = z.object({ id: z.string(), ...invalidation }).openapi("ScheduledInvalidation");
const Applied = z.object(invalidation).openapi("AppliedInvalidation");
const PutResult = z.object({ key: z.string(), replaced: z.boolean() });
const KeyParams = z.object({ key: Key });

const putRoute = v1Route({
  method: "put",
  path: "/v1/cache/{key}",
  summary: "Store a value with a TTL and tags",
  request: { params: KeyParams, body: jsonBody(PutBody) },
  responses: { 200: jsonResponse("Replaced", PutResult), 201: jsonResponse("Created", PutResult), ...problems(400, 413) },
});

const getRoute = v1Route({
  method: "get",
  path: "/v1/cache/{key}",
  summary: "Read an entry (X-Cache: HIT, STALE or HIT-L1)",
  description:
    "One request to Redis. 404 when absent, expired or hard-invalidated. With `Cache-Control: max-stale=<s>` (or " +
    "CACHE_L1_MS), a copy Redis confirmed fresh within that many seconds may be served from the isolate's memory with no " +
    "request (X-Cache: HIT-L1, X-Cache-Confirmed: how long ago); an invalidation made elsewhere shows within that bound, " +
    "one made through the same isolate at once. Past the bound the copy is revalidated without resending the value.",
  request: {
    params: KeyParams,
    headers: z.object({
      "cache-control": z.string().optional().openapi({ param: { name: "cache-control", in: "header" }, description: "max-stale=<seconds> accepts a copy from the isolate's memory", example: "max-stale=5" }),
    }),
  },
  responses: { 200: jsonResponse("The entry", EntrySchema), ...problems(400, 404) },
});

const deleteRoute = v1Route({
  method: "delete",
  path: "/v1/cache/{key}",
  summary: "Delete an entry (idempotent; published as a hard invalidation)",
  request: { params: KeyParams },
  responses: { 204: { description: "Deleted (or was absent)" }, ...problems(400) },
});

const invalidateRoute = v1Route({
  method: "post",
  path: "/v1/cache/invalidate",
  summary: "Invalidate tags and keys now, or schedule it",
  description:
    "One request to Redis whatever the number of entries a tag reaches. Published on the invalidation channel. " +
    `With \`at\` in the future (at most a year ahead, by Redis time): scheduled, 202; 409 \`schedule-full\` when ${DEFAULT_MAX_PENDING} are pending.`,
  request: { body: jsonBody(InvalidateBody) },
  responses: { 200: jsonResponse("Applied", Applied), 202: jsonResponse("Scheduled", Scheduled), ...problems(400, 409) },
});

const listRoute = v1Route({
  method: "get",
  path: "/v1/cache/invalidations",
  summary: "Pending scheduled invalidations, in due order",
  request: {
    query: z.object({
      offset: z.coerce.number().int().min(0).max(DEFAULT_MAX_PENDING).default(0).openapi({ description: `0 to ${DEFAULT_MAX_PENDING} (the queue's cap)` }),
      limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(MAX_LIST_LIMIT).openapi({ description: `1 to ${MAX_LIST_LIMIT} (default ${MAX_LIST_LIMIT})` }),
    }),
  },
  responses: { 200: jsonResponse("Pending", z.object({ total: z.number().int(), invalidations: z.array(Scheduled) })), ...problems(400) },
});

const cancelRoute = v1Route({
  method: "delete",
  path: "/v1/cache/invalidations/{id}",
  summary: "Cancel a scheduled invalidation",
  request: { params: z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" } }) }) },
  responses: { 204: { description: "Cancelled" }, ...problems(400, 404) },
});

/** The stored value of a PUT body. */
function valueOf(body: z.infer<typeof PutBody>): CacheValue {
  if (body.contentType === undefined && body.encoding === undefined) return json(body.value);
  if (typeof body.value !== "string") throw invalidInput("value", "must be a string when contentType or encoding is set");
  if (body.encoding === "base64") return bytes(fromBase64(body.value), body.contentType ?? "application/octet-stream");
  return text(body.value, body.contentType ?? "text/plain; charset=utf-8");
}

/** The JSON view of an entry. */
function entryBody(key: string, entry: CacheEntry) {
  const v = entry.value;
  const shape =
    v.type === "json" ? { value: v.value }
    : v.type === "text" ? { value: v.text, contentType: v.contentType, encoding: "utf8" as const }
    : { value: toBase64(v.bytes), contentType: v.contentType, encoding: "base64" as const };
  return { key, ...shape, tags: entry.tags, ageSeconds: entry.ageSeconds, ttlSeconds: entry.ttlSeconds, stale: entry.stale };
}

const StatCounts = { hits: z.number().int(), staleHits: z.number().int(), misses: z.number().int(), fills: z.number().int() };
const statsRoute = v1Route({
  method: "get",
  path: "/v1/cache/stats",
  summary: "Hits, stale hits, misses and fills per minute",
  description:
    "Counted by each isolate and flushed at most every 5 s in one request (a few billed commands), so counting costs " +
    `almost nothing per request; the last few seconds of an isolate may not be in yet. Kept ${STATS_RETENTION_MINUTES} minutes.`,
  request: {
    query: z.object({
      minutes: z.coerce.number().int().min(1).max(STATS_RETENTION_MINUTES).default(60).openapi({ description: `1 to ${STATS_RETENTION_MINUTES} (default 60)` }),
    }),
  },
  responses: {
    200: jsonResponse(
      "Oldest minute first, the current one last",
      z.object({ minutes: z.array(z.object({ start: z.number().int(), ...StatCounts })), totals: z.object(StatCounts) }).openapi("CacheStats"),
    ),
    ...problems(400),
  },
});

/** `/v1/cache`: entries by key, invalidation now or later, the scheduled queue, statistics. */
const router = createRouter();
router.use("/v1/cache/*", flushCacheStats);
export const cacheRoutes = router
  .openapi(statsRoute, async (c) => {
    const { minutes } = c.req.valid("query");
    return c.json(await readStats(redisOf(c), cacheOf(c).keys, minutes), 200);
  })
  .openapi(listRoute, async (c) => {
    const { offset, limit } = c.req.valid("query");
    const { total, items } = await schedulerOf(c).list({ offset, limit });
    return c.json({ total, invalidations: items }, 200);
  })
  .openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await schedulerOf(c).cancel(id))) throw invalidationNotFound(id);
    return c.body(null, 204);
  })
  .openapi(invalidateRoute, async (c) => {
    const { tags = [], keys = [], mode = "hard", at } = c.req.valid("json");
    if (at !== undefined) {
      const scheduler = schedulerOf(c);
      const scheduled = await scheduler.schedule({ tags, keys, mode }, Date.parse(at));
      if (scheduled.scheduled) return c.json(scheduled.item, 202);
      if (scheduled.reason === "full") throw scheduleFull(scheduler.maxPending);
      // Due by Redis time: applied now.
    }
    const event = await cacheOf(c).invalidate({ tags, keys, mode });
    return c.json({ tags: event.tags, keys: event.keys, mode: event.mode, at: event.at }, 200);
  })
  .openapi(putRoute, async (c) => {
    const { key } = c.req.valid("param");
    if (RESERVED_KEYS.has(key)) throw invalidInput("key", "is reserved", `'${key}' is reserved for a route`);
    const body = c.req.valid("json");
    try {
      const { replaced } = await cacheOf(c).set(key, valueOf(body), body);
      return c.json({ key, replaced }, replaced ? 200 : 201);
    } catch (error) {
      if (error instanceof ValueTooLargeError) throw valueTooLarge(error);
      throw error;
    }
  })
  .openapi(getRoute, async (c) => {
    const { key } = c.req.valid("param");
    const config = readCacheConfig(c.env);
    const l1 = l1ReadOptions(c.req.header("Cache-Control"), isolateL1, { bytes: config.l1Bytes, defaultMs: config.l1DefaultMs });
    const entry = await cacheOf(c).get(key, l1);
    if (!entry) throw cacheMiss(key);
    c.header("X-Cache", entry.l1 ? "HIT-L1" : entry.stale ? "STALE" : "HIT");
    c.header("Age", String(entry.ageSeconds));
    if (entry.l1) c.header("X-Cache-Confirmed", `${entry.l1.confirmedMsAgo}ms`);
    return c.json(entryBody(key, entry), 200);
  })
  .openapi(deleteRoute, async (c) => {
    await cacheOf(c).delete(c.req.valid("param").key);
    return c.body(null, 204);
  });
