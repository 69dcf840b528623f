import { createRoute, z } from "@hono/zod-openapi";
import { createRouter, redisOf } from "../router";

const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    redis: z.object({ ok: z.boolean(), latencyMs: z.number() }),
  })
  .openapi("Health");

const route = createRoute({
  method: "get",
  path: "/health",
  summary: "Liveness and Redis reachability (public)",
  responses: {
    200: { description: "Redis answers PING", content: { "application/json": { schema: HealthSchema } } },
    503: { description: "Redis unreachable or not configured", content: { "application/json": { schema: HealthSchema } } },
  },
});

/**
 * `GET /health`: PINGs Redis once; 503 with `status: "degraded"` when it does not answer.
 * Echoes `INSTANCE_ID`, when set, as `X-Instance-Id`.
 */
export const healthRoutes = createRouter().openapi(route, async (c) => {
  const started = Date.now();
  let ok = false;
  try {
    ok = (await redisOf(c).ping()) === "PONG";
  } catch {
    ok = false; // not configured, unreachable or timed out: all mean "degraded" here
  }
  const latencyMs = Date.now() - started;
  // Lets `npm start` tell that the Worker answering is the one it started (see Env.INSTANCE_ID).
  if (c.env.INSTANCE_ID) c.header("X-Instance-Id", c.env.INSTANCE_ID);
  return c.json({ status: ok ? "ok" : "degraded", redis: { ok, latencyMs } } as const, ok ? 200 : 503);
});
