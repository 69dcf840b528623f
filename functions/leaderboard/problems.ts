import { MAX_DENSE_POSITION, MAX_SCORE, type SubmitRefusal } from "../../shared/leaderboard";
import { ApiProblem } from "../platform/problem";

/**
 * The leaderboard's expected outcomes that a route answers with a problem (RFC 9457). The core
 * returns them as results; each is one function here. Thrown, `app.onError` sends it.
 */

/** 404 `not-found`: the member is not in that version of the period. */
export function memberNotFound(board: string, member: string): ApiProblem {
  return new ApiProblem(404, "not-found", "Not found", `Member "${member}" is not on board "${board}" in that period`);
}

/** 409 `conflict`: the idempotency key was used before for a different submission (nothing changed). */
export function idempotencyConflict(field: string): ApiProblem {
  return new ApiProblem(409, "conflict", "Conflict", "This idempotencyKey was already used for a different submission", { field });
}

/** 400 `invalid-input`: a sum would leave ±10^12 in `period` (nothing changed). */
export function scoreOutOfRange(field: string, period: string): ApiProblem {
  const message = `the ${period} score would leave the range ±${MAX_SCORE} (nothing was changed)`;
  return invalidInput(field, message);
}

/** 400 `invalid-input`: dense ranks asked for a member below the depth they are computed to. */
export function denseTooDeep(position: number): ApiProblem {
  return invalidInput("ranking", `dense ranks are computed for the first ${MAX_DENSE_POSITION} positions; this member is at position ${position}`);
}

/** The problem of a refused submit or batch. */
export function submitRefused(refusal: SubmitRefusal): ApiProblem {
  return refusal.reason === "conflict" ? idempotencyConflict(refusal.field) : scoreOutOfRange(refusal.field, refusal.period);
}

function invalidInput(path: string, message: string): ApiProblem {
  return new ApiProblem(400, "invalid-input", "Invalid input", `${path}: ${message}`, { errors: [{ path, message }] });
}
