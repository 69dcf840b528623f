import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { Cache, type CacheOptions } from "../../shared/cache";
import { WindowedCounters } from "../../shared/counters";
import { Leaderboards, type LeaderboardOptions } from "../../shared/leaderboard";
import { Locks, type LocksOptions } from "../../shared/lock";
import type { RedisClient } from "../../shared/redis";
import { redisFromEnv, type RedisFromEnvOptions, type UpstashBindings } from "./env";

/** What {@link edgeRedis} puts on `c.var`: the client and one core of each feature. */
export interface EdgeRedisVariables {
  /** The request's Redis client (`createRedis`, replies raw). */
  redis: RedisClient;
  cache: Cache;
  locks: Locks;
  leaderboards: Leaderboards;
  /** Windowed counters, on a client that never resends (a hit resent would count twice). */
  counters: WindowedCounters;
}

/** The Hono env of an app using {@link edgeRedis}: `new Hono<EdgeRedisEnv>()`, or merge it into yours. */
export interface EdgeRedisEnv {
  Bindings: UpstashBindings;
  Variables: EdgeRedisVariables;
}

/** Options of {@link edgeRedis}. */
export interface EdgeRedisOptions extends RedisFromEnvOptions {
  /** Key prefix of every core (default "erf"). */
  prefix?: string;
  /** Options of the cache (its prefix is `prefix`). */
  cache?: Omit<CacheOptions, "prefix">;
  /** Options of the locks (their prefix is `prefix`). */
  locks?: Omit<LocksOptions, "prefix">;
  /** Options of the leaderboards (their prefix is `prefix`). */
  leaderboards?: Omit<LeaderboardOptions, "prefix">;
}

/**
 * Gives every handler after it the cores, built from `c.env` (UPSTASH_REDIS_REST_URL and
 * UPSTASH_REDIS_REST_TOKEN) for each request: `c.var.redis`, `c.var.cache`, `c.var.locks`,
 * `c.var.leaderboards`, `c.var.counters`. Building them costs no request; each core keeps its
 * isolate state (in-flight loads, blocked identifiers, lease memory) in its module, so it is
 * shared across requests all the same. The `cache()` and `lock()` middleware use these cores
 * when they are set. Missing credentials: a 503 `redis-not-configured` problem (with
 * `problemHandler`).
 * @example
 * const app = new Hono<EdgeRedisEnv>();
 * app.use("*", edgeRedis({ prefix: "shop" }));
 * app.get("/top", async (c) => c.json(await c.var.leaderboards.top("arena", { limit: 10 })));
 */
export function edgeRedis(options: EdgeRedisOptions = {}): MiddlewareHandler<EdgeRedisEnv> {
  const { prefix, timeoutMs, retries, cache = {}, locks = {}, leaderboards = {} } = options;
  const withPrefix = prefix === undefined ? {} : { prefix };
  return createMiddleware<EdgeRedisEnv>(async (c, next) => {
    const redis = redisFromEnv(c.env, { timeoutMs, retries });
    c.set("redis", redis);
    c.set("cache", new Cache(redis, { ...cache, ...withPrefix }));
    c.set("locks", new Locks(redis, { ...locks, ...withPrefix }));
    c.set("leaderboards", new Leaderboards(redis, { ...leaderboards, ...withPrefix }));
    c.set("counters", new WindowedCounters(redisFromEnv(c.env, { timeoutMs, retries: 0 }), withPrefix));
    await next();
  });
}

/** `c.var[name]` when {@link edgeRedis} set it, else `build(redis from c.env)`. */
export function coreOf<T>(c: Context, name: keyof EdgeRedisVariables, build: (redis: RedisClient) => T): T {
  return (c.get(name) as T | undefined) ?? build(redisFromEnv(c.env as UpstashBindings));
}
