import type { CacheEntry } from "./types";
import { decodeValue } from "./value";

/** Freshness states the read script decides (see READ_ENTRY). */
export const State = { Absent: 0, Fresh: 1, Stale: 2, ErrorOnly: 3, EarlyRefresh: 4 } as const;
export type State = (typeof State)[keyof typeof State];

/** A parsed read: the state, Redis time, whether this caller holds the fill lease, the entry. */
export interface ReadResult {
  state: State;
  nowUs: number;
  lease: boolean;
  /** Present unless the state is Absent. */
  entry?: CacheEntry;
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
  const [, , , v, f, ct, t, e, g] = reply.map((x) => (x === null || x === undefined ? "" : String(x)));
  const storedAt = Number(t);
  const freshUntil = Number(e);
  const stale = state === State.Stale || state === State.ErrorOnly;
  return {
    state,
    nowUs,
    lease,
    entry: {
      value: decodeValue(f ?? "", ct ?? "", v ?? ""),
      tags: g ? g.split("\n") : [],
      ageSeconds: Math.max(0, Math.floor((nowUs - storedAt) / 1e6)),
      ttlSeconds: stale ? 0 : Math.max(0, Math.ceil((freshUntil - nowUs) / 1e6)),
      stale,
    },
  };
}
