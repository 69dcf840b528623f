import { InvalidInputError } from "../errors";
import { utf8Length } from "../keys";
import type { Cache } from "./cache";
import { policyFromResponse } from "./http-policy";
import { MAX_KEY_BYTES } from "./limits";
import { sha256Hex } from "./memoize";
import type { FetchResult, Loaded } from "./types";
import { bytes, valueBytes } from "./value";

/**
 * The read-through proxy: `GET <origin>/<path>?<query>` served through the cache, with the
 * origin's HTTP caching policy (`http-policy.ts`) deciding what is kept and for how long.
 *
 * What it guarantees, whatever the request:
 * - the request never leaves the origin's host and base path (see {@link originTarget});
 * - a body is read at most once into memory, and only up to the cache's value limit: larger
 *   bodies (by Content-Length, or counted while reading) are streamed to the caller uncached;
 * - bodiless statuses (204, 205, 304) pass through without a body;
 * - every proxied response carries `X-Content-Type-Options: nosniff` and
 *   `Content-Security-Policy: sandbox`, so proxied HTML never runs as the API's own origin.
 */

/** Statuses whose responses carry no body (RFC 9110). */
const BODILESS = new Set([101, 103, 204, 205, 304]);

/** The origin failed (unreachable, timed out, or a 5xx): stale where allowed, else a 502. */
export class OriginError extends Error {
  override readonly name = "OriginError";
}

/** Headers every proxied response carries. */
export const PROXY_SAFETY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "sandbox",
};

/**
 * The origin URL for a routed (decoded) path and a raw query string. Refuses, as invalid input,
 * any path that could leave the origin's host or base path: `..` or `.` segments, backslashes,
 * empty segments (`//host`), and percent-encoded slashes or backslashes in the raw path (which
 * a router decodes into segments the origin would see differently).
 * @param origin absolute http(s) URL without query; its path is the base path
 * @param routedPath the path after the proxy's prefix, as the router decoded it
 * @param rawPath the request's raw (undecoded) pathname
 * @example originTarget("https://o.example/bucket", "a/b.png", "/v1/proxy/a/b.png", "?w=2").href // "https://o.example/bucket/a/b.png?w=2"
 */
export function originTarget(origin: string, routedPath: string, rawPath: string, search: string): URL {
  const refuse = (message: string) => new InvalidInputError(`path ${message}`, "path");
  if (/%(2f|5c)/i.test(rawPath)) throw refuse("must not contain encoded slashes or backslashes");
  if (routedPath.includes("\\")) throw refuse("must not contain backslashes");
  const segments = routedPath.split("/");
  if (segments.some((segment) => segment === "" || segment === "." || segment === "..")) {
    throw refuse("must not contain empty, '.' or '..' segments");
  }
  if (/[\u0000-\u001f\u007f]/.test(routedPath)) throw refuse("must not contain control characters");
  const base = new URL(origin.endsWith("/") ? origin : `${origin}/`);
  const target = new URL(segments.map(encodeSegment).join("/"), base);
  if (target.origin !== base.origin || !target.pathname.startsWith(base.pathname)) throw refuse("leaves the origin");
  target.search = search;
  return target;
}

/** A path segment percent-encoded, keeping the characters RFC 3986 allows in one (pchar). */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(3A|40|21|24|26|27|28|29|2A|2B|2C|3B|3D)/gi, (escape) => decodeURIComponent(escape));
}

/** What the origin answered, as the cache's loader result (only 200s are ever stored). */
interface OriginLoaded extends Loaded {
  status: number;
  headers: Headers;
}

/** A body over the cache's limit: streamed to one caller, uncached. */
class OversizeBody extends Error {
  override readonly name = "OversizeBody";
  #response: Response | null;
  constructor(response: Response) {
    super("origin body larger than the cache's value limit");
    this.#response = response;
  }
  /** The response, to the first caller only (a stream can be read once). */
  take(): Response | null {
    const response = this.#response;
    this.#response = null;
    return response;
  }
}

