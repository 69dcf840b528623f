import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./platform/app-env";
import { readConfig } from "./platform/config";
import { handleError, handleNotFound } from "./platform/errors";
import { requireApiToken } from "./platform/auth";
import { limitBody } from "./platform/body-limit";
import { limitApiCalls, limitAuthFailures, limitPublicCalls } from "./ratelimit/middleware";
import { registerDocsPage } from "./platform/docs-page";
import { registerIndex, registerOpenApiDocument } from "./platform/documentation";
import { createRouter } from "./platform/router";
import { eventRoutes } from "./cache/events-routes";
import { cacheRoutes } from "./cache/routes";
import { counterRoutes } from "./counters/routes";
import { healthRoutes } from "./platform/health";
import { leaderboardRoutes } from "./leaderboard/routes";
import { lockRoutes } from "./lock/routes";
import { proxyRoutes } from "./cache/proxy-routes";
import { rateRoutes } from "./ratelimit/routes";

/** Builds the whole app: middleware, every route, the OpenAPI document and the docs page. */
export function createApp(): OpenAPIHono<AppEnv> {
  const app = createRouter();
  app.onError(handleError);
  app.notFound(handleNotFound);

  app.use("*", async (c, next) => {
    c.set("config", readConfig(c.env));
    await next();
  });
  app.use("/v1/*", limitAuthFailures);
  app.use("/v1/*", requireApiToken);
  app.use("/v1/*", limitApiCalls);
  app.use("*", limitPublicCalls);
  app.use("*", limitBody);

  registerIndex(app);
  app.route("/", healthRoutes);
  app.route("/", cacheRoutes);
  app.route("/", proxyRoutes);
  app.route("/", eventRoutes);
  app.route("/", rateRoutes);
  app.route("/", counterRoutes);
  app.route("/", leaderboardRoutes);
  app.route("/", lockRoutes);

  registerOpenApiDocument(app);
  registerDocsPage(app);
  return app;
}
