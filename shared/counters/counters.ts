import { assertRawReplies, type ScriptClient } from "../redis/client";
import { buildHit, buildSeries, parseHit, parseSeries, seriesRequest, validateBy, validateCounterName } from "./codec";
import { counterKeys } from "./keys";
import { HIT, SERIES } from "./scripts";
import type { HitCounts, Series, SeriesOptions, WindowedCountersOptions } from "./types";

/** The commands windowed counters send: their scripts only. */
export type CounterClient = ScriptClient;

/**
 * Windowed counters: every hit adds to the current second, minute and hour bucket of a
 * counter, and a series reads the last N buckets of one granularity, each in one request.
 *
 * A hit is not idempotent: sent twice, it counts twice. Give this a client that does not
 * retry (`createRedis({ ..., retries: 0 })`) when double counting matters more than a lost hit.
 *
 * @throws TypeError when `redis` parses replies as JSON (see `assertRawReplies`)
 * @example
 * const counters = new WindowedCounters(redis);
 * await counters.hit("signups");                      // { second: 1, minute: 1, hour: 1 }
 * await counters.series("signups", { granularity: "minute", buckets: 60 });
 */
export class WindowedCounters {
  readonly #redis: CounterClient;
  readonly #keys: ReturnType<typeof counterKeys>;

  constructor(redis: CounterClient, options: WindowedCountersOptions = {}) {
    assertRawReplies(redis);
    this.#redis = redis;
    this.#keys = counterKeys(options.prefix);
  }

  /**
   * Adds `by` (default 1, a positive integer up to 1e9) to the current bucket of every
   * granularity.
   * @returns the new count of the current second, minute and hour
   * @throws InvalidInputError for a bad name or `by` (before any request)
   */
  async hit(name: string, by = 1): Promise<HitCounts> {
    validateCounterName(name);
    validateBy(by);
    return parseHit(await HIT.run(this.#redis, buildHit(by, (g) => this.#keys.buckets(g, name))));
  }

  /**
   * The last `buckets` buckets of one granularity (defaults: minute, 60), oldest first, the
   * current partial bucket last; buckets never hit count 0. `buckets` is at most the
   * granularity's `size` (300 seconds, 1440 minutes, 168 hours).
   * @throws InvalidInputError for a bad name, granularity or `buckets` (before any request)
   */
  async series(name: string, options: SeriesOptions = {}): Promise<Series> {
    validateCounterName(name);
    const { granularity, buckets } = seriesRequest(options);
    const reply = await SERIES.run(this.#redis, buildSeries(this.#keys.buckets(granularity, name), granularity, buckets));
    return parseSeries(reply, granularity, buckets);
  }
}
