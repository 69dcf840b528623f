import { z, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import { MAX_LIMIT, type LimitResult, type Policy } from "../../shared/ratelimit/types";
import type { AppEnv } from "../platform/app-env";
import { checkLimit, denial, limiterFor, rateLimitHeaders } from "./middleware";
import { optionalJsonBody, problems, v1Route } from "../platform/openapi";
import { ApiProblem } from "../platform/problem";
import { readRateConfig } from "./config";
import { createRouter } from "../platform/router";
import { nameParam } from "../platform/validation";

const Params = z.object({
  policy: z
    .string()
    .openapi({ param: { name: "policy", in: "path" }, description: "A policy named in RATE_POLICIES", example: "api" }),
  id: nameParam("id", "Identifier", "user-42"),
});

const CheckBody = z
  .strictObject({
    cost: z
      .number()
      .int()
      .min(-MAX_LIMIT)
      .max(MAX_LIMIT)
      .optional()
      .openapi({ description: "Units to spend (default 1; at most the limit). Negative refunds, token buckets only.", example: 1 }),
  })
  .openapi("RateCheck");

const ResultSchema = z
  .object({
    allowed: z.boolean(),
    limit: z.number().int().openapi({ description: "The policy's limit (a token bucket's capacity)", example: 100 }),
    remaining: z.number().int().openapi({ description: "Units left", example: 99 }),
    resetMs: z.number().int().openapi({ description: "Ms until the full limit is back if nothing more is spent", example: 60_000 }),
    retryAfterMs: z.number().int().openapi({ description: "Ms until the same request would be allowed (0 when allowed)", example: 0 }),
    reason: z
      .enum(["redis-unavailable", "cached-block"])
      .optional()
      .openapi({ description: "Present when Redis did not decide: it failed (fail-open policy) or the isolate knew the block" }),
  })
  .openapi("RateLimitResult");

const headers = z.object({
  "RateLimit-Policy": z.string().openapi({ example: '"api";q=100;w=60' }),
  RateLimit: z.string().optional().openapi({ example: '"api";r=99;t=60' }),
});

/** A route on `/v1/rate/{policy}/{id}`, behind the bearer token. */
function rateRoute<const R extends Omit<RouteConfig, "path" | "security">>(route: R) {
  return v1Route({ ...route, path: "/v1/rate/{policy}/{id}" });
}

/** A 200 carrying the check's result and the RateLimit headers. */
function resultResponse(description: string) {
  return { description, headers, content: { "application/json": { schema: ResultSchema } } };
}

const checkRoute = rateRoute({
  method: "post",
  summary: "Spend from a named policy (429 when over the limit)",
  request: { params: Params, body: optionalJsonBody(CheckBody) },
  responses: { 200: resultResponse("Allowed"), ...problems(400, 404, 429) },
});

const peekRoute = rateRoute({
  method: "get",
  summary: "Read a policy's state for an identifier without spending",
  request: { params: Params },
  responses: { 200: resultResponse("State; allowed tells whether one more unit fits"), ...problems(400, 404) },
});

const resetRoute = rateRoute({
  method: "delete",
  summary: "Forget everything spent by an identifier under a policy",
  request: { params: Params },
  responses: { 204: { description: "Reset" }, ...problems(400, 404) },
});

/** The named policy, or a 404 problem: clients can only use limits the operator configured. */
function policyOf(c: Context<AppEnv>, name: string): Policy {
  const policy = readRateConfig(c.env).policies.get(name);
  if (!policy) throw new ApiProblem(404, "unknown-policy", "Unknown policy", `No rate-limit policy named "${name}"`);
  return policy;
}

function body(result: LimitResult) {
  const { allowed, limit, remaining, resetMs, retryAfterMs, reason } = result;
  return { allowed, limit, remaining, resetMs, retryAfterMs, ...(reason ? { reason } : {}) };
}

/**
 * `POST /v1/rate/{policy}/{id}` `{ cost? }`: 200 with the result when allowed; a 429 problem
 * carrying the same fields (and `Retry-After`) when not; a 503 problem when Redis is
 * unavailable and the policy fails closed. `GET` peeks; `DELETE` resets (204).
 */
export const rateRoutes = createRouter()
  .openapi(checkRoute, async (c) => {
    const { policy: name, id } = c.req.valid("param");
    const { cost = 1 } = c.req.valid("json");
    const policy = policyOf(c, name);
    const result = await checkLimit(c, [policy], id, cost);
    const headers = rateLimitHeaders([policy], result);
    if (!result.allowed) throw denial(result, headers);
    return c.json(body(result), 200, headers);
  })
  .openapi(peekRoute, async (c) => {
    const { policy: name, id } = c.req.valid("param");
    const policy = policyOf(c, name);
    const result = await limiterFor(c, [policy]).peek(id);
    return c.json(body(result), 200, rateLimitHeaders([policy], result));
  })
  .openapi(resetRoute, async (c) => {
    const { policy: name, id } = c.req.valid("param");
    await limiterFor(c, [policyOf(c, name)]).reset(id);
    return c.body(null, 204);
  });
