import type { ScriptCall } from "../script";
import type { CacheKeys } from "./keys";
import { APPLY_DUE, CANCEL, DUE, INVALIDATE, LIST, PRUNE_TAGS, READ_ENTRY, RELEASE_LEASE, SCHEDULE, STORE_ENTRY } from "./scripts";
import type { CacheEntry, EntryOptions, InvalidationEvent, InvalidationMode } from "./types";
import { decodeValue, type EncodedValue } from "./value";

/**
 * The cache's pure halves: KEYS/ARGV builders for each script and parsers for each reply.
 * Nothing here talks to Redis, so each is unit-tested on its own.
 */

/** Separator of tags in a record (names hold no control characters). */
const TAG_SEPARATOR = "\x1f";

/** Freshness states the read script decides (see READ_ENTRY). */
export const State = { Absent: 0, Fresh: 1, Stale: 2, ErrorOnly: 3, EarlyRefresh: 4 } as const;
export type State = (typeof State)[keyof typeof State];

/** A parsed read: the state, Redis time, whether this caller holds the fill lease, the entry. */
export interface ReadResult {
  state: State;
  nowUs: number;
  lease: boolean;
  /** Present unless the state is Absent, or the caller's copy is `unchanged`. */
  entry?: CacheEntry;
  /** The id of the store that wrote the entry (unless Absent). */
  version?: string;
  /** The caller's copy (of version `known`) is still the entry, and fresh: its value was not sent. */
  unchanged?: boolean;
  /** Redis times (µs) of the entry: stored at, fresh until (unless Absent). */
  storedAtUs?: number;
  freshUntilUs?: number;
}

/**
 * READ_ENTRY's call: a plain read (`leaseMs` 0) or a read that takes the lease for `token`;
 * `known` is the version of a copy the caller holds ("" when none).
 */
export function readCall(keys: CacheKeys, key: string, options: { leaseMs: number; token: string; gap: number; known?: string }): ScriptCall {
  return READ_ENTRY.call(
    { entry: keys.entry(key), tags: keys.tags },
    { leaseMs: options.leaseMs, token: options.token, gap: options.gap, known: options.known ?? "" },
  );
}

/**
 * Parses the read script's reply. Times arrive as decimal strings (Lua numbers would be
 * truncated to integers by Redis, and µs need all their digits).
 */
export function parseRead(reply: unknown[]): ReadResult {
  const state = Number(reply[0]) as State;
  const nowUs = Number(reply[1]);
  const lease = Number(reply[2]) === 1;
  if (state === State.Absent) return { state, nowUs, lease };
  const [, , , v, f, ct, t, e, g, o, same] = reply.map((x) => (x === null || x === undefined ? "" : String(x)));
  const stale = state === State.Stale || state === State.ErrorOnly;
  const version = { version: o ?? "", storedAtUs: Number(t), freshUntilUs: Number(e) };
  if (same === "1") return { state, nowUs, lease, ...version, unchanged: true };
  return {
    state,
    nowUs,
    lease,
    ...version,
    entry: {
      value: decodeValue(f ?? "", ct ?? "", v ?? ""),
      tags: g ? g.split(TAG_SEPARATOR) : [],
      ageSeconds: Math.max(0, Math.floor((nowUs - Number(t)) / 1e6)),
      ttlSeconds: stale ? 0 : Math.max(0, Math.ceil((Number(e) - nowUs) / 1e6)),
      stale,
    },
  };
}

/** What a store writes. `asOfUs` is the start of the load ("" for a direct set). */
export interface StoreInput {
  value: EncodedValue;
  entry: Required<EntryOptions>;
  asOf: string;
  token: string;
  storeId: string;
  fillWindowMs: number;
}

/** STORE_ENTRY's call. */
export function storeCall(keys: CacheKeys, key: string, input: StoreInput): ScriptCall {
  const { value, entry } = input;
  return STORE_ENTRY.call(
    { entry: keys.entry(key), tags: keys.tags },
    {
      asOf: input.asOf,
      token: input.token,
      ttlMs: entry.ttl * 1000,
      swrMs: entry.staleTtl * 1000,
      sieMs: entry.staleIfErrorTtl * 1000,
      format: value.format,
      contentType: value.contentType,
      value: value.data,
      storeId: input.storeId,
      windowMs: input.fillWindowMs,
    },
    { args: entry.tags },
  );
}

/** A store's outcome: stored fresh, stored stale (soft-invalidated during the load), or refused. */
export type StoreOutcome =
  | { stored: true; stale: boolean; replaced: boolean }
  | { stored: false; reason: "too-slow" | "invalidated" | "newer" };

