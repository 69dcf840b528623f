import { InvalidInputError } from "../errors";
import { randomHex } from "../hex";
import { DEFAULT_PREFIX, validateName } from "../keys";
import { assertRawReplies, type ScriptClient } from "../redis/client";
import { validateInvalidation } from "./cache";
import { applyDueCall, cancelCall, dueCall, listCall, parseApplied, parseItems, pruneCall, scheduleCall, type ScheduledInvalidation } from "./codec";
import { cacheKeys, type CacheKeys } from "./keys";
import { MAX_TTL_SECONDS } from "./limits";
import { APPLY_DUE, CANCEL, DUE, LIST, PRUNE_TAGS, SCHEDULE } from "./scripts";
import type { Invalidation, InvalidationEvent } from "./types";
import { integerIn } from "../integer";

/**
 * Scheduled invalidations: a sorted set of ids by due time (ms) and a hash of payloads, and
 * the cron's upkeep of the tag table.
 *
 * Applying is claim-and-apply in one script per batch: a batch of due items is found (one read),
 * then claimed, invalidated, published and removed atomically by a script that names every
 * entry it touches in KEYS. Two overlapping cron runs can never both apply an item (the second
 * finds it gone), and a run that dies between batches loses nothing (unapplied items stay for
 * the next run). Applying an invalidation twice would be harmless anyway (it only moves epochs
 * and times).
 */

export type { ScheduledInvalidation } from "./codec";

/** Furthest ahead an invalidation may be scheduled: one year. */
export const MAX_SCHEDULE_AHEAD_MS = MAX_TTL_SECONDS * 1000;
/** Default most pending scheduled invalidations. */
export const DEFAULT_MAX_PENDING = 10_000;
/** Largest page of {@link InvalidationScheduler.list}. */
export const MAX_LIST_LIMIT = 100;

/** Options of an {@link InvalidationScheduler}; use the same prefix and channel as the cache. */
export interface SchedulerOptions {
  /** Default "erf". */
  prefix?: string;
  /** Namespace whose keys scheduled key invalidations name. Default "kv". */
  namespace?: string;
  /** Default `<prefix>:cache:invalidations`. */
  channel?: string;
  /** As in CacheOptions. Default 60000 ms. */
  fillWindowMs?: number;
  /** Most invalidations pending at once; scheduling more is refused (`full`). Default 10000. */
  maxPending?: number;
}

/** What {@link InvalidationScheduler.schedule} did. */
export type ScheduleResult =
  | { scheduled: true; item: ScheduledInvalidation }
  /** `due`: the time is not after Redis's now: apply it now instead. `full`: the queue holds `maxPending`. */
  | { scheduled: false; reason: "due" | "full" };

/** Schedules, lists, cancels and applies invalidations due in the future. */
export class InvalidationScheduler {
  readonly maxPending: number;
  readonly #redis: ScriptClient;
  readonly #keys: CacheKeys;
  readonly #channel: string;
  readonly #fillWindowMs: number;

  constructor(redis: ScriptClient, options: SchedulerOptions = {}) {
    assertRawReplies(redis);
    this.#redis = redis;
    this.#keys = cacheKeys(options.prefix ?? DEFAULT_PREFIX, options.namespace ?? "kv");
    this.#channel = options.channel ?? this.#keys.defaultChannel;
    this.#fillWindowMs = options.fillWindowMs ?? 60_000;
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  }

  /**
   * Schedules `invalidation` at `atMs` (epoch ms), at most a year ahead of `nowMs` (the caller's
   * clock, default Date.now). Due-ness is judged by Redis time: when `atMs` is not in the future
   * there, nothing is stored (`due`: apply it now).
   * @throws InvalidInputError for a bad invalidation or a time more than a year ahead
   */
  async schedule(invalidation: Invalidation, atMs: number, nowMs = Date.now()): Promise<ScheduleResult> {
    const { tags, keys, mode } = validateInvalidation(invalidation);
    if (!Number.isFinite(atMs)) throw new InvalidInputError("at must be a valid instant", "at");
    if (atMs - nowMs > MAX_SCHEDULE_AHEAD_MS) throw new InvalidInputError("at must be within one year", "at");
    const item: ScheduledInvalidation = { id: crypto.randomUUID(), tags, keys, mode, at: new Date(atMs).toISOString() };
    const done = Number(await SCHEDULE.run(this.#redis, scheduleCall(this.#keys, item, atMs, this.maxPending)));
    if (done === 1) return { scheduled: true, item };
    return { scheduled: false, reason: done === -1 ? "full" : "due" };
  }

  /**
   * Pending invalidations in due order, `limit` (1–100, default 100) from `offset` (0 to
   * `maxPending`).
   * @throws InvalidInputError for a limit or offset out of range
   */
  async list(options: { offset?: number; limit?: number } = {}): Promise<{ total: number; items: ScheduledInvalidation[] }> {
    const offset = options.offset ?? 0;
    const limit = options.limit ?? MAX_LIST_LIMIT;
    integerIn(limit, "limit", 1, MAX_LIST_LIMIT);
    integerIn(offset, "offset", 0, this.maxPending);
    const { head, items } = parseItems(await LIST.run(this.#redis, listCall(this.#keys, offset, limit)));
    return { total: head, items };
  }

  /** Cancels a pending invalidation. @returns false when no such id is pending */
  async cancel(id: string): Promise<boolean> {
    validateName(id, "id", 64);
    return Number(await CANCEL.run(this.#redis, cancelCall(this.#keys, id, crypto.randomUUID()))) === 1;
  }

  /**
   * Applies due invalidations in batches of `batchSize` (default 100), at most `maxBatches`
   * (default 10) per call; the rest wait for the next call. Each batch is two requests: find
   * the due items, then claim and apply them.
   * @param cutoffMs items due at or before max(cutoffMs, Redis now) are due (a cron passes its
   *   `scheduledTime`)
   */
  async applyDue(options: { cutoffMs?: number; batchSize?: number; maxBatches?: number } = {}): Promise<{ applied: InvalidationEvent[]; remaining: number }> {
    const applied: InvalidationEvent[] = [];
    const cutoffMs = options.cutoffMs ?? 0;
    const maxBatches = options.maxBatches ?? 10;
    let remaining = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const { items } = parseItems(await DUE.run(this.#redis, dueCall(this.#keys, cutoffMs, options.batchSize ?? 100)));
      if (items.length === 0) return { applied, remaining: 0 };
      const call = applyDueCall(this.#keys, items, { cutoffMs, epoch: randomHex(8), fillWindowMs: this.#fillWindowMs, channel: this.#channel });
      const result = parseApplied(await APPLY_DUE.run(this.#redis, call));
      applied.push(...result.applied);
      remaining = result.remaining;
      if (remaining === 0) break;
    }
    return { applied, remaining };
  }

  /**
   * One slice of the tag table's upkeep: removes tags no entry can carry any more and whose
   * last invalidation is older than the fill window (see PRUNE_TAGS). A cron calls it every
   * minute; a full pass over the table takes as many calls as it has `count`-sized slices.
   */
  async pruneTags(count = 200): Promise<{ removed: number; done: boolean }> {
    const [removed, cursor] = await PRUNE_TAGS.run(this.#redis, pruneCall(this.#keys, count, this.#fillWindowMs));
    return { removed: Number(removed), done: String(cursor) === "0" };
  }
}
