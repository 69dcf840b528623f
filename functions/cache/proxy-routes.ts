import { createRoute, z } from "@hono/zod-openapi";
import { Cache } from "../../shared/cache";
import { OriginError, originTarget, proxyThroughCache } from "../../shared/cache/proxy";
import { BEARER, problems } from "../platform/openapi";
import { createRouter, redisOf } from "../platform/router";
import { cacheOptions, readCacheConfig } from "./config";
import { originFailed, proxyNotConfigured } from "./problems";
import { flushCacheStats } from "./routes";

/** A response of the origin served as it is, with the proxy's headers. */
function passedThrough(description: string) {
  return {
    description,
    headers: z.object({ "X-Cache": z.enum(["HIT", "MISS", "STALE", "BYPASS"]), Age: z.string() }),
    content: { "*/*": { schema: z.string().openapi({ format: "binary" }) } },
  };
}

const route = createRoute({
  method: "get",
  path: "/v1/proxy/{path}",
  summary: "Read-through proxy to ORIGIN_URL (cache-aside)",
  description:
    "Serves ORIGIN_URL/{path}?{query} from the cache; the query string is part of the cache key. TTL from the origin's " +
    "Cache-Control (s-maxage, then max-age); no-store, private, no-cache and Set-Cookie bypass; stale-while-revalidate and " +
    "stale-if-error are honoured; tags from Cache-Tag (comma-separated) and Surrogate-Key (space-separated). " +
    "X-Cache: HIT | MISS | STALE | BYPASS and Age on every response, with X-Content-Type-Options: nosniff and " +
    "Content-Security-Policy: sandbox. Bodies over CACHE_MAX_VALUE_BYTES are streamed through uncached. A path with '..', " +
    "'.', empty segments, backslashes or encoded slashes is refused (400): the request never leaves ORIGIN_URL's host and " +
    "base path. 503 when ORIGIN_URL is not set.",
  security: BEARER,
  request: { params: z.object({ path: z.string().openapi({ param: { name: "path", in: "path" }, description: "Origin path; may contain /", example: "products/42" }) }) },
  responses: {
    200: passedThrough("The origin's response, from the cache or the origin"),
    // The origin's other 2xx, 3xx and 4xx answers pass through as they are (its 5xx is a 502).
    "2XX": passedThrough("Another 2xx of the origin (204 and 205 without a body)"),
    "3XX": passedThrough("A 3xx of the origin, with its Location (redirects are not followed)"),
    "4XX": passedThrough("A 4xx of the origin, with its body (the problems listed are the proxy's own)"),
    ...problems(400, 502, 503),
  },
});

/**
 * `GET /v1/proxy/*`: translates HTTP to the proxy core in `shared/cache/proxy.ts`. Handled as a
 * wildcard (a path may hold "/"), and documented in the OpenAPI document by the route above.
 */
export const proxyRoutes = createRouter();
proxyRoutes.openAPIRegistry.registerPath(route);
proxyRoutes.use("/v1/proxy/*", flushCacheStats);
proxyRoutes.get("/v1/proxy/:path{.+}", async (c) => {
  const config = readCacheConfig(c.env);
  if (!config.originUrl) throw proxyNotConfigured();
  const url = new URL(c.req.url);
  const target = originTarget(config.originUrl, c.req.param("path"), url.pathname, url.search);
  const cache = new Cache(redisOf(c), cacheOptions(c.var.config, config, "proxy"));
  try {
    return await proxyThroughCache(cache, target, {
      timeoutMs: config.originTimeoutMs,
      maxBodyBytes: config.maxValueBytes,
      waitUntil: (promise) => c.executionCtx.waitUntil(promise),
    });
  } catch (error) {
    if (error instanceof OriginError) throw originFailed(error);
    throw error;
  }
});
