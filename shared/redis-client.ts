import type { Redis } from "@upstash/redis/cloudflare";

/**
 * The Redis client every core piece receives by injection: `@upstash/redis`'s `Redis` (from
 * `@upstash/redis`, `@upstash/redis/cloudflare` or `/nodejs`; they share one class). Core
 * pieces type their dependency as a `Pick` of the commands they use, so tests and other
 * runtimes can pass anything that speaks those commands.
 */
export type RedisClient = Redis;

/** Only what {@link LuaScript} needs. */
export type ScriptClient = Pick<RedisClient, "evalsha" | "eval">;
