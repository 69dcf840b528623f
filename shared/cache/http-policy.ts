import { InvalidInputError } from "../errors";
import { MAX_TTL_SECONDS, validateTags } from "./limits";

/**
 * How a shared cache may keep an origin response (RFC 9111 for freshness, RFC 5861 for the
 * stale extensions, Cloudflare's Cache-Tag and Fastly's Surrogate-Key for tags).
 */
export interface HttpCachePolicy {
  /** False: serve the response but do not store it (X-Cache: BYPASS); `reason` says why. */
  store: boolean;
  reason?: "status" | "no-store" | "private" | "no-cache" | "set-cookie" | "no-freshness" | "tags";
  /** Seconds fresh: `s-maxage`, else `max-age` (at most one year). */
  ttl: number;
  /** `stale-while-revalidate` seconds. */
  staleTtl: number;
  /** `stale-if-error` seconds. */
  staleIfErrorTtl: number;
  tags: string[];
}

/**
 * Parses a Cache-Control header into lower-case directive names and their values (quotes
 * removed; `true` for a directive without a value).
 * @example parseCacheControl('max-age=60, s-maxage="120", public') // Map {max-age: "60", s-maxage: "120", public: true}
 */
export function parseCacheControl(header: string | null): Map<string, string | true> {
  const directives = new Map<string, string | true>();
  for (const part of (header ?? "").split(",")) {
    const [rawName = "", ...rest] = part.split("=");
    const name = rawName.trim().toLowerCase();
    if (!name) continue;
    const value = rest.join("=").trim().replace(/^"(.*)"$/, "$1");
    if (!directives.has(name)) directives.set(name, rest.length > 0 ? value : true);
  }
  return directives;
}

/** Tags of a response: `Cache-Tag` (comma-separated) and `Surrogate-Key` (space-separated), merged. */
export function responseTags(headers: Headers): string[] {
  const fromCacheTag = (headers.get("Cache-Tag") ?? "").split(",");
  const fromSurrogate = (headers.get("Surrogate-Key") ?? "").split(/\s+/);
  return [...new Set([...fromCacheTag, ...fromSurrogate].map((t) => t.trim()).filter(Boolean))];
}

/**
 * Decides whether and how long to keep a response. Only 200 responses are stored; `no-store`,
 * `private`, `no-cache` (this cache cannot revalidate), `Set-Cookie`, a missing or zero
 * `s-maxage`/`max-age`, and tags that cannot be kept exactly (over 64, or invalid) all bypass.
 * A dropped tag would let an invalidation miss the entry, so tags are all kept or none.
 */
export function policyFromResponse(status: number, headers: Headers): HttpCachePolicy {
  const cc = parseCacheControl(headers.get("Cache-Control"));
  const bypass = (reason: HttpCachePolicy["reason"]): HttpCachePolicy => ({
    store: false, reason, ttl: 0, staleTtl: 0, staleIfErrorTtl: 0, tags: [],
  });
  const unshareable = whyNotShareable(status, headers, cc);
  if (unshareable) return bypass(unshareable);
  const ttl = seconds(cc.get("s-maxage")) ?? seconds(cc.get("max-age")) ?? 0;
  if (ttl <= 0) return bypass("no-freshness");
  let tags: string[];
  try {
    tags = validateTags(responseTags(headers));
  } catch (error) {
    if (error instanceof InvalidInputError) return bypass("tags");
    throw error;
  }
  return {
    store: true,
    ttl,
    staleTtl: seconds(cc.get("stale-while-revalidate")) ?? 0,
    staleIfErrorTtl: seconds(cc.get("stale-if-error")) ?? 0,
    tags,
  };
}

/**
 * Why a shared cache may not store this response, or undefined when it may: only a 200, and
 * nothing that marks it per-user or uncacheable (`no-store`, `private`, `no-cache`, a
 * `Set-Cookie`). The proxy and the Hono `cache()` middleware both decide by it.
 */
export function whyNotShareable(
  status: number,
  headers: Headers,
  cc: Map<string, string | true> = parseCacheControl(headers.get("Cache-Control")),
): "status" | "no-store" | "private" | "no-cache" | "set-cookie" | undefined {
  if (status !== 200) return "status";
  for (const reason of ["no-store", "private", "no-cache"] as const) if (cc.has(reason)) return reason;
  if (headers.has("Set-Cookie")) return "set-cookie";
  return undefined;
}

/** A delta-seconds value (RFC 9111 §1.2.2), capped at one year; undefined when absent or invalid. */
function seconds(value: string | true | undefined): number | undefined {
  if (typeof value !== "string" || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), MAX_TTL_SECONDS);
}
