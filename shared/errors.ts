/**
 * Domain errors of the core. They carry no transport concerns: `functions/` maps each to an
 * HTTP problem. Messages are safe to show to a client; a `cause` may hold a raw Redis error
 * and is never shown.
 */

/** Redis could not be reached, timed out, or answered with a server error. */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
  constructor(message = "Redis is unavailable", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Input the core refuses (a key too long, a score out of range, ...). */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A named thing does not exist (a policy, a member, a lock). */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

/** The request conflicts with current state (a lock held by another owner). */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * True when `error` means "Redis did not answer usefully": a network failure, a timeout or an
 * abort, or a 5xx from the REST endpoint. Redis command errors (WRONGTYPE, a Lua error) are
 * bugs or bad data, not unavailability, and return false.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  if (error.name === "AbortError" || error.name === "TimeoutError") return true;
  if (error instanceof TypeError) return true; // fetch() network failure
  if (error.name === "UpstashJSONParseError") return true; // a proxy's HTML error page
  // The REST endpoint's own failures (not Redis command errors) start with these texts.
  return /unavailable|ECONNREFUSED|connection (is )?closed|network|timed? ?out/i.test(error.message);
}
