import { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "./config";
import type { Env } from "./env";
import { ApiProblem } from "./problem";

/**
 * The one factory of Redis clients. Everything in `shared/` receives what this returns.
 *
 * - Timeout: each REST request gets its own `AbortSignal.timeout(redisTimeoutMs)`; an aborted
 *   request is not retried (the client rethrows at once when a signal factory aborts).
 * - Retries: `redisRetries` (default 1) retries when `fetch` itself throws, never the client's
 *   default of 5 (about 4.3 s), which would also resend non-idempotent writes five times.
 *   Pass `{ retries: 0 }` for a write that must not be repeated.
 * - `automaticDeserialization: false`: replies come back as Redis sent them (strings stay
 *   strings), which the core relies on to return values and scores exactly as stored.
 */
export function createRedis(env: Env, config: Config, overrides: { retries?: number } = {}): Redis {
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  if (!url || !token) {
    throw new ApiProblem(
      503,
      "redis-not-configured",
      "Redis not configured",
      "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are not set",
    );
  }
  const retries = overrides.retries ?? config.redisRetries;
  return new Redis({
    url,
    token,
    automaticDeserialization: false,
    enableTelemetry: false,
    signal: () => AbortSignal.timeout(config.redisTimeoutMs),
    retry: { retries, backoff: (attempt) => 50 * 2 ** attempt },
  });
}
