import { BlockCache } from "./block-cache";

/**
 * What one isolate remembers between requests: the identifiers known to be blocked. Limiters
 * are built per request and use this instance unless their `cache` option passes another (a
 * test simulates a second isolate that way) or `false`.
 */
export const blockedIdentifiers = new BlockCache();
