import type { Context, Env, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { Cache } from "../../shared/cache/cache";
import { responseTags, whyNotShareable } from "../../shared/cache/http-policy";
import { MAX_KEY_BYTES, validateTags } from "../../shared/cache/limits";
import { sha256Hex } from "../../shared/cache/memoize";
import type { FetchResult, Loaded } from "../../shared/cache/types";
import { bytes, DEFAULT_MAX_VALUE_BYTES, valueBytes } from "../../shared/cache/value";
import { InvalidInputError } from "../../shared/errors";
import { utf8Length } from "../../shared/keys";
import { coreOf } from "./cores";
import { setHeaders } from "./set-headers";

/** Options of the {@link cache} middleware. */
export interface CacheMiddlewareOptions<E extends Env = any> {
  /** Seconds a response stays fresh: 1 to 31536000. */
  ttl: number;
  /** Seconds after `ttl` during which it is still served, as stale, while one request refreshes it (default 0). */
  staleTtl?: number;
  /**
   * Tags of every response stored (or a function of the request), merged with the response's
   * own `Cache-Tag` (comma-separated) and `Surrogate-Key` (space-separated) headers. Invalidate
   * them with `cache.invalidate({ tags })`.
   */
  tags?: readonly string[] | ((c: Context<E>) => readonly string[]);
  /**
   * The cache key of a request (default: its path and query, e.g. `/products/42?lang=en`; its
   * SHA-256 when longer than 512 bytes). It must hold everything the response varies on: a
   * response is served to every request with the same key.
   */
  key?: (c: Context<E>) => string | Promise<string>;
  /** The cache (default: `c.var.cache` set by `edgeRedis()`, else one made from `c.env`). */
  cache?: (c: Context<E>) => Cache;
  /** Largest body stored, in bytes (default 1 MiB); a larger one is answered uncached. */
  maxBodyBytes?: number;
}

/** What a route answered, as the cache's loader result. */
interface RouteLoaded extends Loaded {
  /** Whether the response may be stored and shared: a 200 that is not private. */
  shared: boolean;
}

/**
 * Cache-aside for GET routes: a response is served from Redis while fresh (one REST request),
 * and the route runs only on a miss: once per isolate and, through a fill lease, once across
 * isolates for concurrent misses of one key. Every response gets `X-Cache` (HIT, MISS, STALE,
 * BYPASS) and `Age`.
 *
 * Stored: 200 responses without `Cache-Control: no-store`, `private` or `no-cache` and without
 * `Set-Cookie`, up to `maxBodyBytes`, with their body and `Content-Type` (other headers are not
 * kept). Anything else is answered as the route made it and never shared. Other methods pass
 * through. When Redis is unavailable, the route runs and its response is answered uncached.
 *
 * With `staleTtl` (or after a soft invalidation), a stale response is served to every request
 * but one, which runs the route to refresh it (a route cannot run after its request ended).
 *
 * @example
 * app.get("/products/:id", cache({ ttl: 60, tags: (c) => [`product:${c.req.param("id")}`] }), (c) => c.json(load(c)));
 * // later: await cacheOf(c).invalidate({ tags: ["product:42"] });
 */
export function cache<E extends Env = any>(options: CacheMiddlewareOptions<E>): MiddlewareHandler<E> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_VALUE_BYTES;
  return createMiddleware<E>(async (c, next) => {
    if (c.req.method !== "GET") return next();
    const store = options.cache ? options.cache(c) : cacheOf(c);
    const key = options.key ? await options.key(c) : await defaultKey(c.req.url);
    const staticTags = typeof options.tags === "function" ? options.tags(c) : (options.tags ?? []);
    let ranHere = false;
    const result = await store.fetch(
      key,
      async (): Promise<RouteLoaded> => {
        ranHere = true;
        await next();
        return loadedOf(c, staticTags, maxBodyBytes);
      },
      // Inline: the route can only run within its own request, so the request that takes the
      // refresh lease runs it before answering; the others are answered stale meanwhile.
      { ttl: options.ttl, staleTtl: options.staleTtl ?? 0, refresh: "inline" },
    );
    if (result.status === "BYPASS" || (result.loaded && !result.loaded.shared)) {
      // Not shareable (or Redis failed): only the request that ran the route gets its answer;
      // one that joined it runs the route itself.
      if (!ranHere) await next();
      setHeaders(c, cacheHeaders("BYPASS", 0));
      return;
    }
    if (ranHere) setHeaders(c, cacheHeaders(result.status, result.ageSeconds));
    else c.res = responseOf(result);
  });
}

/** The cache of this request: `c.var.cache` when `edgeRedis()` set it, else one made from `c.env`. */
export function cacheOf(c: Context): Cache {
  return coreOf(c, "cache", (redis) => new Cache(redis));
}

async function defaultKey(url: string): Promise<string> {
  const { pathname, search } = new URL(url);
  const key = `${pathname}${search}`;
  return utf8Length(key) <= MAX_KEY_BYTES ? key : `sha256:${await sha256Hex(key)}`;
}

/** Reads the route's response into the loader result; `c.res` is replaced by a readable copy. */
async function loadedOf(c: Context, staticTags: readonly string[], maxBodyBytes: number): Promise<RouteLoaded> {
  const res = c.res;
  const contentType = res.headers.get("Content-Type") || "application/octet-stream";
  const declared = Number(res.headers.get("Content-Length") ?? Number.NaN);
  const shareable = whyNotShareable(res.status, res.headers) === undefined && !(declared > maxBodyBytes);
  if (!shareable) return { value: bytes(new Uint8Array(), contentType), cache: false, shared: false };
  const body = new Uint8Array(await res.arrayBuffer());
  c.res = new Response(body, res);
  if (body.byteLength > maxBodyBytes || utf8Length(contentType) > 256) return { value: bytes(body, contentType), cache: false, shared: false };
  let tags: string[];
  try {
    tags = validateTags([...staticTags, ...responseTags(res.headers)]);
  } catch (error) {
    // Tags are kept all or none: an entry missing a tag would escape that tag's invalidation.
    if (error instanceof InvalidInputError) return { value: bytes(body, contentType), cache: false, shared: false };
    throw error;
  }
  return { value: bytes(body, contentType), tags, shared: true };
}

function responseOf(result: FetchResult<RouteLoaded>): Response {
  const value = result.value;
  const headers = { "Content-Type": value.type === "json" ? "application/json" : value.contentType, ...cacheHeaders(result.status, result.ageSeconds) };
  return new Response(valueBytes(value) as Uint8Array<ArrayBuffer>, { status: 200, headers });
}

function cacheHeaders(status: string, ageSeconds: number): Record<string, string> {
  return { "X-Cache": status, Age: String(ageSeconds) };
}
