import type { Context, Next } from "hono";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import { failureResult } from "../../shared/ratelimit/codec";
import { RATE_NAMESPACE } from "../../shared/ratelimit/keys";
import { RateLimiter, timeoutOf } from "../../shared/ratelimit/limiter";
import type { LimitResult, Policy } from "../../shared/ratelimit/types";
import type { AppEnv } from "../platform/app-env";
import {
  bearerToken,
  bindingLimited,
  bindingPolicyHeader,
  clientIp,
  guardAuthFailures,
  ipKey,
  tokenKey,
  underLimit,
} from "../platform/protection";
import { RedisNotConfiguredError, redisFor } from "../platform/redis";
import { readRateConfig } from "./config";
import { rateLimitHeaders } from "./headers";
import { callerLimited, rateLimitUnavailable } from "./problems";

/**
 * The Worker's API protection, as RATE_POLICIES `middleware` configures it (config.ts):
 * by default Cloudflare's rate-limiting bindings (no Upstash request), or named policies
 * checked exactly in Upstash (one REST request per call), or off. Registered in `app.ts`:
 * `limitAuthFailures` around bearer auth, `limitApiCalls` after it, `limitPublicCalls` for
 * every other route.
 */

/**
 * Key namespace of the Upstash-backed middleware's state, apart from `/v1/rate/{policy}/{id}`'s
 * ("rate"): otherwise `DELETE /v1/rate/api/token:<hash>` would reset a client's own limit.
 */
export const MIDDLEWARE_NAMESPACE = "rate-mw";

/** `/v1/*`, per API token (`token:<hash>`, never the token). */
export const limitApiCalls = protect("v1", async (c) => {
  const token = bearerToken(c);
  return token === undefined ? undefined : tokenKey(token);
});

/**
 * Every route outside `/v1`, per client address (`CF-Connecting-IP`, which Cloudflare sets and
 * a client cannot forge; IPv6 by its /64). Without it (local tests) a request is not checked.
 */
export const limitPublicCalls = protect("public", (c) => {
  if (isV1(c.req.path)) return undefined;
  const ip = clientIp(c);
  return ip === undefined ? undefined : ipKey(ip);
});

/** Failed authentications per client address (platform/protection.ts `guardAuthFailures`). */
export const limitAuthFailures = guardAuthFailures((c) => readRateConfig(c.env).authFailures);

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** Policies checked together on each request (or a function of the request); none: no check. */
  policies: readonly Policy[] | ((c: Context<AppEnv>) => readonly Policy[]);
  /** The identifier a request is counted under; `undefined` lets the request through unchecked. */
  key: (c: Context<AppEnv>) => string | undefined | Promise<string | undefined>;
  /** Key namespace of the state (default {@link MIDDLEWARE_NAMESPACE}). */
  namespace?: string;
}

/**
 * Rate-limits requests with policies in Upstash, exactly: one check of every policy (one REST
 * request, or none when the identifier is already known to be blocked, or when no route
 * matches: a 404 never costs an Upstash request), then:
 * - allowed: the handler runs and its response gets `RateLimit-Policy` and `RateLimit`;
 * - denied: a 429 problem with `Retry-After` and the same headers;
 * - Redis unavailable: the policies' failure mode decides (fail open: the request runs;
 *   fail closed: a 503 problem).
 *
 * @example app.use("/v1/reports/*", rateLimit({ policies: [perUser], key: (c) => c.req.header("X-User") }))
 */
export function rateLimit(options: RateLimitOptions) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const policies = typeof options.policies === "function" ? options.policies(c) : options.policies;
    if (policies.length === 0 || !routeExists(c)) return next();
    const id = await options.key(c);
    if (id === undefined) return next();
    await checkPolicies(c, next, policies, id, options.namespace ?? MIDDLEWARE_NAMESPACE);
  });
}

/**
 * A limiter for this request's policies. Its client never retries (a check that reached Redis
 * but lost its reply would spend twice) and gives up after the policies' timeout.
 */
export function limiterFor(c: Context<AppEnv>, policies: readonly Policy[], namespace = RATE_NAMESPACE): RateLimiter {
  const config = c.var.config;
  const redis = redisFor(c.env, config, { retries: 0, timeoutMs: timeoutOf(policies) });
  return new RateLimiter(redis, { prefix: config.keyPrefix, policies, namespace });
}

/** `limit()` with the policies' failure mode also covering a Redis that is not configured. */
export async function checkLimit(
  c: Context<AppEnv>,
  policies: readonly Policy[],
  id: string,
  cost: number,
  namespace = RATE_NAMESPACE,
): Promise<LimitResult> {
  let limiter: RateLimiter;
  try {
    limiter = limiterFor(c, policies, namespace);
  } catch (error) {
    if (error instanceof RedisNotConfiguredError) return failureResult(policies);
    throw error;
  }
  return limiter.limit(id, { cost });
}

function protect(group: "v1" | "public", keyOf: (c: Context<AppEnv>) => string | undefined | Promise<string | undefined>) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const guard = readRateConfig(c.env)[group];
    if (guard.kind === "off") return next();
    const key = await keyOf(c);
    if (key === undefined) return next();
    if (guard.kind === "policies") {
      if (!routeExists(c)) return next();
      return checkPolicies(c, next, guard.policies, key, MIDDLEWARE_NAMESPACE);
    }
    if (!(await underLimit(c.env, guard, key))) throw bindingLimited(guard);
    await next();
    setHeaders(c, { "RateLimit-Policy": bindingPolicyHeader([guard]) });
  });
}

async function checkPolicies(c: Context<AppEnv>, next: Next, policies: readonly Policy[], id: string, namespace: string): Promise<void> {
  const result = await checkLimit(c, policies, id, 1, namespace);
  const headers = rateLimitHeaders(policies, result);
  if (!result.allowed) throw result.reason === "redis-unavailable" ? rateLimitUnavailable(headers) : callerLimited(result, headers);
  await next();
  setHeaders(c, headers);
}

/**
 * Whether a route handles this request (a middleware registered with `use` is not one), so an
 * unknown path (a 404) is never charged an Upstash request.
 */
function routeExists(c: Context<AppEnv>): boolean {
  return matchedRoutes(c).some((route) => route.method !== "ALL");
}

function isV1(path: string): boolean {
  return path === "/v1" || path.startsWith("/v1/");
}

/** Sets headers on the response, copying it first when its headers are immutable (a fetched one). */
function setHeaders(c: Context<AppEnv>, headers: Record<string, string>): void {
  try {
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  } catch {
    c.res = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  }
}
