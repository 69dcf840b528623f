import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { WindowedCounters } from "../../shared/counters/counters";
import { GRANULARITIES, MAX_HIT, type GranularityName } from "../../shared/counters/types";
import type { AppEnv } from "../platform/app-env";
import { jsonResponse, optionalJsonBody, problems, v1Route } from "../platform/openapi";
import { redisFor } from "../platform/redis";
import { createRouter, redisOf } from "../platform/router";
import { nameParam } from "../platform/validation";

const Params = z.object({ name: nameParam("name", "Counter name", "signups") });

const HitBody = z
  .strictObject({
    by: z.number().int().min(1).max(MAX_HIT).optional().openapi({ description: "Amount to add (default 1)", example: 1 }),
  })
  .openapi("CounterHit");

const CountsSchema = z
  .object({
    second: z.number().int().openapi({ description: "Count of the current second", example: 1 }),
    minute: z.number().int().openapi({ description: "Count of the current minute", example: 12 }),
    hour: z.number().int().openapi({ description: "Count of the current hour", example: 340 }),
  })
  .openapi("CounterCounts");

const granularities = Object.keys(GRANULARITIES) as [GranularityName, ...GranularityName[]];

const SeriesQuery = z.object({
  granularity: z
    .enum(granularities)
    .optional()
    .openapi({ param: { name: "granularity", in: "query" }, description: "Bucket size (default minute)", example: "minute" }),
  buckets: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .openapi({
      param: { name: "buckets", in: "query" },
      description: "How many of the latest buckets (default 60; at most 300 seconds, 1440 minutes or 168 hours)",
      example: 60,
    }),
});

const SeriesSchema = z
  .object({
    granularity: z.enum(granularities),
    buckets: z.array(
      z.object({
        start: z.number().int().openapi({ description: "Bucket start, ms since the epoch (Redis clock)", example: 1767225600000 }),
        count: z.number().int(),
      }),
    ),
    total: z.number().int().openapi({ description: "Sum of the buckets' counts" }),
  })
  .openapi("CounterSeries");

const hitRoute = v1Route({
  method: "post",
  path: "/v1/counters/{name}",
  summary: "Add to a windowed counter's current second, minute and hour",
  request: { params: Params, body: optionalJsonBody(HitBody) },
  responses: {
    200: jsonResponse("The new counts of the current buckets", CountsSchema),
    ...problems(400),
  },
});

const seriesRoute = v1Route({
  method: "get",
  path: "/v1/counters/{name}",
  summary: "The latest buckets of a windowed counter, oldest first",
  request: { params: Params, query: SeriesQuery },
  responses: {
    200: jsonResponse("Series", SeriesSchema),
    ...problems(400),
  },
});

function countersOf(c: Context<AppEnv>, redis = redisOf(c)): WindowedCounters {
  return new WindowedCounters(redis, { prefix: c.var.config.keyPrefix });
}

/**
 * `POST /v1/counters/{name}` `{ by? }` → the new counts; `GET /v1/counters/{name}?granularity=
 * minute&buckets=60` → `{ granularity, buckets: [{ start, count }], total }`.
 * A hit is sent once, never retried: a lost reply may mean it counted, and resending would
 * count it twice (a failed hit is a 503 the caller may choose to repeat).
 */
export const counterRoutes = createRouter()
  .openapi(hitRoute, async (c) => {
    const { name } = c.req.valid("param");
    const { by = 1 } = c.req.valid("json");
    const redis = redisFor(c.env, c.var.config, { retries: 0 });
    return c.json(await countersOf(c, redis).hit(name, by), 200);
  })
  .openapi(seriesRoute, async (c) => {
    const { name } = c.req.valid("param");
    const { granularity, buckets } = c.req.valid("query");
    return c.json(await countersOf(c).series(name, { granularity, buckets }), 200);
  });
