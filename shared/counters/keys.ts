import { DEFAULT_PREFIX, keyspace } from "../keys";
import type { GranularityName } from "./types";

/**
 * The keys of windowed counters: one hash per (granularity, counter),
 * `<prefix>:counter:<granularity>:<name>`, e.g. `erf:counter:minute:signups`.
 */
export function counterKeys(prefix: string = DEFAULT_PREFIX) {
  const key = keyspace(prefix, "counter");
  return {
    /** The hash holding `name`'s buckets of one granularity (field: bucket start in ms). */
    buckets: (granularity: GranularityName, name: string): string => key(granularity, name),
  };
}
