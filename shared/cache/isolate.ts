import { InflightMap } from "./inflight";
import { L1Cache } from "./l1";
import { CacheStats } from "./stats";

/**
 * The cache's isolate state: what one isolate remembers between requests. Caches are cheap and
 * built per request; they all share these unless an option passes another instance (a test
 * simulates a second isolate that way).
 */

/** Concurrent fetches of one key in this isolate share one read and at most one load. */
export const isolateInflight = new InflightMap();

/** Hits, stale hits, misses and fills of this isolate, waiting to be flushed. */
export const isolateStats = new CacheStats();

/** Copies of entries Redis confirmed fresh, for reads that accept a bounded staleness. */
export const isolateL1 = new L1Cache();
