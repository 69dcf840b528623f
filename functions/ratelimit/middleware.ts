import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { RATE_NAMESPACE } from "../../shared/ratelimit/keys";
import type { RateLimiter } from "../../shared/ratelimit/limiter";
import type { LimitResult, Policy } from "../../shared/ratelimit/types";
import {
  checkLimit as adapterCheckLimit,
  limiterFor as adapterLimiterFor,
  type LimiterSource,
  MIDDLEWARE_NAMESPACE,
  rateLimit,
} from "../hono/rate-limit";
import { setHeaders } from "../hono/set-headers";
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
import { redisFor } from "../platform/redis";
import { readRateConfig } from "./config";

/**
 * The Worker's API protection, as RATE_POLICIES `middleware` configures it (config.ts):
 * by default Cloudflare's rate-limiting bindings (no Upstash request), or named policies
 * checked exactly in Upstash (one REST request per call), or off. Registered in `app.ts`:
 * `limitAuthFailures` around bearer auth, `limitApiCalls` after it, `limitPublicCalls` for
 * every other route.
 */

/** The service's limiter state: its KEY_PREFIX, and clients made with its Redis settings. */
function source(namespace: string): LimiterSource<AppEnv> {
  return { namespace, prefix: (c) => c.var.config.keyPrefix, redis: (c, options) => redisFor(c.env, c.var.config, options) };
}

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

/**
 * A limiter for this request's policies (`/v1/rate/{policy}/{id}`). Its client never retries
 * (a check that reached Redis but lost its reply would spend twice) and gives up after the
 * policies' timeout.
 */
export function limiterFor(c: Context<AppEnv>, policies: readonly Policy[]): RateLimiter {
  return adapterLimiterFor(c, policies, source(RATE_NAMESPACE));
}

/** `limit()` with the policies' failure mode also covering a Redis that is not configured. */
export function checkLimit(c: Context<AppEnv>, policies: readonly Policy[], id: string, cost: number): Promise<LimitResult> {
  return adapterCheckLimit(c, policies, id, cost, source(RATE_NAMESPACE));
}

function protect(group: "v1" | "public", keyOf: (c: Context<AppEnv>) => string | undefined | Promise<string | undefined>) {
  // Policies checked exactly in Upstash: the package's own middleware, built once.
  const exact = rateLimit<AppEnv>({
    ...source(MIDDLEWARE_NAMESPACE),
    policies: (c) => {
      const guard = readRateConfig(c.env)[group];
      return guard.kind === "policies" ? guard.policies : [];
    },
    key: keyOf,
  });
  return createMiddleware<AppEnv>(async (c, next) => {
    const guard = readRateConfig(c.env)[group];
    if (guard.kind === "off") return next();
    if (guard.kind === "policies") return exact(c, next);
    const key = await keyOf(c);
    if (key === undefined) return next();
    if (!(await underLimit(c.env, guard, key))) throw bindingLimited(guard);
    await next();
    setHeaders(c, { "RateLimit-Policy": bindingPolicyHeader([guard]) });
  });
}

function isV1(path: string): boolean {
  return path === "/v1" || path.startsWith("/v1/");
}
