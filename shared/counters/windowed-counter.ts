import { InvalidInputError } from "../errors";
import { keyspace, validateName } from "../keys";
import { LuaScript } from "../script";
import type { ScriptClient } from "../redis/client";

/**
 * Windowed counters: every hit adds to the current second, minute and hour bucket of a
 * counter, and a series reads the last N buckets of one granularity, both in one request.
 *
 * Each granularity of a counter is one hash used as a ring of `size` slots: slot
 * `(start / step) % size` holds `"<bucket start ms>:<count>"`. A slot still holding an older
 * bucket's start is that bucket's leftover and counts as 0, so old buckets disappear by being
 * overwritten, and the whole hash expires `size` steps after its last hit. Every key is passed
 * in KEYS (none is computed inside a script), and time comes from Redis `TIME`, never from the
 * caller's clock.
 */

/** A bucket size, with how many buckets are kept (the most a series can return). */
export interface Granularity {
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
const NAMES = Object.keys(GRANULARITIES) as GranularityName[];

/** Largest `by` of one hit. */
export const MAX_HIT = 1_000_000_000;

/**
 * Adds ARGV[1] to the current bucket of each granularity.
 * KEYS[i]: the ring hash of granularity i (second, minute, hour).
 * ARGV[1]: amount to add (a positive integer).
 * ARGV[2i], ARGV[2i + 1]: granularity i's step in ms and ring size.
 * Returns the new count of the current bucket of each granularity, in KEYS order.
 */
const HIT_LUA = `
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local by = tonumber(ARGV[1])
local counts = {}
for i = 1, #KEYS do
  local step, size = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local start = math.floor(now / step) * step
  local slot = math.floor(start / step) % size
  local count = by
  local held = redis.call("HGET", KEYS[i], slot)
  if held then
    local s, c = string.match(held, "^(%d+):(%d+)$")
    if tonumber(s) == start then count = tonumber(c) + by end
  end
  redis.call("HSET", KEYS[i], slot, string.format("%d:%d", start, count))
  redis.call("PEXPIRE", KEYS[i], size * step)
  counts[i] = count
end
return counts
`;

/**
 * Reads the last ARGV[3] buckets, oldest first, the current (partial) bucket last.
 * KEYS[1]: the ring hash of one granularity.
 * ARGV[1]: step in ms; ARGV[2]: ring size; ARGV[3]: buckets wanted (1..size).
 * Returns { start of the current bucket (ms), count of each bucket oldest first }.
 */
const SERIES_LUA = `
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local step, size, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local current = math.floor(now / step) * step
local slots, starts = {}, {}
for i = 1, n do
  starts[i] = current - (n - i) * step
  slots[i] = math.floor(starts[i] / step) % size
end
local held = redis.call("HMGET", KEYS[1], unpack(slots))
local out = { current }
for i = 1, n do
  local count = 0
  if held[i] then
    local s, c = string.match(held[i], "^(%d+):(%d+)$")
    if tonumber(s) == starts[i] then count = tonumber(c) end
  end
  out[i + 1] = count
end
return out
`;

const HIT_SCRIPT = new LuaScript<number[]>("counter-hit", HIT_LUA);
const SERIES_SCRIPT = new LuaScript<number[]>("counter-series", SERIES_LUA);

/** Scripts of this module, for the test that pins their SHA1. */
export const COUNTER_SCRIPTS = [HIT_SCRIPT, SERIES_SCRIPT] as const;

/** A series: buckets oldest first (`start` in ms since the epoch), and their sum. */
export interface Series {
  granularity: GranularityName;
  buckets: Array<{ start: number; count: number }>;
  total: number;
}

/**
 * Windowed counters over one Redis client.
 *
 * A hit is not idempotent: sent twice, it counts twice. Give this a client that does not
 * retry (`createRedis(..., { retries: 0 })`) when double counting matters more than a lost hit.
 *
 * @example
 * const counters = new WindowedCounters(redis, { prefix: "erf" });
 * await counters.hit("signups");                      // { second: 1, minute: 1, hour: 1 }
 * await counters.series("signups", { granularity: "minute", buckets: 60 });
 */
export class WindowedCounters {
  readonly #redis: ScriptClient;
  readonly #key: (kind: string, ...names: string[]) => string;

  /** @param options.prefix key prefix (KEY_PREFIX); keys are `<prefix>:counter:<granularity>:<name>` */
  constructor(redis: ScriptClient, options: { prefix: string }) {
    this.#redis = redis;
    this.#key = keyspace(options.prefix, "counter");
  }

  /**
   * Adds `by` (default 1, a positive integer up to 1e9) to the current bucket of every
   * granularity.
   * @returns the new count of the current second, minute and hour
   */
  async hit(name: string, by = 1): Promise<Record<GranularityName, number>> {
    validateName(name, "name");
    if (!Number.isInteger(by) || by < 1 || by > MAX_HIT) {
      throw new InvalidInputError(`by must be an integer from 1 to ${MAX_HIT}`, "by");
    }
    const keys = NAMES.map((g) => this.#key(g, name));
    const args = [by, ...NAMES.flatMap((g) => [GRANULARITIES[g].stepMs, GRANULARITIES[g].size])];
    const counts = await HIT_SCRIPT.run(this.#redis, keys, args);
    return Object.fromEntries(NAMES.map((g, i) => [g, Number(counts[i])])) as Record<GranularityName, number>;
  }

  /**
   * The last `buckets` buckets of one granularity (defaults: minute, 60), oldest first, the
   * current partial bucket last; buckets never hit count 0. `buckets` is at most the
   * granularity's `size` (300 seconds, 1440 minutes, 168 hours).
   */
  async series(name: string, options: { granularity?: GranularityName; buckets?: number } = {}): Promise<Series> {
    validateName(name, "name");
    const granularity = options.granularity ?? "minute";
    const spec: Granularity | undefined = GRANULARITIES[granularity];
    if (!spec) throw new InvalidInputError(`granularity must be one of ${NAMES.join(", ")}`, "granularity");
    const buckets = options.buckets ?? 60;
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > spec.size) {
      throw new InvalidInputError(`buckets must be an integer from 1 to ${spec.size} for ${granularity}`, "buckets");
    }
    const reply = await SERIES_SCRIPT.run(this.#redis, [this.#key(granularity, name)], [spec.stepMs, spec.size, buckets]);
    const current = Number(reply[0]);
    const series = reply.slice(1).map((count, i) => ({
      start: current - (buckets - 1 - i) * spec.stepMs,
      count: Number(count),
    }));
    return { granularity, buckets: series, total: series.reduce((sum, b) => sum + b.count, 0) };
  }
}
