import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { digestHex } from "../../shared/hex";
import { failureResult, RateLimiter, timeoutOf } from "../../shared/ratelimit/limiter";
import type { LimitResult, Policy } from "../../shared/ratelimit/types";
import type { AppEnv } from "../platform/app-env";
import { ApiProblem } from "../platform/problem";
import { readRateConfig } from "./config";
import { RedisNotConfiguredError, redisFor } from "../platform/redis";

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** Policies checked together on each request (or a function of the request); none: no check. */
  policies: readonly Policy[] | ((c: Context<AppEnv>) => readonly Policy[]);
  /** The identifier a request is counted under; `undefined` lets the request through unchecked. */
  key: (c: Context<AppEnv>) => string | undefined | Promise<string | undefined>;
}

/**
 * Rate-limits requests: one check of every policy (one Redis request, or none when the
 * identifier is already known to be blocked), then:
 * - allowed: the handler runs and its response gets `RateLimit-Policy` and `RateLimit`;
 * - denied: a 429 problem with `Retry-After` and the same headers;
 * - Redis unavailable: the policies' failure mode decides (fail open: the request runs;
 *   fail closed: a 503 problem).
 *
 * @example app.use("/v1/*", rateLimit({ policies: [perToken], key: (c) => c.req.header("X-User") }))
 */
export function rateLimit(options: RateLimitOptions) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const policies = typeof options.policies === "function" ? options.policies(c) : options.policies;
    if (policies.length === 0) return next();
    const id = await options.key(c);
    if (id === undefined) return next();
    const result = await checkLimit(c, policies, id, 1, MIDDLEWARE_NAMESPACE);
    const headers = rateLimitHeaders(policies, result);
    if (!result.allowed) throw denial(result, headers);
    await next();
    setHeaders(c, headers);
  });
}

/**
 * Key namespace of the middleware's state, apart from `/v1/rate/{policy}/{id}`'s ("rate"):
 * otherwise `DELETE /v1/rate/api/token:<hash>` would reset a client's own middleware limit.
 */
export const MIDDLEWARE_NAMESPACE = "rate-mw";

/** `/v1/*`: RATE_POLICIES `middleware.v1` per API token (a hash of it, never the token). */
export const limitApiCalls = rateLimit({
  policies: (c) => readRateConfig(c.env).v1,
  key: async (c) => {
    const token = /^Bearer\s+(\S+)/i.exec(c.req.header("Authorization") ?? "")?.[1];
    return token === undefined ? undefined : `token:${await tokenHash(token)}`;
  },
});

/**
 * Every route outside `/v1`: RATE_POLICIES `middleware.public` per client IP. Cloudflare
 * always sets `CF-Connecting-IP` (a client cannot forge it); without it (local development)
 * the request is not checked.
 */
export const limitPublicCalls = rateLimit({
  policies: (c) => (isV1(c.req.path) ? [] : readRateConfig(c.env).public),
  key: (c) => {
    const ip = c.req.header("CF-Connecting-IP");
    return ip ? `ip:${ip}` : undefined;
  },
});

/**
 * A limiter for this request's policies. Its client never retries (a check that reached Redis
 * but lost its reply would spend twice) and gives up after the policies' timeout.
 */
export function limiterFor(c: Context<AppEnv>, policies: readonly Policy[], namespace = "rate"): RateLimiter {
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
  namespace = "rate",
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

/**
 * `RateLimit-Policy` (every policy) and `RateLimit` (every policy whose state is known), as
 * structured-field lists per the IETF httpapi ratelimit-headers draft:
 * `RateLimit-Policy: "api";q=3000;w=3` and `RateLimit: "api";r=2999;t=1`.
 * q: the limit; w: the window in seconds (a token bucket's full refill time); r: units left;
 * t: seconds until the full limit is back.
 */
export function rateLimitHeaders(policies: readonly Policy[], result: LimitResult): Record<string, string> {
  const headers: Record<string, string> = {
    "RateLimit-Policy": policies
      .map((p) => `${sfString(p.name)};q=${p.algorithm.limit};w=${p.algorithm.windowSeconds}`)
      .join(", "),
  };
  if (result.policies.length > 0) {
    headers.RateLimit = result.policies
      .map((p) => `${sfString(p.policy)};r=${p.remaining};t=${Math.ceil(p.resetMs / 1000)}`)
      .join(", ");
  }
  return headers;
}

/** The problem for a denied check: 429, or 503 when Redis was unavailable and a policy fails closed. */
export function denial(result: LimitResult, headers: Record<string, string>): ApiProblem {
  if (result.reason === "redis-unavailable") {
    return new ApiProblem(
      503,
      "rate-limit-unavailable",
      "Rate limit unavailable",
      "The rate limit could not be checked and its policy fails closed; retry later",
      {},
      { ...headers, "Retry-After": "1" },
    );
  }
  const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
  const policy = result.policies.find((p) => !p.allowed)?.policy;
  const { allowed, limit, remaining, resetMs, retryAfterMs } = result;
  return new ApiProblem(
    429,
    "rate-limited",
    "Too many requests",
    `Rate limit${policy ? ` "${policy}"` : ""} exceeded; retry in ${retryAfter} s`,
    { policy, allowed, limit, remaining, resetMs, retryAfterMs, ...(result.reason ? { reason: result.reason } : {}) },
    { ...headers, "Retry-After": String(retryAfter) },
  );
}

/** An RFC 8941 sf-string. */
function sfString(text: string): string {
  return `"${text.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

function isV1(path: string): boolean {
  return path === "/v1" || path.startsWith("/v1/");
}

/** Adds headers to the response, copying it first when its headers are immutable (a fetched one). */
function setHeaders(c: Context<AppEnv>, headers: Record<string, string>): void {
  try {
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  } catch {
    c.res = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  }
}

const tokenHashes = new Map<string, string>();

/** First 128 bits of the token's SHA-256, hex: the token itself never becomes part of a key. */
async function tokenHash(token: string): Promise<string> {
  let hash = tokenHashes.get(token);
  if (hash === undefined) {
    hash = (await digestHex("SHA-256", token)).slice(0, 32);
    if (tokenHashes.size >= 16) tokenHashes.clear(); // a handful of tokens at most; stay bounded
    tokenHashes.set(token, hash);
  }
  return hash;
}
