import { DEFAULT_PREFIX, keyspace } from "../keys";
import type { Algorithm } from "./types";

/** The namespace of `/v1/rate/{policy}/{id}` and of a limiter built without one. */
export const RATE_NAMESPACE = "rate";

/**
 * The keys of the rate limiter: one state key per (algorithm kind, policy, id),
 * `<prefix>:<namespace>:<code>:<policy>:<id>`, e.g. `erf:rate:fwc:login:user-42`. The kind
 * comes from the algorithm's `code`, so a state is only ever read by the algorithm that wrote
 * it (the fixed window's plain counter is `fwc`, never the older `fw` string state).
 *
 * @example rateKeys("erf").state(fixedWindow({ limit: 5, windowMs: 60_000 }), "login", "u1") // "erf:rate:fwc:login:u1"
 */
export function rateKeys(prefix: string = DEFAULT_PREFIX, namespace: string = RATE_NAMESPACE) {
  const key = keyspace(prefix, namespace);
  return {
    /** The state key of `policy` for `id`. */
    state: (algorithm: Pick<Algorithm, "code">, policy: string, id: string): string => key(algorithm.code, policy, id),
  };
}
