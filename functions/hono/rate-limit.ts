import type { Context, Env, MiddlewareHandler, Next } from "hono";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import { DEFAULT_PREFIX } from "../../shared/keys";
import { failureResult } from "../../shared/ratelimit/codec";
import { RateLimiter, type RateLimitClient, timeoutOf } from "../../shared/ratelimit/limiter";
import type { LimitResult, Policy } from "../../shared/ratelimit/types";
import { rateLimitHeaders } from "../ratelimit/headers";
import { callerLimited, rateLimitUnavailable } from "../ratelimit/problems";
import { RedisNotConfiguredError, redisFromEnv, type UpstashBindings } from "./env";
import { setHeaders } from "./set-headers";

/**
 * Key namespace of the middleware's state (default): apart from limiters an app runs itself,
 * and from the service's `/v1/rate/{policy}/{id}` ("rate"), where `DELETE /v1/rate/api/token:<hash>`
 * would otherwise reset a client's own limit.
 */
export const MIDDLEWARE_NAMESPACE = "rate-mw";

/** Where a limiter's state lives: the Redis client, the key prefix and the namespace. */
export interface LimiterSource<E extends Env = any> {
  /** Key namespace (default {@link MIDDLEWARE_NAMESPACE}). */
  namespace?: string;
  /** Key prefix (default "erf"), or a function of the request. */
  prefix?: string | ((c: Context<E>) => string);
  /**
   * The Redis client of one check. Default: made from `c.env` (UPSTASH_REDIS_REST_URL/TOKEN)
   * with the options given, which are those a check needs: no retry (a check whose reply was
   * lost would spend twice if resent), and the policies' timeout.
   */
  redis?: (c: Context<E>, options: { retries: 0; timeoutMs: number }) => RateLimitClient;
}

/** Options of {@link rateLimit}. */
export interface RateLimitOptions<E extends Env = any> extends LimiterSource<E> {
  /** Policies checked together, atomically, on each request (or a function of the request); none: no check. */
  policies: readonly Policy[] | ((c: Context<E>) => readonly Policy[]);
  /** The identifier a request is counted under (a user id, an IP); `undefined` lets the request through unchecked. */
  key: (c: Context<E>) => string | undefined | Promise<string | undefined>;
}

/**
 * Rate-limits requests with policies checked exactly in Upstash: one check of every policy
 * (one REST request; none when the identifier is already known to be blocked, or when no
 * route matches, so a 404 never costs an Upstash request), then:
 * - allowed: the handler runs and its response gets `RateLimit-Policy` and `RateLimit`
 *   (IETF ratelimit-headers draft, one item per policy);
 * - denied: a 429 problem with `Retry-After` and the same headers;
 * - Redis unavailable or not configured: the policies' failure mode decides (fail open: the
 *   request runs; fail closed: a 503 problem).
 *
 * @example
 * const perUser = { name: "per-user", algorithm: slidingWindow({ limit: 100, windowMs: 60_000 }) };
 * app.use("/reports/*", rateLimit({ policies: [perUser], key: (c) => c.req.header("X-User") }));
 */
export function rateLimit<E extends Env = any>(options: RateLimitOptions<E>): MiddlewareHandler<E> {
  return createMiddleware<E>(async (c, next) => {
    const policies = typeof options.policies === "function" ? options.policies(c) : options.policies;
    if (policies.length === 0 || !routeExists(c)) return next();
    const id = await options.key(c);
    if (id === undefined) return next();
    await guard(c, next, policies, id, options);
  });
}

/** Checks `id` against `policies` (cost 1); a 429 or 503 problem when refused, else runs `next` and adds the headers. */
async function guard<E extends Env>(c: Context<E>, next: Next, policies: readonly Policy[], id: string, source: LimiterSource<E> = {}): Promise<void> {
  const result = await checkLimit(c, policies, id, 1, source);
  const headers = rateLimitHeaders(policies, result);
  if (!result.allowed) throw result.reason === "redis-unavailable" ? rateLimitUnavailable(headers) : callerLimited(result, headers);
  await next();
  setHeaders(c, headers);
}

/** A limiter of `policies` for this request, on the source's client, prefix and namespace. */
export function limiterFor<E extends Env>(c: Context<E>, policies: readonly Policy[], source: LimiterSource<E> = {}): RateLimiter {
  const options = { retries: 0 as const, timeoutMs: timeoutOf(policies) };
  const redis = source.redis ? source.redis(c, options) : redisFromEnv(c.env as UpstashBindings, options);
  const prefix = typeof source.prefix === "function" ? source.prefix(c) : (source.prefix ?? DEFAULT_PREFIX);
  return new RateLimiter(redis, { prefix, policies, namespace: source.namespace ?? MIDDLEWARE_NAMESPACE });
}

/** `limit()`, with the policies' failure mode also covering a Redis that is not configured. */
export async function checkLimit<E extends Env>(
  c: Context<E>,
  policies: readonly Policy[],
  id: string,
  cost: number,
  source: LimiterSource<E> = {},
): Promise<LimitResult> {
  let limiter: RateLimiter;
  try {
    limiter = limiterFor(c, policies, source);
  } catch (error) {
    if (error instanceof RedisNotConfiguredError) return failureResult(policies);
    throw error;
  }
  return limiter.limit(id, { cost });
}

/**
 * Whether a route handles this request (a middleware registered with `use` is not one), so an
 * unknown path (a 404) is never charged an Upstash request.
 */
function routeExists(c: Context): boolean {
  return matchedRoutes(c).some((route) => route.method !== "ALL");
}

