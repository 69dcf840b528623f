import { BlockCache } from "./block-cache";
import { LeaseStore } from "./lease-store";

/**
 * What one isolate remembers between requests: the identifiers known to be blocked, and the
 * leases of hot identifiers. Limiters are built per request and use these instances unless
 * their `cache` or `leases` option passes another (a test simulates a second isolate that way)
 * or `false`.
 */
export const blockedIdentifiers = new BlockCache();
export const leases = new LeaseStore();
