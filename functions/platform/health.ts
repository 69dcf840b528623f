import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Env } from "../env";
import type { AppEnv } from "./app-env";
import { publicProblems } from "./openapi";
import { createRouter, redisOf } from "./router";

/** How long one PING answers every /health request of an isolate. */
export const HEALTH_PROBE_INTERVAL_MS = 1000;

const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    redis: z.object({
      ok: z.boolean(),
      latencyMs: z.number().openapi({ description: "How long the PING took" }),
      checkedAt: z.string().openapi({ description: "When the PING was sent (RFC 3339)" }),
      ageMs: z.number().openapi({ description: `How old this answer is: at most ${HEALTH_PROBE_INTERVAL_MS} ms` }),
    }),
  })
  .openapi("Health");

const route = createRoute({
  method: "get",
  path: "/health",
  summary: "Liveness and Redis reachability (public)",
  description: `Redis is PINGed at most once per ${HEALTH_PROBE_INTERVAL_MS} ms per isolate; every request in between gets that answer, with its age, so /health cannot run up the Redis bill.`,
  security: [],
  responses: {
    200: { description: "Redis answers PING", content: { "application/json": { schema: HealthSchema } } },
    503: { description: "Redis unreachable or not configured", content: { "application/json": { schema: HealthSchema } } },
    ...publicProblems(),
  },
});

interface Probe {
  ok: boolean;
  latencyMs: number;
  at: number;
}

// Per isolate and per env object (a test may build other envs): the latest probe, or the one in flight.
const probes = new WeakMap<Env, Promise<Probe>>();

async function ping(c: Context<AppEnv>): Promise<Probe> {
  const at = Date.now();
  let ok = false;
  try {
    ok = (await redisOf(c).ping()) === "PONG";
  } catch {
    ok = false; // not configured, unreachable or timed out: all mean "degraded" here
  }
  return { ok, latencyMs: Date.now() - at, at };
}

/** The isolate's latest probe when younger than the interval, else a new one (shared by concurrent requests). */
async function probe(c: Context<AppEnv>): Promise<Probe> {
  const current = probes.get(c.env);
  if (current) {
    const last = await current;
    if (Date.now() - last.at < HEALTH_PROBE_INTERVAL_MS) return last;
    if (probes.get(c.env) !== current) return probe(c); // someone started the next one meanwhile
  }
  const next = ping(c);
  probes.set(c.env, next);
  return next;
}

/**
 * `GET /health`: Redis reachability, probed at most once a second per isolate; 503 `degraded`
 * when it does not answer. Echoes `INSTANCE_ID`, when set, as `X-Instance-Id`.
 */
export const healthRoutes = createRouter().openapi(route, async (c) => {
  // Lets `npm start` tell that the Worker answering is the one it started (see Env.INSTANCE_ID).
  if (c.env.INSTANCE_ID) c.header("X-Instance-Id", c.env.INSTANCE_ID);
  const { ok, latencyMs, at } = await probe(c);
  const redis = { ok, latencyMs, checkedAt: new Date(at).toISOString(), ageMs: Math.max(0, Date.now() - at) };
  return c.json({ status: ok ? "ok" : "degraded", redis } as const, ok ? 200 : 503);
});
