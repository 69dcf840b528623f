import { createRoute, z } from "@hono/zod-openapi";
import { bytes, Cache, InflightMap, MAX_KEY_BYTES, policyFromResponse, sha256Hex, valueBytes, type FetchResult, type Loaded } from "../../shared/cache";
import { utf8Length } from "../../shared/keys";
import { cacheOptions, readCacheConfig } from "./config";
import { BEARER, problems } from "../platform/openapi";
import { ApiProblem } from "../platform/problem";
import { createRouter, redisOf } from "../platform/router";

/** This isolate's in-flight proxy loads: concurrent misses for one URL fetch the origin once. */
const inflight = new InflightMap();

/** What the origin answered, as the cache's loader result (only 200s are ever stored). */
interface OriginLoaded extends Loaded {
  status: number;
  location?: string;
}

/** The origin failed (unreachable, timed out, or a 5xx): stale where allowed, else 502. */
class OriginError extends Error {
  override readonly name = "OriginError";
}

const route = createRoute({
  method: "get",
  path: "/v1/proxy/{path}",
  summary: "Read-through proxy to ORIGIN_URL (cache-aside)",
  description:
    "Serves ORIGIN_URL/{path}?{query} from the cache; the query string is part of the cache key. TTL from the origin's " +
    "Cache-Control (s-maxage, then max-age); no-store, private, no-cache and Set-Cookie bypass; stale-while-revalidate and " +
    "stale-if-error are honoured; tags from Cache-Tag (comma-separated) and Surrogate-Key (space-separated). " +
    "X-Cache: HIT | MISS | STALE | BYPASS and Age on every response. 503 when ORIGIN_URL is not set.",
  security: BEARER,
  request: { params: z.object({ path: z.string().openapi({ param: { name: "path", in: "path" }, description: "Origin path; may contain /", example: "products/42" }) }) },
  responses: {
    200: {
      description: "The origin's response body, from the cache or the origin",
      headers: z.object({ "X-Cache": z.enum(["HIT", "MISS", "STALE", "BYPASS"]), Age: z.string() }),
      content: { "*/*": { schema: z.string().openapi({ format: "binary" }) } },
    },
    ...problems(502, 503),
  },
});

/** Fetches the origin within the timeout; a 5xx, network failure or timeout is an OriginError. */
async function loadFromOrigin(target: string, timeoutMs: number): Promise<OriginLoaded> {
  let res: Response;
  let body: Uint8Array;
  try {
    // No request headers are forwarded: the cache key does not vary on them.
    res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    body = new Uint8Array(await res.arrayBuffer());
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    throw new OriginError(timedOut ? `The origin did not answer within ${timeoutMs} ms` : "The origin could not be reached");
  }
  if (res.status >= 500) throw new OriginError(`The origin answered ${res.status}`);
  const contentType = res.headers.get("Content-Type") || "application/octet-stream";
  const value = bytes(body, contentType);
  const policy = policyFromResponse(res.status, res.headers);
  if (!policy.store || utf8Length(contentType) > 256) {
    const location = res.headers.get("Location");
    return { value, cache: false, status: res.status, ...(location ? { location } : {}) };
  }
  const { ttl, tags, staleTtl, staleIfErrorTtl } = policy;
  return { value, status: 200, ttl, tags, staleTtl, staleIfErrorTtl };
}

/** The cache key of a path and query: itself, or its SHA-256 when longer than a key may be. */
async function proxyKey(pathAndQuery: string): Promise<string> {
  return utf8Length(pathAndQuery) <= MAX_KEY_BYTES ? pathAndQuery : `sha256:${await sha256Hex(pathAndQuery)}`;
}

function respond(result: FetchResult<OriginLoaded>): Response {
  const value = result.value;
  const headers = new Headers({ "X-Cache": result.status, Age: String(result.ageSeconds) });
  if (value.type !== "json") headers.set("Content-Type", value.contentType);
  if (result.loaded?.location) headers.set("Location", result.loaded.location);
  return new Response(valueBytes(value), { status: result.loaded?.status ?? 200, headers });
}

/**
 * `GET /v1/proxy/*`: the read-through proxy. Handled as a wildcard (a path may hold "/"), and
 * documented in the OpenAPI document by the route above.
 */
export const proxyRoutes = createRouter();
proxyRoutes.openAPIRegistry.registerPath(route);
proxyRoutes.get("/v1/proxy/*", async (c) => {
  const config = readCacheConfig(c.env);
  if (!config.originUrl) {
    throw new ApiProblem(503, "proxy-not-configured", "Proxy not configured", "ORIGIN_URL is not set on this Worker");
  }
  const url = new URL(c.req.url);
  const path = url.pathname.slice("/v1/proxy".length) || "/";
  const target = `${config.originUrl}${path}${url.search}`;
  const cache = new Cache(redisOf(c), { ...cacheOptions(c.var.config, config, "proxy"), inflight });
  try {
    const result = await cache.fetch(await proxyKey(`${path}${url.search}`), () => loadFromOrigin(target, config.originTimeoutMs), {
      waitUntil: (promise) => c.executionCtx.waitUntil(promise),
    });
    return respond(result);
  } catch (error) {
    if (error instanceof OriginError) throw new ApiProblem(502, "origin-failed", "Bad gateway", error.message);
    throw error;
  }
});
