/**
 * Errors of the core, classified by type and nowhere else.
 *
 * - {@link RedisUnavailableError}: Redis did not answer usefully (the request failed, timed out
 *   or was aborted, or the REST endpoint answered 5xx or 429). Decided once, where the client's
 *   HTTP requests are made (`shared/redis/requester.ts`), never by matching message text.
 * - {@link RedisAuthError}: the REST endpoint refused the token: a deployment mistake.
 * - {@link InvalidInputError}: input the core refuses; nothing was sent to Redis.
 * - Anything else (a Redis command error such as WRONGTYPE, a TypeError) is a bug: `functions/`
 *   answers 500 and logs it.
 *
 * An expected outcome (a miss, a held lock, a denied check, an idempotency conflict) is never
 * an error: the cores return it as a result.
 */

/** Why Redis was unavailable. */
export type UnavailableReason = "network" | "timeout" | "status" | "protocol";

/** Redis could not be reached, timed out, or its REST endpoint answered 5xx or 429. */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
  constructor(
    message: string,
    readonly reason: UnavailableReason,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status;
  }
  /** The HTTP status, for reason "status". */
  readonly status: number | undefined;
}

/** The REST endpoint refused the credentials (401/403): the token or URL is wrong. */
export class RedisAuthError extends Error {
  override readonly name = "RedisAuthError";
  constructor(readonly status: number) {
    super(`the Redis REST endpoint refused the token (HTTP ${status})`);
  }
}

/** Input the core refuses (a key too long, a score out of range, ...). Nothing reached Redis. */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** True only for {@link RedisUnavailableError}: the one test of unavailability. */
export function isRedisUnavailable(error: unknown): error is RedisUnavailableError {
  return error instanceof RedisUnavailableError;
}

// `@upstash/redis` reports a Redis error reply as an UpstashError whose message is the reply's
// text, after a fixed prefix when the command went through a pipeline. Redis starts every error
// reply with its code (NOSCRIPT, WRONGTYPE, ERR ...); user data can only come after it.
const ERROR_CODE = /^(?:Command (?:\d+ \[ [A-Za-z_]+ \] )?failed: )?([A-Z][A-Z_-]*)\s/;

/**
 * The code of a Redis error reply ("NOSCRIPT", "WRONGTYPE", "ERR", ...), read from the start
 * of the message only, or undefined when `error` is not a Redis error reply.
 */
export function redisErrorCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.name !== "UpstashError") return undefined;
  return ERROR_CODE.exec(error.message)?.[1];
}
