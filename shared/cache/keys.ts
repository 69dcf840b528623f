import { keyspace } from "../keys";

/**
 * Every Redis key of the cache, under `<prefix>:cache:`:
 *
 * - `entry:<namespace>:<key>` — a hash per entry (fields listed in `lua.ts`);
 * - `lease:<namespace>:<key>` — the short fill lease of a key (SET NX PX);
 * - `tag:<tag>` — a tag record: `e` epoch, `h` last hard and `s` last soft invalidation (µs);
 * - `schedule:due` — sorted set of scheduled invalidation ids by due time (ms);
 * - `schedule:items` — hash of id → scheduled invalidation payload;
 * - `schedule:cancelled:<id>` — for a minute after a cancel, the token of the call that did it.
 *
 * Namespaces keep user keys (`kv`) apart from proxied URLs (`proxy`); tags are shared, so one
 * tag invalidation reaches both. Scripts derive tag and entry keys from the prefixes below plus
 * a name, which is why each prefix ends where the (unencoded, last) name begins.
 */
export interface CacheKeys {
  entry(key: string): string;
  lease(key: string): string;
  /** Entry key of `key` is `entryPrefix + key`. */
  entryPrefix: string;
  /** Tag record of `tag` is `tagPrefix + tag`. */
  tagPrefix: string;
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
    lease: (key) => k("lease", namespace, key),
    entryPrefix: k("entry", namespace, ""),
    tagPrefix: k("tag", ""),
    scheduleDue: k("schedule", "due"),
    scheduleItems: k("schedule", "items"),
    scheduleCancelled: (id) => k("schedule", "cancelled", id),
    defaultChannel: `${prefix}:cache:invalidations`,
  };
}
