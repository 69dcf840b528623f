import type { RedisClient } from "../../shared/redis";
import { redisFromEnv } from "../hono/env";
import type { Env } from "../env";
import type { Config } from "./config";

export { RedisNotConfiguredError } from "../hono/env";

/**
 * The Worker's Redis clients, made from `env` here and nowhere else (`shared/` never reads it).
 *
 * - Timeout: each REST request gets REDIS_TIMEOUT_MS; a timed-out request is never resent.
 * - Retries: REDIS_RETRIES (default 1) resends when `fetch` itself failed, never the client's
 *   default of 5 (about 4.3 s), which would also resend non-idempotent writes five times.
 *   Pass `{ retries: 0 }` for a write that must not be repeated (a rate check, a counter hit).
 * - Failures are classified by `shared/redis` (RedisUnavailableError, RedisAuthError).
 */
export function redisFor(env: Env, config: Config, overrides: { retries?: number; timeoutMs?: number } = {}): RedisClient {
  return redisFromEnv(env, {
    timeoutMs: overrides.timeoutMs ?? config.redisTimeoutMs,
    retries: overrides.retries ?? config.redisRetries,
  });
}
