import type { OpenAPIHono } from "@hono/zod-openapi";
import { swaggerUI } from "@hono/swagger-ui";
import type { AppEnv } from "./app-env";
import { readConfig } from "./config";
import { handleError, handleNotFound } from "./error-handler";
import { requireApiToken } from "./middleware/auth";
import { limitBody } from "./middleware/body-limit";
import { limitApiCalls, limitPublicCalls } from "./middleware/rate-limit";
import { createRouter } from "./router";
import { benchRoutes } from "./routes/bench";
import { benchCacheRoutes } from "./routes/bench-cache";
import { benchLockRoutes } from "./routes/bench-lock";
import { benchRateLimitRoutes } from "./routes/bench-ratelimit";
import { cacheRoutes } from "./routes/cache";
import { counterRoutes } from "./routes/counters";
import { healthRoutes } from "./routes/health";
import { leaderboardRoutes } from "./routes/leaderboards";
import { lockRoutes } from "./routes/locks";
import { proxyRoutes } from "./routes/proxy";
import { rateRoutes } from "./routes/rate";

/** Builds the whole app: middleware, every route, the OpenAPI document and the docs page. */
export function createApp(): OpenAPIHono<AppEnv> {
  const app = createRouter();
  app.onError(handleError);
  app.notFound(handleNotFound);

  app.use("*", async (c, next) => {
    c.set("config", readConfig(c.env));
    await next();
  });
  app.use("/v1/*", requireApiToken);
  // Bench-only routes write to Redis: never open, even where someone enabled them by mistake.
  app.use("/__bench/*", requireApiToken);
  app.use("/v1/*", limitApiCalls);
  app.use("*", limitPublicCalls);
  app.use("*", limitBody);

  app.route("/", healthRoutes);
  app.route("/", cacheRoutes);
  app.route("/", proxyRoutes);
  app.route("/", rateRoutes);
  app.route("/", counterRoutes);
  app.route("/", leaderboardRoutes);
  app.route("/", lockRoutes);
  // Bench-only routes: 404 unless ENABLE_BENCH_ROUTES=true; not in the OpenAPI document.
  app.route("/", benchRoutes);
  app.route("/", benchCacheRoutes);
  app.route("/", benchRateLimitRoutes);
  app.route("/", benchLockRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "The Worker's API_TOKEN secret",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Edge Redis Functions",
      version: "0.1.0",
      description:
        "Cache-aside with tags, rate counters, leaderboards and token-guarded locks on Upstash Redis. " +
        "Every error is an RFC 9457 application/problem+json body.",
    },
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json", title: "Edge Redis Functions API" }));
  return app;
}
