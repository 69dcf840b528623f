import { RedisUnavailableError } from "../errors";
import { waitAtMost } from "../wait-at-most";

/**
 * A deadline on a Redis call, shorter than the client's own timeout: when `ms` pass without an
 * answer, the call counts as Redis unavailable (reason "timeout"), as a client timeout would,
 * so callers apply the same failure policy. Beside the client because that is where Redis
 * unavailability is decided; the call itself is left running.
 */
export async function withRedisDeadline<T>(call: Promise<T>, ms: number): Promise<T> {
  const waited = await waitAtMost(call, ms);
  if (!waited.done) throw new RedisUnavailableError(`Redis did not answer within ${ms} ms`, "timeout");
  return waited.value;
}