export function parseStore(reply: [number, number | string]): StoreOutcome {
  const [outcome, detail] = reply;
  if (Number(outcome) === 0) return { stored: false, reason: String(detail) as "too-slow" | "invalidated" | "newer" };
  return { stored: true, stale: Number(outcome) === 2, replaced: Number(detail) === 1 };
}

/** RELEASE_LEASE's call. */
export function releaseCall(keys: CacheKeys, key: string, token: string): ScriptCall {
  return RELEASE_LEASE.call({ entry: keys.entry(key) }, { token });
}

/** INVALIDATE's call: every invalidated key's entry is in KEYS. */
export function invalidateCall(
  keys: CacheKeys,
  invalidation: { mode: InvalidationMode; tags: readonly string[]; keys: readonly string[] },
  options: { epoch: string; fillWindowMs: number; channel: string },
): ScriptCall {
  return INVALIDATE.call(
    { tags: keys.tags },
    { mode: invalidation.mode, epoch: options.epoch, windowMs: options.fillWindowMs, channel: options.channel, tagCount: invalidation.tags.length },
    { keys: invalidation.keys.map((name) => keys.entry(name)), args: [...invalidation.tags, ...invalidation.keys] },
  );
}

/** The event an invalidation published (JSON built by the script). */
export function parseEvent(json: string): InvalidationEvent {
  return JSON.parse(json) as InvalidationEvent;
}

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

/** SCHEDULE's call. */
export function scheduleCall(keys: CacheKeys, item: ScheduledInvalidation, dueMs: number, maxPending: number): ScriptCall {
  return SCHEDULE.call({ due: keys.scheduleDue, items: keys.scheduleItems }, { id: item.id, dueMs: Math.floor(dueMs), payload: encodePayload(item), maxPending });
}

/** {total, id, payload, ...} or {now, id, payload, ...} as items (those whose payload is gone are skipped). */
export function parseItems(reply: Array<number | string>): { head: number; items: ScheduledInvalidation[] } {
  const items: ScheduledInvalidation[] = [];
  for (let i = 1; i + 1 < reply.length; i += 2) {
    const payload = String(reply[i + 1]);
    if (payload) items.push(decodePayload(String(reply[i]), payload));
  }
  return { head: Number(reply[0]), items };
}

/** LIST's call. */
export function listCall(keys: CacheKeys, offset: number, limit: number): ScriptCall {
  return LIST.call({ due: keys.scheduleDue, items: keys.scheduleItems }, { offset, limit });
}

/** DUE's call. */
export function dueCall(keys: CacheKeys, cutoffMs: number, batchSize: number): ScriptCall {
  return DUE.call({ due: keys.scheduleDue, items: keys.scheduleItems }, { cutoffMs: Math.floor(cutoffMs), batchSize });
}

/** APPLY_DUE's call for the items DUE found: their key invalidations' entries are in KEYS. */
export function applyDueCall(
  keys: CacheKeys,
  items: readonly ScheduledInvalidation[],
  options: { cutoffMs: number; epoch: string; fillWindowMs: number; channel: string },
): ScriptCall {
  return APPLY_DUE.call(
    { due: keys.scheduleDue, items: keys.scheduleItems, tags: keys.tags },
    { cutoffMs: Math.floor(options.cutoffMs), epoch: options.epoch, windowMs: options.fillWindowMs, channel: options.channel },
    {
      keys: items.flatMap((item) => item.keys.map((name) => keys.entry(name))),
      args: items.flatMap((item) => [item.id, item.keys.length]),
    },
  );
}

/** {still due, event...} as the number and the events. */
export function parseApplied(reply: Array<number | string>): { remaining: number; applied: InvalidationEvent[] } {
  return { remaining: Number(reply[0]), applied: reply.slice(1).map((event) => parseEvent(String(event))) };
}

/** CANCEL's call. */
export function cancelCall(keys: CacheKeys, id: string, token: string): ScriptCall {
  return CANCEL.call({ due: keys.scheduleDue, items: keys.scheduleItems, marker: keys.scheduleCancelled(id) }, { id, token });
}

/** PRUNE_TAGS's call. */
export function pruneCall(keys: CacheKeys, count: number, fillWindowMs: number): ScriptCall {
  return PRUNE_TAGS.call({ tags: keys.tags, cursor: keys.pruneCursor }, { count, windowMs: fillWindowMs });
}
