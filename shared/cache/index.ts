/** Cache-aside with tags on Redis: the core, independent of HTTP and of Workers. */
export { Cache, resolveEntryOptions, unwrap, validateInvalidation, type CacheOptions, type CacheRedis } from "./cache";
export { State, type ReadResult, type StoreOutcome } from "./codec";
export { cached, memoKey, sha256Hex, stableStringify } from "./memoize";
export { InflightMap } from "./inflight";
export {
  DEFAULT_MAX_PENDING, InvalidationScheduler, MAX_LIST_LIMIT, MAX_SCHEDULE_AHEAD_MS,
  type ScheduledInvalidation, type ScheduleResult, type SchedulerOptions,
} from "./schedule";
export { policyFromResponse, parseCacheControl, responseTags, type HttpCachePolicy } from "./http-policy";
export * from "./limits";
export * from "./types";
export { bytes, json, text, valueBytes, ValueTooLargeError, DEFAULT_MAX_VALUE_BYTES, type CacheValue } from "./value";
