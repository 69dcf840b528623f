import type { LimitResult, Policy } from "../../shared/ratelimit/types";

/**
 * Rate-limit header fields, as RFC 8941 structured-field lists with one item per policy, per
 * the IETF httpapi ratelimit-headers draft: `"api";q=3000;w=3` (q: the limit; w: the window in
 * seconds, a token bucket's full refill time) and `"api";r=2999;t=1` (r: units left; t:
 * seconds until the full limit is back).
 *
 * Two sets of names, so the two meanings never mix:
 * - `RateLimit-Policy` / `RateLimit`: the limits of the caller itself (the middleware).
 * - `Checked-RateLimit-Policy` / `Checked-RateLimit`: the policy a caller asked about through
 *   `/v1/rate/{policy}/{id}`, which limits the checked identifier, not the caller. A client
 *   that reads the standard fields to pace itself never takes a checked identifier's state for
 *   its own.
 */

/** `q` and `w` of each policy. */
export function policyItems(policies: readonly Policy[]): string {
  return policies.map((p) => `${sfString(p.name)};q=${p.algorithm.limit};w=${p.algorithm.windowSeconds}`).join(", ");
}

/** `r` and `t` of each policy whose state is known; undefined when none is (Redis unavailable). */
export function stateItems(result: LimitResult): string | undefined {
  if (result.policies.length === 0) return undefined;
  return result.policies.map((p) => `${sfString(p.policy)};r=${p.remaining};t=${Math.ceil(p.resetMs / 1000)}`).join(", ");
}

/** The caller's own limits: `RateLimit-Policy`, and `RateLimit` when the state is known. */
export function rateLimitHeaders(policies: readonly Policy[], result: LimitResult): Record<string, string> {
  const state = stateItems(result);
  return { "RateLimit-Policy": policyItems(policies), ...(state ? { RateLimit: state } : {}), ...sourceOf("RateLimit-Source", result) };
}

/** A checked policy's numbers: `Checked-RateLimit-Policy`, and `Checked-RateLimit` when the state is known. */
export function checkedHeaders(policies: readonly Policy[], result: LimitResult): Record<string, string> {
  const state = stateItems(result);
  return {
    "Checked-RateLimit-Policy": policyItems(policies),
    ...(state ? { "Checked-RateLimit": state } : {}),
    ...sourceOf("Checked-RateLimit-Source", result),
  };
}

function sourceOf(name: string, result: LimitResult): Record<string, string> {
  return result.source ? { [name]: result.source } : {};
}

/** An RFC 8941 sf-string. */
export function sfString(text: string): string {
  return `"${text.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}
