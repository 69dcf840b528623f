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

/**
 * Builds the whole app: middleware, every route, the OpenAPI document and the docs page. Its
 * inferred type carries every route's schema, for the typed client ({@link AppType}).
 */
export function createApp() {
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
  const routed = app
    .route("/", healthRoutes)
    .route("/", cacheRoutes)
    .route("/", proxyRoutes)
    .route("/", eventRoutes)
    .route("/", rateRoutes)
    .route("/", counterRoutes)
    .route("/", leaderboardRoutes)
    .route("/", lockRoutes);

  registerOpenApiDocument(app);
  registerDocsPage(app);
  return routed;
}

/**
 * The type of the service's routes, for Hono's RPC client: `hc<AppType>(url)`, or
 * `createClient` from the package's `client` entry, which adds the bearer token.
 */
export type AppType = ReturnType<typeof createApp>;
