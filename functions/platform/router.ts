import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "./app-env";
import { ApiProblem } from "./problem";
import { redisFor } from "./redis";

/**
 * A new OpenAPIHono whose failed validations become 400 problems listing every issue. Every
 * router in `functions/routes/` is made with this, so all routes validate the same way.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const errors = result.error.issues.map((issue) => ({
          path: issue.path.join("."),
          message: issue.message,
        }));
        const detail = errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join("; ");
        throw new ApiProblem(400, "invalid-input", "Invalid input", detail, { errors });
      }
    },
  });
}

/** The Redis client of this request, built on first use (see `functions/redis.ts`). */
export function redisOf(c: Context<AppEnv>) {
  let redis = c.get("redis");
  if (!redis) {
    redis = redisFor(c.env, c.var.config);
    c.set("redis", redis);
  }
  return redis;
}

