import { keyspace } from "../keys";

/**
 * Every Redis key of the cache, under `<prefix>:cache:` (records are described in `lua.ts`):
 *
 * - `entry:<namespace>:<key>` — one string per entry: the record and its value;
 * - `tags` — the tag table: one hash for every tag of the prefix;
 * - `tags-cursor` — where the pruner's HSCAN of the tag table resumes;
 * - `stats` — hits, stale hits, misses and fills per minute (see `stats.ts`);
 * - `schedule:due` — sorted set of scheduled invalidation ids by due time (ms);
 * - `schedule:items` — hash of id → scheduled invalidation payload;
 * - `schedule:cancelled:<id>` — for a minute after a cancel, the token of the call that did it.
 *
 * Namespaces keep user keys (`kv`) apart from proxied URLs (`proxy`); the tag table is shared,
 * so one tag invalidation reaches both.
 */
export interface CacheKeys {
  entry(key: string): string;
  tags: string;
  pruneCursor: string;
  stats: string;
  scheduleDue: string;
  scheduleItems: string;
  scheduleCancelled(id: string): string;
  /** The default Pub/Sub channel of invalidation events. */
  defaultChannel: string;
}

/** Keys of one prefix and namespace. @example cacheKeys("erf").entry("a") // "erf:cache:entry:kv:a" */
export function cacheKeys(prefix: string, namespace = "kv"): CacheKeys {
  const k = keyspace(prefix, "cache");
  return {
    entry: (key) => k("entry", namespace, key),
    tags: k("tags"),
    pruneCursor: k("tags-cursor"),
    stats: k("stats"),
    scheduleDue: k("schedule", "due"),
    scheduleItems: k("schedule", "items"),
    scheduleCancelled: (id) => k("schedule", "cancelled", id),
    defaultChannel: `${prefix}:cache:invalidations`,
  };
}
