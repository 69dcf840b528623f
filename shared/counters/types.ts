/**
 * Options, results and the fixed granularities of windowed counters.
 */

/** A bucket size, with how many buckets are kept (the most a series can return). */
export interface Granularity {
  /** Bucket length in ms; buckets start at multiples of it in Redis time. */
  stepMs: number;
  /** Buckets kept, and the largest `buckets` a series accepts. */
  size: number;
}

/** The granularities of every counter: 5 minutes of seconds, a day of minutes, a week of hours. */
export const GRANULARITIES = {
  second: { stepMs: 1000, size: 300 },
  minute: { stepMs: 60_000, size: 1440 },
  hour: { stepMs: 3_600_000, size: 168 },
} as const satisfies Record<string, Granularity>;

export type GranularityName = keyof typeof GRANULARITIES;

/** The granularities in the order a hit lists them. */
export const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as GranularityName[];

/** Largest `by` of one hit. */
export const MAX_HIT = 1_000_000_000;

/** The count of the current bucket of each granularity, after a hit. */
export type HitCounts = Record<GranularityName, number>;

/** What a series reads (both optional: minute, 60). */
export interface SeriesOptions {
  granularity?: GranularityName;
  /** How many of the latest buckets, 1 to the granularity's `size`. */
  buckets?: number;
}

/** A series: buckets oldest first (`start` in ms since the epoch, Redis clock), and their sum. */
export interface Series {
  granularity: GranularityName;
  buckets: Array<{ start: number; count: number }>;
  total: number;
}

/** Options of `WindowedCounters`. */
export interface WindowedCountersOptions {
  /** Key prefix (default `DEFAULT_PREFIX`, "erf"); keys are `<prefix>:counter:<granularity>:<name>`. */
  prefix?: string;
}
