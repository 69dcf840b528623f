import { InvalidInputError } from "../errors";
import type { ReadTarget } from "./codec";
import type { LeaderboardL1 } from "./isolate";
import { versionAt } from "./periods";

/**
 * How long a reader waits on another's read of the same page before asking Redis itself: in
 * Workers the first reader's request may end or be cancelled while others wait on it.
 */
const JOIN_MS = 2000;

/** What a read answered from the isolate's memory carries: how long ago Redis answered it. */
export interface FromL1 {
  l1?: { confirmedMsAgo: number };
}

/** One read that may be answered from the L1: which board, which read, and how to ask Redis. */
export interface HotRead<T extends object> {
  l1: LeaderboardL1 | false;
  /** The caller's bound; undefined: always ask Redis. */
  maxStaleMs: number | undefined;
  /** The board's identity in the L1 (its state key: the prefix is in it). */
  board: string;
  target: ReadTarget;
  /** What else tells this read from another on the same target, e.g. `top:10:0`. */
  shape: string;
  read: () => Promise<T | null>;
  /** The period version an answer shows; undefined: not to be kept (e.g. a "too deep" answer). */
  versionOf: (value: T) => string | undefined;
}

/**
 * Answers `read` from the L1 when Redis answered the same read no longer ago than `maxStaleMs`
 * (and its version is still current); otherwise asks Redis and keeps what it answered. Kept
 * values are frozen: every caller gets the same objects.
 */
export async function hotRead<T extends object>(hot: HotRead<T>): Promise<(T & FromL1) | null> {
  const { l1, maxStaleMs, target } = hot;
  if (maxStaleMs !== undefined && (typeof maxStaleMs !== "number" || !(maxStaleMs >= 0) || !Number.isFinite(maxStaleMs))) {
    throw new InvalidInputError("maxStaleMs must be a finite number of milliseconds, 0 or more", "maxStaleMs");
  }
  // nowMs reads (tests of period rollover) name their own time: nothing to share with others.
  if (!l1 || maxStaleMs === undefined || target.nowMs !== undefined) return hot.read();
  const fixed = target.at !== undefined ? versionAt(target.period, target.at).label : "now";
  const key = [hot.board, target.period, fixed, target.ranking.name, hot.shape].join("\n");
  const copy = l1.lookup<T>(key, maxStaleMs);
  if (copy) return { ...copy.value, l1: { confirmedMsAgo: Math.max(0, l1.now() - copy.confirmedAt) } };
  const generation = l1.generation;
  // Joined only by readers of the same generation: none that came after a change made here.
  return l1.inflight.run(
    `${generation}\n${key}`,
    async () => {
      const sentAt = l1.now();
      const value = await hot.read();
      const version = value === null ? undefined : hot.versionOf(value);
      if (value === null || version === undefined) return value;
      const until = validUntil(target, version, l1.now());
      if (until !== undefined) l1.keep(key, hot.board, deepFreeze(value), until, { generation, sentAt });
      return value;
    },
    JOIN_MS,
  );
}

/**
 * Until when a copy shows the current version: the end of its period's version for a read of
 * "now", never for all-time or a read of a fixed `at`. Undefined (keep nothing) when Redis time
 * picked a version other than the local clock's, at a boundary.
 */
function validUntil(target: ReadTarget, version: string, now: number): number | undefined {
  if (target.at !== undefined) return Number.POSITIVE_INFINITY;
  const current = versionAt(target.period, now);
  if (current.label !== version) return undefined;
  return current.endMs ?? Number.POSITIVE_INFINITY;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
