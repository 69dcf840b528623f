import { ApiProblem } from "../platform/problem";

/**
 * The lock routes' problem responses: each expected outcome of the core that HTTP answers as
 * an error is one function here (README "Errors", docs/locks.md "Errors").
 */

/** 409 `lock-held`: still held after `waitMs`; `Retry-After` in whole seconds (at least 1). */
export function lockHeld(name: string, retryAfterMs: number): ApiProblem {
  return new ApiProblem(
    409,
    "lock-held",
    "Lock held",
    `'${name}' is held by another owner`,
    { retryAfterMs },
    { "Retry-After": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  );
}

/** 409 `lock-not-owner`: an extend by a token that does not hold the lease (`reason` says why). */
export function notOwner(name: string, reason: "held-by-another" | "not-held"): ApiProblem {
  const detail = reason === "not-held" ? `'${name}' is not held: the lease has ended` : `'${name}' is held by another owner`;
  return new ApiProblem(409, "lock-not-owner", "Not the lock owner", detail, { reason });
}

/** 404 `lock-not-held`: a release by a token that holds nothing (the name is free, or the lease ended). */
export function lockNotHeld(name: string): ApiProblem {
  return new ApiProblem(404, "lock-not-held", "Lock not held", `'${name}' is not held by this token (free, or the lease ended)`);
}

/** 409 `lock-held-by-another`: a release by a token whose lease ended and was granted again. */
export function heldByAnother(name: string): ApiProblem {
  return new ApiProblem(409, "lock-held-by-another", "Lock held by another owner", `'${name}' is held by another owner`);
}