/** Options of {@link proxyThroughCache}. */
export interface ProxyOptions {
  /** Timeout of the origin request (headers and body), in ms. */
  timeoutMs: number;
  /** Largest body cached, in bytes (the cache's maxValueBytes). */
  maxBodyBytes: number;
  /** Keeps background refreshes alive (Workers: ctx.waitUntil). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/**
 * Serves `target` through `cache` (a cache in its own namespace, e.g. "proxy"). Concurrent
 * misses of one URL fetch the origin once per isolate (the cache's in-flight map) and once
 * across isolates (its fill lease). X-Cache: HIT, MISS, STALE or BYPASS, and Age, on every
 * response.
 * @throws OriginError when the origin failed and no stale copy may be served
 */
export async function proxyThroughCache(cache: Cache, target: URL, options: ProxyOptions): Promise<Response> {
  const pathAndQuery = `${target.pathname}${target.search}`;
  try {
    const result = await cache.fetch(await proxyKey(pathAndQuery), () => loadFromOrigin(target, options), {
      ...(options.waitUntil ? { waitUntil: options.waitUntil } : {}),
    });
    return respond(result);
  } catch (error) {
    if (!(error instanceof OversizeBody)) throw error;
    // Streamed once; a caller that joined the same load fetches its own copy.
    const response = error.take() ?? (await fetchOrigin(target, options.timeoutMs));
    return passThrough(response, "BYPASS");
  }
}

/** The cache key of a path and query: itself, or its SHA-256 when longer than a key may be. */
async function proxyKey(pathAndQuery: string): Promise<string> {
  return utf8Length(pathAndQuery) <= MAX_KEY_BYTES ? pathAndQuery : `sha256:${await sha256Hex(pathAndQuery)}`;
}

async function fetchOrigin(target: URL, timeoutMs: number): Promise<Response> {
  try {
    // No request headers are forwarded: the cache key does not vary on them.
    return await fetch(target, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
  } catch (error) {
    throw originFailure(error, timeoutMs);
  }
}

function originFailure(error: unknown, timeoutMs: number): OriginError {
  const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
  return new OriginError(timedOut ? `The origin did not answer within ${timeoutMs} ms` : "The origin could not be reached");
}

async function loadFromOrigin(target: URL, options: ProxyOptions): Promise<OriginLoaded> {
  const res = await fetchOrigin(target, options.timeoutMs);
  if (res.status >= 500) {
    await res.body?.cancel();
    throw new OriginError(`The origin answered ${res.status}`);
  }
  const declared = Number(res.headers.get("Content-Length") ?? Number.NaN);
  if (declared > options.maxBodyBytes) throw new OversizeBody(res);
  const read = await readUpTo(res, options.maxBodyBytes, options.timeoutMs);
  if ("overflow" in read) throw new OversizeBody(read.overflow);
  const contentType = res.headers.get("Content-Type") || "application/octet-stream";
  const loaded = { value: bytes(read.body, contentType), status: res.status, headers: res.headers };
  const policy = policyFromResponse(res.status, res.headers);
  if (!policy.store || utf8Length(contentType) > 256) return { ...loaded, cache: false };
  const { ttl, tags, staleTtl, staleIfErrorTtl } = policy;
  return { ...loaded, ttl, tags, staleTtl, staleIfErrorTtl };
}

/**
 * Reads a body, counting bytes, up to `max`. Past it, the bytes read so far and the rest of
 * the stream become a response to stream through instead.
 */
async function readUpTo(res: Response, max: number, timeoutMs: number): Promise<{ body: Uint8Array } | { overflow: Response }> {
  if (!res.body) return { body: new Uint8Array() };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size > max) return { overflow: new Response(resume(chunks, reader), res) };
    }
  } catch (error) {
    throw originFailure(error, timeoutMs);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { body };
}

/** A stream of `head` followed by whatever `reader` still has. */
function resume(head: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of head) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function respond(result: FetchResult<OriginLoaded>): Response {
  const status = result.loaded?.status ?? 200;
  const headers = new Headers({ ...PROXY_SAFETY_HEADERS, "X-Cache": result.status, Age: String(result.ageSeconds) });
  const value = result.value;
  if (value.type !== "json") headers.set("Content-Type", value.contentType);
  const location = result.loaded?.headers.get("Location");
  if (location) headers.set("Location", location);
  return new Response(BODILESS.has(status) ? null : (valueBytes(value) as Uint8Array<ArrayBuffer>), { status, headers });
}

/** An origin response streamed as is, with the proxy's own headers. */
function passThrough(response: Response, xCache: string): Response {
  const headers = new Headers({ ...PROXY_SAFETY_HEADERS, "X-Cache": xCache, Age: "0" });
  for (const name of ["Content-Type", "Content-Length", "Location"]) {
    const value = response.headers.get(name);
    if (value) headers.set(name, value);
  }
  return new Response(BODILESS.has(response.status) ? null : response.body, { status: response.status, headers });
}
