import { validateName } from "../keys";
import { LuaScript } from "../script";
import type { ScriptClient } from "../redis/client";
import { validateInvalidation } from "./cache";
import { cacheKeys, type CacheKeys } from "./keys";
import { LUA_HELPERS, LUA_INVALIDATE } from "./lua";
import type { Invalidation, InvalidationEvent, InvalidationMode } from "./types";

/**
 * Scheduled invalidations: a sorted set of ids by due time (ms) and a hash of payloads.
 *
 * Applying is claim-and-apply in one script: a batch of due items is read, invalidated,
 * published and removed atomically. So two overlapping cron runs can never both apply an item
 * (Redis runs one script at a time and the second finds it gone), and a run that dies between
 * batches loses nothing (unapplied items are still in the set for the next run). If a reply is
 * lost after the script ran, the batch is applied and gone; the run just does not know it.
 * Applying an invalidation twice would be harmless anyway (it only moves epochs and times).
 */

/** A pending scheduled invalidation. */
export interface ScheduledInvalidation {
  id: string;
  tags: string[];
  keys: string[];
  mode: InvalidationMode;
  /** RFC 3339 due time. */
  at: string;
}

/**
 * Payload lines: mode, at, number of tags, the tags, then the keys. Names hold no control
 * characters, so "\n" is a safe separator that the apply script can split without cjson.
 */
export function encodePayload(item: Omit<ScheduledInvalidation, "id">): string {
  return [item.mode, item.at, String(item.tags.length), ...item.tags, ...item.keys].join("\n");
}

/** Inverse of {@link encodePayload}. */
export function decodePayload(id: string, payload: string): ScheduledInvalidation {
  const [mode = "hard", at = "", count = "0", ...names] = payload.split("\n");
  const n = Number(count);
  return { id, mode: mode as InvalidationMode, at, tags: names.slice(0, n), keys: names.slice(n) };
}

/**
 * KEYS[1] due set; KEYS[2] payload hash
 * ARGV[1] id; ARGV[2] due ms; ARGV[3] payload
 * Returns 1 when scheduled, 0 when the due time is not after Redis's now (apply it now instead).
 */
export const SCHEDULE = new LuaScript<number>(
  "cache-schedule",
  String.raw`
local t = redis.call("TIME")
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(ARGV[2]) <= now_ms then return 0 end
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
redis.call("HSET", KEYS[2], ARGV[1], ARGV[3])
return 1
`,
);

/**
 * Claims, applies, publishes and removes up to one batch of due items, atomically.
 * KEYS[1] due set; KEYS[2] payload hash
 * ARGV[1] cutoff ms (items due at or before max(this, Redis now) are due)
 * ARGV[2] batch size; ARGV[3] tag record prefix; ARGV[4] entry prefix; ARGV[5] new epoch
 * ARGV[6] fill window ms; ARGV[7] channel
 * Returns {number still due, event_json...}.
 */
export const APPLY_DUE = new LuaScript<Array<number | string>>(
  "cache-apply-due",
  LUA_HELPERS +
    LUA_INVALIDATE +
    String.raw`
local now = now_us()
local cutoff = fmt(math.max(math.floor(now / 1000), tonumber(ARGV[1])))
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", cutoff, "LIMIT", 0, tonumber(ARGV[2]))
local out = {0}
for _, id in ipairs(ids) do
  local payload = redis.call("HGET", KEYS[2], id)
  redis.call("ZREM", KEYS[1], id)
  redis.call("HDEL", KEYS[2], id)
  if payload then
    local lines = split(payload)
    local mode, n = lines[1], tonumber(lines[3])
    local tags, keys = {}, {}
    for i = 4, #lines do
      if i < 4 + n then tags[#tags + 1] = lines[i] else keys[#keys + 1] = lines[i] end
    end
    invalidate(mode, tags, keys, ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), now)
    local event = event_json(mode, tags, keys, now, id)
    redis.call("PUBLISH", ARGV[7], event)
    out[#out + 1] = event
  end
end
out[1] = redis.call("ZCOUNT", KEYS[1], "-inf", cutoff)
return out
`,
);

/**
 * KEYS[1] due set; KEYS[2] payload hash; KEYS[3] the id's cancel marker
 * ARGV[1] id; ARGV[2] random token of this call
 * Returns 1 when it was pending, or when this very call cancelled it: a resend after a lost
 * reply finds its token in the marker (kept a minute) rather than answering "not pending".
 */
export const CANCEL = new LuaScript<number>(
  "cache-cancel",
  String.raw`
redis.call("HDEL", KEYS[2], ARGV[1])
if redis.call("ZREM", KEYS[1], ARGV[1]) == 1 then
  redis.call("SET", KEYS[3], ARGV[2], "PX", 60000)
  return 1
end
if redis.call("GET", KEYS[3]) == ARGV[2] then return 1 end
return 0
`,
);

