import { z, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import { MAX_LIMIT, type LimitResult, type Policy } from "../../shared/ratelimit/types";
import type { AppEnv } from "../platform/app-env";
import { optionalJsonBody, problems, v1Route } from "../platform/openapi";
import { createRouter } from "../platform/router";
import { nameParam } from "../platform/validation";
import { readRateConfig } from "./config";
import { checkedHeaders } from "./headers";
import { checkLimit, limiterFor } from "./middleware";
import { rateLimitUnavailable, unknownPolicy } from "./problems";

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
    policy: z.string().openapi({ description: "The checked policy", example: "login" }),
    allowed: z.boolean().openapi({ description: "Whether the units were spent (check) or one more unit fits (peek)" }),
    limit: z.number().int().openapi({ description: "The policy's limit (a token bucket's capacity)", example: 100 }),
    remaining: z.number().int().openapi({ description: "Units left", example: 99 }),
    resetMs: z.number().int().openapi({ description: "Ms until the full limit is back if nothing more is spent", example: 60_000 }),
    retryAfterMs: z.number().int().openapi({ description: "Ms until the same request would be allowed (0 when allowed)", example: 0 }),
    reason: z
      .enum(["redis-unavailable", "cached-block"])
      .optional()
      .openapi({ description: "Present when Redis did not decide: it failed (fail-open policy) or the isolate knew the block" }),
    source: z.enum(["lease"]).optional().openapi({
      description:
        "`lease`: admitted from this Worker isolate's lease of the policy (its `lease` setting), with no request to Redis; " +
        "`remaining` and `resetMs` are those Redis gave when the lease was taken, less what this isolate spent since",
    }),
  })
  .openapi("RateLimitResult");

const headers = z.object({
  "Checked-RateLimit-Policy": z.string().openapi({ description: "The checked policy's limit and window (not the caller's)", example: '"login";q=5;w=60' }),
  "Checked-RateLimit": z
    .string()
    .optional()
    .openapi({ description: "The checked identifier's units left and seconds to a full reset (not the caller's)", example: '"login";r=4;t=60' }),
  "Checked-RateLimit-Source": z
    .literal("lease")
    .optional()
    .openapi({ description: "Present when the answer came from this isolate's lease of the policy, with no request to Redis", example: "lease" }),
});

/** A route on `/v1/rate/{policy}/{id}`, behind the bearer token. */
function rateRoute<const R extends Omit<RouteConfig, "path" | "security">>(route: R) {
  return v1Route({ ...route, path: "/v1/rate/{policy}/{id}" });
}

/** A 200 carrying the check's result and the Checked-RateLimit headers. */
function resultResponse(description: string) {
  return { description, headers, content: { "application/json": { schema: ResultSchema } } };
}

const checkRoute = rateRoute({
  method: "post",
  summary: "Spend from a named policy for an identifier: 200 with allowed true or false",
  description:
    "Asks whether the identifier may spend `cost` units under the policy, and spends them if so. The answer is " +
    "always **200**: `allowed: true` (spent) or `allowed: false` (denied, nothing spent), with the checked " +
    "policy's numbers in the body and in `Checked-RateLimit-Policy` / `Checked-RateLimit`, never `Retry-After`. " +
    "A **429** on this route, as on every route, means only that you, the caller, are rate limited: retry it " +
    "after `Retry-After`. Never retry a 200 with `allowed: false` automatically: it would spend again once allowed. " +
    "A policy configured with `lease` may be answered from the Worker isolate's lease, with no request to Redis: " +
    "the body then says `source: \"lease\"` and the response carries `Checked-RateLimit-Source: lease`.",
  request: { params: Params, body: optionalJsonBody(CheckBody) },
  responses: { 200: resultResponse("The decision: allowed (spent) or not (nothing spent)"), ...problems(400, 404) },
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
  if (!policy) throw unknownPolicy(name);
  return policy;
}

function body(policy: Policy, result: LimitResult) {
  const { allowed, limit, remaining, resetMs, retryAfterMs, reason, source } = result;
  return { policy: policy.name, allowed, limit, remaining, resetMs, retryAfterMs, ...(reason ? { reason } : {}), ...(source ? { source } : {}) };
}

/**
 * `POST /v1/rate/{policy}/{id}` `{ cost? }`: 200 with the result, allowed or not; a 503
 * problem when Redis is unavailable and the policy fails closed. `GET` peeks; `DELETE` resets
 * (204). The checked policy's headers are `Checked-RateLimit-*` (headers.ts), so that they are
 * never read as the caller's own limits.
 */
export const rateRoutes = createRouter()
  .openapi(checkRoute, async (c) => {
    const { policy: name, id } = c.req.valid("param");
    const { cost = 1 } = c.req.valid("json");
    const policy = policyOf(c, name);
    const result = await checkLimit(c, [policy], id, cost);
    const headers = checkedHeaders([policy], result);
    if (!result.allowed && result.reason === "redis-unavailable") throw rateLimitUnavailable(headers);
    return c.json(body(policy, result), 200, headers);
  })
  .openapi(peekRoute, async (c) => {
    const { policy: name, id } = c.req.valid("param");
    const policy = policyOf(c, name);
    const result = await limiterFor(c, [policy]).peek(id);
    return c.json(body(policy, result), 200, checkedHeaders([policy], result));
  })
  .openapi(resetRoute, async (c) => {
    const { policy: name, id } = c.req.valid("param");
    await limiterFor(c, [policyOf(c, name)]).reset(id);
    return c.body(null, 204);
  });
