/**
 * Windowed counters on Redis: hits counted per second, minute and hour, read back as a
 * series. See docs/rate-limiting.md ("Windowed counters").
 */
export { type CounterClient, WindowedCounters } from "./counters";
export { counterKeys } from "./keys";
export {
  type Granularity,
  GRANULARITIES,
  GRANULARITY_NAMES,
  type GranularityName,
  type HitCounts,
  MAX_HIT,
  type Series,
  type SeriesOptions,
  type WindowedCountersOptions,
} from "./types";