/**
 * KEYS[1] due set; KEYS[2] payload hash; ARGV[1] offset; ARGV[2] limit.
 * Returns {total, id, payload, id, payload, ...} in due order.
 */
export const LIST = new LuaScript<Array<number | string>>(
  "cache-list-scheduled",
  String.raw`
local ids = redis.call("ZRANGE", KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1)
local out = {redis.call("ZCARD", KEYS[1])}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call("HGET", KEYS[2], id) or ""
end
return out
`,
);

/** Options of an {@link InvalidationScheduler}; use the same prefix and channel as the cache. */
export interface SchedulerOptions {
  prefix: string;
  /** Namespace whose keys scheduled key invalidations name. Default "kv". */
  namespace?: string;
  /** Default `<prefix>:cache:invalidations`. */
  channel?: string;
  /** As in CacheOptions. Default 60000 ms. */
  fillWindowMs?: number;
}

/** Schedules, lists, cancels and applies invalidations due in the future. */
export class InvalidationScheduler {
  readonly #redis: ScriptClient;
  readonly #keys: CacheKeys;
  readonly #channel: string;
  readonly #fillWindowMs: number;

  constructor(redis: ScriptClient, options: SchedulerOptions) {
    this.#redis = redis;
    this.#keys = cacheKeys(options.prefix, options.namespace ?? "kv");
    this.#channel = options.channel ?? this.#keys.defaultChannel;
    this.#fillWindowMs = options.fillWindowMs ?? 60_000;
  }

  /**
   * Schedules `invalidation` at `atMs` (epoch ms). Due-ness is judged by Redis time: when `atMs`
   * is not in the future there, nothing is stored and `scheduled` is false (apply it now).
   */
  async schedule(invalidation: Invalidation, atMs: number): Promise<{ scheduled: true; item: ScheduledInvalidation } | { scheduled: false }> {
    const { tags, keys, mode } = validateInvalidation(invalidation);
    const item: ScheduledInvalidation = { id: crypto.randomUUID(), tags, keys, mode, at: new Date(atMs).toISOString() };
    const done = await SCHEDULE.run(this.#redis, [this.#keys.scheduleDue, this.#keys.scheduleItems], [item.id, Math.floor(atMs), encodePayload(item)]);
    return done === 1 ? { scheduled: true, item } : { scheduled: false };
  }

  /** Pending invalidations in due order, `limit` (default 100) from `offset`. */
  async list(options: { offset?: number; limit?: number } = {}): Promise<{ total: number; items: ScheduledInvalidation[] }> {
    const reply = await LIST.run(this.#redis, [this.#keys.scheduleDue, this.#keys.scheduleItems], [options.offset ?? 0, options.limit ?? 100]);
    const items: ScheduledInvalidation[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const payload = String(reply[i + 1]);
      if (payload) items.push(decodePayload(String(reply[i]), payload));
    }
    return { total: Number(reply[0]), items };
  }

  /** Cancels a pending invalidation. @returns false when no such id is pending */
  async cancel(id: string): Promise<boolean> {
    validateName(id, "id", 64);
    const keys = [this.#keys.scheduleDue, this.#keys.scheduleItems, this.#keys.scheduleCancelled(id)];
    return (await CANCEL.run(this.#redis, keys, [id, crypto.randomUUID()])) === 1;
  }

  /**
   * Applies due invalidations in batches of `batchSize` (default 100), at most `maxBatches`
   * (default 10) per call; the rest wait for the next call.
   * @param cutoffMs items due at or before max(cutoffMs, Redis now) are due (a cron passes its
   *   `scheduledTime`)
   */
  async applyDue(options: { cutoffMs?: number; batchSize?: number; maxBatches?: number } = {}): Promise<{ applied: InvalidationEvent[]; remaining: number }> {
    const applied: InvalidationEvent[] = [];
    const maxBatches = options.maxBatches ?? 10;
    let remaining = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const reply = await APPLY_DUE.run(
        this.#redis,
        [this.#keys.scheduleDue, this.#keys.scheduleItems],
        [
          Math.floor(options.cutoffMs ?? 0), options.batchSize ?? 100, this.#keys.tagPrefix, this.#keys.entryPrefix,
          crypto.randomUUID(), this.#fillWindowMs, this.#channel,
        ],
      );
      remaining = Number(reply[0]);
      for (const event of reply.slice(1)) applied.push(JSON.parse(String(event)) as InvalidationEvent);
      if (remaining === 0) break;
    }
    return { applied, remaining };
  }
}
