import { defineScript } from "../script";
import type { ScriptClient } from "../redis/client";
import type { CacheKeys } from "./keys";

/**
 * Cache statistics per minute: hits, stale hits, misses and fills (a miss whose load was
 * stored). Counting must cost almost nothing per request, so each isolate aggregates in memory
 * and flushes at most every few seconds, in one request (a script of a few HINCRBYs), handed
 * to `waitUntil`. An idle isolate costs nothing. Minutes are the Worker's clock: statistics
 * decide nothing.
 *
 * All of a prefix's statistics live in one hash, field `<minute start ms>:<kind>`; the fields of
 * the minute two hours back are dropped when a minute starts, and the hash expires three
 * hours after the last flush.
 */

export const STAT_KINDS = ["hits", "staleHits", "misses", "fills"] as const;
export type StatKind = (typeof STAT_KINDS)[number];
export type StatCounts = Record<StatKind, number>;

/** Minutes kept readable. */
export const STATS_RETENTION_MINUTES = 120;
const MINUTE_MS = 60_000;

const zero = (): StatCounts => ({ hits: 0, staleHits: 0, misses: 0, fills: 0 });

/** Adds an isolate's counts; drops the fields of minutes that left the retention. */
export const FLUSH_STATS = defineScript<"stats", "retentionMs" | "ttlMs", number>({
  name: "cache-flush-stats",
  keys: ["stats"],
  args: ["retentionMs", "ttlMs"],
  restArgs: "triples: field (<minute>:<kind>), amount, and 1 when it is the first flush of that minute by this isolate",
  // Billed: one HINCRBY per kind counted, plus, when a minute is new to this isolate, one HDEL
  // per such minute and one PEXPIRE per flush (not per field: 4 kinds would pay them 4 times).
  lua: String.raw`
local cleaned, newMinute = {}, false
for i = 1, #ARG_REST, 3 do
  local field, amount, first = ARG_REST[i], ARG_REST[i + 1], ARG_REST[i + 2]
  redis.call("HINCRBY", KEY.stats, field, amount)
  local minute = string.match(field, "^(%d+):")
  if first == "1" and not cleaned[minute] then
    cleaned[minute] = true
    newMinute = true
    local old = string.format("%.0f", tonumber(minute) - tonumber(ARG.retentionMs))
    redis.call("HDEL", KEY.stats, old .. ":hits", old .. ":staleHits", old .. ":misses", old .. ":fills")
  end
end
if newMinute then redis.call("PEXPIRE", KEY.stats, ARG.ttlMs) end
return 1
`,
});

/** The counts of the given minutes, in order: {hits, staleHits, misses, fills} per minute, flat. */
export const READ_STATS = defineScript<"stats", never, Array<string | null>>({
  name: "cache-read-stats",
  keys: ["stats"],
  args: [],
  restArgs: "minute starts (ms)",
  lua: String.raw`
local fields = {}
for _, minute in ipairs(ARG_REST) do
  for _, kind in ipairs({ "hits", "staleHits", "misses", "fills" }) do fields[#fields + 1] = minute .. ":" .. kind end
end
if #fields == 0 then return {} end
return redis.call("HMGET", KEY.stats, unpack(fields))
`,
});

/** One isolate's statistics, waiting to be flushed. */
export class CacheStats {
  readonly #pending = new Map<number, StatCounts>();
  readonly #flushedMinutes = new Set<number>();
  #lastFlush = 0;
  #flushing: Promise<void> | null = null;

  /**
   * @param flushEveryMs at most one flush this often (default 5000)
   * @param clock the Worker's clock (default Date.now)
   */
  constructor(
    readonly flushEveryMs = 5000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts `n` events of `kind` in the current minute. */
  record(kind: StatKind, n = 1): void {
    const minute = Math.floor(this.clock() / MINUTE_MS) * MINUTE_MS;
    let counts = this.#pending.get(minute);
    if (!counts) this.#pending.set(minute, (counts = zero()));
    counts[kind] += n;
  }

  /** Whether counts are waiting and the last flush is old enough. */
  due(): boolean {
    return this.#pending.size > 0 && this.#flushing === null && this.clock() - this.#lastFlush >= this.flushEveryMs;
  }

  /**
   * Flushes the waiting counts in one request when due (else resolves at once). Counts that
   * fail to flush are put back for the next time.
   */
  flushIfDue(redis: ScriptClient, key: string): Promise<void> {
    if (!this.due()) return this.#flushing ?? Promise.resolve();
    const batch = new Map(this.#pending);
    this.#pending.clear();
    this.#lastFlush = this.clock();
    const args: Array<string | number> = [];
    for (const [minute, counts] of batch) {
      const first = this.#flushedMinutes.has(minute) ? 0 : 1;
      for (const kind of STAT_KINDS) if (counts[kind] > 0) args.push(`${minute}:${kind}`, counts[kind], first);
    }
    const call = FLUSH_STATS.call({ stats: key }, { retentionMs: STATS_RETENTION_MINUTES * MINUTE_MS, ttlMs: 3 * 3_600_000 }, { args });
    this.#flushing = FLUSH_STATS.run(redis, call).then(
      () => {
        for (const minute of batch.keys()) this.#flushedMinutes.add(minute);
        if (this.#flushedMinutes.size > STATS_RETENTION_MINUTES) this.#flushedMinutes.delete(this.#flushedMinutes.values().next().value!);
      },
      () => {
        for (const [minute, counts] of batch) for (const kind of STAT_KINDS) if (counts[kind] > 0) this.#addBack(minute, kind, counts[kind]);
      },
    ).finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  #addBack(minute: number, kind: StatKind, n: number): void {
    let counts = this.#pending.get(minute);
    if (!counts) this.#pending.set(minute, (counts = zero()));
    counts[kind] += n;
  }
}

/** Statistics of the last `minutes` minutes (oldest first, the current one last) and their totals. */
export async function readStats(
  redis: ScriptClient,
  keys: Pick<CacheKeys, "stats">,
  minutes: number,
  nowMs = Date.now(),
): Promise<{ minutes: Array<{ start: number } & StatCounts>; totals: StatCounts }> {
  const current = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  const starts = Array.from({ length: minutes }, (_, i) => current - (minutes - 1 - i) * MINUTE_MS);
  const reply = await READ_STATS.run(redis, READ_STATS.call({ stats: keys.stats }, {}, { args: starts }));
  const totals = zero();
  const rows = starts.map((start, i) => {
    const row = { start, ...zero() };
    STAT_KINDS.forEach((kind, k) => {
      row[kind] = Number(reply[i * STAT_KINDS.length + k] ?? 0);
      totals[kind] += row[kind];
    });
    return row;
  });
  return { minutes: rows, totals };
}
