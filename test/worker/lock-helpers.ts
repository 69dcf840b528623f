import type { Lease, Locks } from "../../shared/lock";

/** The lease of an acquire that must have succeeded; throws (failing the test) if it did not. */
export function granted(result: Awaited<ReturnType<Locks["acquire"]>>): Lease {
  if (!result.acquired) throw new Error(`expected a grant, got busy (retry after ${result.retryAfterMs} ms)`);
  return result;
}
