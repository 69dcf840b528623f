/**
 * Hono adapters: the cores as middleware and helpers for a Hono app on Workers. They read the
 * Redis credentials from `c.env` (UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN) and answer
 * refusals as RFC 9457 problems. See docs/library.md.
 */
export { cache, cacheOf, type CacheMiddlewareOptions } from "./cache";
export { coreOf, edgeRedis, type EdgeRedisEnv, type EdgeRedisOptions, type EdgeRedisVariables } from "./cores";
export { RedisNotConfiguredError, redisFromEnv, type RedisFromEnvOptions, type UpstashBindings } from "./env";
export { misconfiguredResponse, problemHandler } from "./errors";
export { lock, type LockMiddlewareOptions, locksOf, type LockVariables, withLock } from "./lock";
export { checkLimit, type LimiterSource, limiterFor, MIDDLEWARE_NAMESPACE, rateLimit, type RateLimitOptions } from "./rate-limit";
export { ApiProblem, type ProblemBody, problemResponse } from "../platform/problem";
