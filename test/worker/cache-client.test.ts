import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { Cache, InvalidationScheduler, json, text } from "../../shared/cache";
import { uniqueName } from "./helpers";

/**
 * The cache's Redis client. `@upstash/redis` parses every reply that looks like JSON unless it is
 * built with `automaticDeserialization: false`; given such a client, `cache.get()` used to fail
 * later with `"[object Object]" is not valid JSON`. The cache refuses it when it is built instead.
 */

const credentials = () => ({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! });

describe("the cache's client", () => {
  it("refuses, when built, a client that parses replies as JSON (@upstash/redis's default)", () => {
    for (const parsing of [new Redis(credentials()), new Redis({ ...credentials(), automaticDeserialization: true })]) {
      expect(() => new Cache(parsing)).toThrow(TypeError);
      expect(() => new Cache(parsing)).toThrow(/automaticDeserialization: false/);
      expect(() => new InvalidationScheduler(parsing)).toThrow(TypeError);
      expect(() => new InvalidationScheduler(parsing)).toThrow(/automaticDeserialization: false/);
    }
  });

  it("works with an @upstash/redis client built with automaticDeserialization: false", async () => {
    const raw = new Redis({ ...credentials(), automaticDeserialization: false });
    const prefix = uniqueName("raw-client");
    const cache = new Cache(raw, { prefix, l1: false, onBackgroundError: () => {} });
    await cache.set("j", json({ n: 1, s: "é" }), { ttl: 60, tags: ["t"] });
    // Text that looks like JSON is what a parsing client would have changed.
    await cache.set("t", text('{"n":1}', "application/json"), { ttl: 60 });
    expect(await cache.get("j")).toMatchObject({ value: json({ n: 1, s: "é" }), tags: ["t"], stale: false });
    expect(await cache.get("t")).toMatchObject({ value: text('{"n":1}', "application/json"), stale: false });

    const scheduler = new InvalidationScheduler(raw, { prefix });
    const result = await scheduler.schedule({ tags: ["t"] }, Date.now() + 60_000);
    if (!result.scheduled) throw new Error(`expected it scheduled, was ${result.reason}`);
    expect(await scheduler.list()).toEqual({ total: 1, items: [result.item] });
    expect(await scheduler.cancel(result.item.id)).toBe(true);
    const { keys } = cache;
    await raw.del(keys.entry("j"), keys.entry("t"), keys.tags, keys.stats, keys.scheduleCancelled(result.item.id));
  });
});
