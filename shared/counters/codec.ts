import { InvalidInputError } from "../errors";
import { validateName } from "../keys";
import type { ScriptCall } from "../script";
import { HIT, SERIES } from "./scripts";
import { GRANULARITIES, GRANULARITY_NAMES, MAX_HIT, type GranularityName, type HitCounts, type Series, type SeriesOptions } from "./types";
import { integerIn, isIntegerIn } from "../integer";

/**
 * Pure builders and parsers of windowed counters: input checks, what a hit and a series send,
 * and how their replies are read. Nothing here talks to Redis.
 */

/** Default granularity and number of buckets of a series. */
export const DEFAULT_SERIES = { granularity: "minute", buckets: 60 } as const;

/** Throws {@link InvalidInputError} unless `by` is an integer from 1 to {@link MAX_HIT}. */
export function validateBy(by: number): number {
  return integerIn(by, "by", 1, MAX_HIT);
}

/**
 * The series a caller asked for, with defaults applied.
 * @throws InvalidInputError for an unknown granularity or `buckets` outside 1 to its size
 */
export function seriesRequest(options: SeriesOptions = {}): { granularity: GranularityName; buckets: number } {
  const granularity = options.granularity ?? DEFAULT_SERIES.granularity;
  if (!Object.hasOwn(GRANULARITIES, granularity)) {
    throw new InvalidInputError(`granularity must be one of ${GRANULARITY_NAMES.join(", ")}`, "granularity");
  }
  const { size } = GRANULARITIES[granularity];
  const buckets = options.buckets ?? DEFAULT_SERIES.buckets;
  if (!isIntegerIn(buckets, 1, size)) {
    throw new InvalidInputError(`buckets must be an integer from 1 to ${size} for ${granularity}`, "buckets");
  }
  return { granularity, buckets };
}

/** Throws {@link InvalidInputError} unless `name` is a valid counter name (1–256 UTF-8 bytes, no control characters). */
export function validateCounterName(name: string): string {
  return validateName(name, "name");
}

/** KEYS and ARGV of a hit: every granularity's hash, `by`, then each granularity's step and size. */
export function buildHit(by: number, keyOf: (granularity: GranularityName) => string): ScriptCall {
  return HIT.call(
    {},
    { by },
    {
      keys: GRANULARITY_NAMES.map(keyOf),
      args: GRANULARITY_NAMES.flatMap((g) => [GRANULARITIES[g].stepMs, GRANULARITIES[g].size]),
    },
  );
}

/**
 * The new counts from a hit's reply.
 * @throws Error for a reply of the wrong shape (a bug)
 */
export function parseHit(reply: unknown): HitCounts {
  if (!Array.isArray(reply) || reply.length !== GRANULARITY_NAMES.length) throw new Error("unexpected reply from the counter hit script");
  return Object.fromEntries(GRANULARITY_NAMES.map((g, i) => [g, Number(reply[i])])) as HitCounts;
}

/** KEYS and ARGV of a series. */
export function buildSeries(key: string, granularity: GranularityName, buckets: number): ScriptCall {
  return SERIES.call({ buckets: key }, { stepMs: GRANULARITIES[granularity].stepMs, buckets });
}

/**
 * The series from its reply: `[current bucket start, counts oldest first...]`.
 * @throws Error for a reply of the wrong shape (a bug)
 */
export function parseSeries(reply: unknown, granularity: GranularityName, buckets: number): Series {
  if (!Array.isArray(reply) || reply.length !== buckets + 1) throw new Error("unexpected reply from the counter series script");
  const { stepMs } = GRANULARITIES[granularity];
  const current = Number(reply[0]);
  const series = reply.slice(1).map((count, i) => ({ start: current - (buckets - 1 - i) * stepMs, count: Number(count) }));
  return { granularity, buckets: series, total: series.reduce((sum, b) => sum + b.count, 0) };
}
