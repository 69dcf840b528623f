import { createRedis, type RedisClient } from "../../shared/redis";

/** The bindings the adapters read: the Upstash REST URL and token (secrets). */
export interface UpstashBindings {
  /** Upstash REST URL, e.g. https://xyz.upstash.io (or a local Upstash-compatible endpoint). */
  UPSTASH_REDIS_REST_URL?: string;
  /** Upstash REST token. */
  UPSTASH_REDIS_REST_TOKEN?: string;
}

/** UPSTASH_REDIS_REST_URL or UPSTASH_REDIS_REST_TOKEN is not set: answered 503 `redis-not-configured`. */
export class RedisNotConfiguredError extends Error {
  override readonly name = "RedisNotConfiguredError";
  constructor() {
    super("UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are not set");
  }
}

/** Options of {@link redisFromEnv}. */
export interface RedisFromEnvOptions {
  /** Timeout of each REST request in ms (default 1500). A timed-out request is never resent. */
  timeoutMs?: number;
  /**
   * Resends when `fetch` itself failed (default 1). Never `@upstash/redis`'s own 5, which
   * would also resend a non-idempotent write five times; 0 for a write that must not repeat.
   */
  retries?: number;
}

/**
 * A Redis client from a Worker's `env` (`c.env` in Hono), made with `createRedis`: replies as
 * Redis sent them, failures classified as `RedisUnavailableError` / `RedisAuthError`.
 * @throws RedisNotConfiguredError when the URL or the token is missing
 * @example const redis = redisFromEnv(c.env, { timeoutMs: 1000 });
 */
export function redisFromEnv(env: UpstashBindings | undefined, options: RedisFromEnvOptions = {}): RedisClient {
  const url = env?.UPSTASH_REDIS_REST_URL;
  const token = env?.UPSTASH_REDIS_REST_TOKEN;
  if (!url || !token) throw new RedisNotConfiguredError();
  return createRedis({ url, token, ...options });
}
