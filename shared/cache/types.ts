import type { CacheValue } from "./value";

/** How long an entry lives, and what it is tagged with. */
export interface EntryOptions {
  /** Seconds the entry is fresh: 1 to 31536000. */
  ttl: number;
  /** Tags (at most 64) by which the entry can be invalidated. Default none. */
  tags?: string[];
  /**
   * Seconds after the TTL during which the entry is still served, as stale, while one caller
   * refreshes it (RFC 5861 stale-while-revalidate). 0 to 31536000; default 0.
   */
  staleTtl?: number;
  /**
   * Seconds after the TTL during which the entry is served if the loader fails (RFC 5861
   * stale-if-error). 0 to 31536000; default `staleTtl`.
   */
  staleIfErrorTtl?: number;
}

/** What a loader returns to {@link Cache.fetch}: the value and, optionally, how to keep it. */
export interface Loaded extends Partial<EntryOptions> {
  value: CacheValue;
  /** `false`: hand the value to the caller but do not store it (status BYPASS). Default true. */
  cache?: boolean;
}

/** Options of {@link Cache.fetch}: entry options (the loader's own win) and coordination. */
export interface FetchOptions extends Partial<EntryOptions> {
  /**
   * Keeps a background refresh alive after the response (Workers: `ctx.waitUntil`). Without it
   * the refresh still runs, but the runtime may cut it short.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
  /**
   * When Redis fails: `"bypass"` (default) runs the loader and returns its value uncached
   * (status BYPASS); `"throw"` rethrows the Redis error.
   */
  onRedisError?: "bypass" | "throw";
  /**
   * Who refreshes a stale entry: `"background"` (default) answers the stale entry at once and
   * runs the loader after; `"inline"` has the caller that takes the refresh lease run the
   * loader before it answers (every other caller is still answered the stale entry), for a
   * loader that cannot outlive its caller, such as a Hono route.
   */
  refresh?: "background" | "inline";
}

/** `X-Cache` vocabulary; HIT-L1: answered from the isolate's memory (see `maxStaleMs`). */
export type CacheStatus = "HIT" | "HIT-L1" | "MISS" | "STALE" | "BYPASS";

/** An entry as read. */
export interface CacheEntry {
  value: CacheValue;
  tags: string[];
  /** Whole seconds since the entry was stored. */
  ageSeconds: number;
  /** Whole seconds until it goes stale; 0 once stale. */
  ttlSeconds: number;
  /**
   * True when past its TTL or soft-invalidated (served only within its stale window); for a
   * value a fetch just loaded, also when an invalidation or a newer value overtook the load.
   */
  stale: boolean;
  /** Present when the entry came from the isolate's memory: how long ago Redis confirmed it fresh. */
  l1?: { confirmedMsAgo: number } | undefined;
}

/** The outcome of {@link Cache.fetch}. */
export interface FetchResult<L extends Loaded = Loaded> extends CacheEntry {
  status: CacheStatus;
  /** The loader's result, when this call (or the call it joined) ran the loader. */
  loaded?: L;
}

/** `"hard"`: never served again. `"soft"`: served as stale while one caller refreshes. */
export type InvalidationMode = "hard" | "soft";

/** What to invalidate. At least one tag or key. */
export interface Invalidation {
  tags?: string[];
  keys?: string[];
  /** Default "hard". */
  mode?: InvalidationMode;
}

/** The event published on the channel for every applied invalidation. */
export interface InvalidationEvent {
  tags: string[];
  keys: string[];
  mode: InvalidationMode;
  /** RFC 3339 Redis time at which it was applied. */
  at: string;
  /** Id of a scheduled invalidation. */
  id?: string;
}
