/**
 * What an answer may be while every Redis request fails (the endpoint down, dropping
 * connections, or slower than the timeout): the documented fallbacks, and nothing that
 * pretends Redis answered. A success is allowed only where the documentation promises one
 * without Redis:
 * - `POST /v1/rate/{policy}/{id}`: a fail-open policy allows, with `reason: "redis-unavailable"`
 *   (a fail-closed one answers 503 `rate-limit-unavailable`, checked by the caller);
 * - `GET /v1/proxy/{path}`: the origin is fetched directly, `X-Cache: BYPASS`;
 * - `GET /v1/cache/{key}` with `Cache-Control: max-stale`: a copy from the isolate's memory,
 *   `X-Cache: HIT-L1`;
 * - `GET /v1/events`: the event stream opens (it subscribes outside the command path);
 * - public routes: `/` needs no Redis; `/health` may repeat a check under a second old.
 */
import type { Operation } from "./operations";
import type { FuzzResponse } from "./send";

/** The violations of one answer given while Redis is entirely unavailable. */
export function fallbackViolations(op: Operation, res: FuzzResponse): string[] {
  if (res.status < 200 || res.status >= 300 || !op.path.startsWith("/v1/")) return [];
  const at = `${op.method} ${op.path}`;
  switch (at) {
    case "POST /v1/rate/{policy}/{id}": {
      const body = JSON.parse(res.text) as { allowed?: unknown; reason?: unknown };
      return body.allowed === true && body.reason === "redis-unavailable" ? [] : [`a check without Redis must fail open with reason "redis-unavailable": ${res.text.slice(0, 200)}`];
    }
    case "GET /v1/proxy/{path}":
      return res.headers["x-cache"] === "BYPASS" ? [] : [`a proxied answer without Redis must be X-Cache: BYPASS, not ${res.headers["x-cache"]}`];
    case "GET /v1/cache/{key}":
      return res.headers["x-cache"] === "HIT-L1" ? [] : [`a cache read without Redis can only be HIT-L1, not ${res.headers["x-cache"]}`];
    case "GET /v1/events":
      return [];
    default:
      return [`${res.status} although every Redis request failed: ${res.text.slice(0, 200)}`];
  }
}
