import type { LimitResult } from "../../shared/ratelimit/types";
import { ApiProblem } from "../platform/problem";

/**
 * The problems of rate limiting. A 429 always means "you, the caller, are rate limited";
 * a checked identifier that is denied is a 200 with `allowed: false` (routes.ts), never one of
 * these.
 */

/** 404 `unknown-policy`: clients can only use limits the operator configured. */
export function unknownPolicy(name: string): ApiProblem {
  return new ApiProblem(404, "unknown-policy", "Unknown policy", `No rate-limit policy named "${name}"`);
}

/**
 * 429 `rate-limited` for a caller denied by Upstash-backed policies: the result's numbers in
 * the body, its headers, `Retry-After` in whole seconds (at least 1).
 */
export function callerLimited(result: LimitResult, headers: Record<string, string>): ApiProblem {
  const policy = result.policies.find((p) => !p.allowed)?.policy ?? result.policies[0]?.policy ?? "";
  const { allowed, limit, remaining, resetMs, retryAfterMs } = result;
  const reason = result.reason ? { reason: result.reason } : {};
  return rateLimited(policy, retryAfterMs, { allowed, limit, remaining, resetMs, retryAfterMs, ...reason }, headers);
}

/** 503 `rate-limit-unavailable`: Redis was unavailable and a policy fails closed. */
export function rateLimitUnavailable(headers: Record<string, string>): ApiProblem {
  return new ApiProblem(
    503,
    "rate-limit-unavailable",
    "Rate limit unavailable",
    "The rate limit could not be checked and its policy fails closed; retry later",
    {},
    { ...headers, "Retry-After": "1" },
  );
}

/**
 * 429 `urn:problem:rate-limited`: the caller is over a limit. `Retry-After` in whole seconds
 * (at least 1); `extensions` and `headers` add what the limit knows.
 */
export function rateLimited(
  policy: string,
  retryAfterMs: number,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): ApiProblem {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ApiProblem(
    429,
    "rate-limited",
    "Too many requests",
    `Rate limit "${policy}" exceeded; retry in ${retryAfter} s`,
    { policy, ...extensions },
    { ...headers, "Retry-After": String(retryAfter) },
  );
}
