import { IsolateCopies } from "../isolate-copies";
import { InflightMap } from "../inflight";

/**
 * The leaderboards' isolate state: copies of pages (`top`) and standings (`member`) that Redis
 * answered, served from memory to readers who accept a bounded staleness (`maxStaleMs`), so a
 * hot board costs no request at all.
 *
 * The rule that keeps reads honest within the bound: a copy is served only while
 * - it was read from Redis no longer ago than the caller's bound, and
 * - the period version it shows is still the current one by the local clock (a daily top 10 read
 *   at 23:59:59 is never served as the next day's).
 * So a submit made elsewhere shows within the bound, never later. A submit, removal or delete
 * made through this isolate drops the board's copies at once, and a read that raced it keeps
 * nothing (a generation counter, as in the cache's L1). Concurrent readers that find no copy
 * share one read from Redis, so a hot page costs one request per bound, not one per reader
 * waiting when it lapsed.
 *
 * Memory is bounded by bytes, in the isolate's one LRU ({@link BoundedMap}).
 */

/** Default budget: 4 MiB (a top-10 page is about 2 KB here: some two thousand hot pages). */
export const DEFAULT_LEADERBOARD_L1_BYTES = 4 * 1024 * 1024;

/** A copy in the L1. */
export interface BoardCopy<T = unknown> {
  value: T;
  /** The board's identity (its state key, so the prefix is in it): what a change drops. */
  board: string;
  /** Local time (ms) when the read Redis answered was sent: the bound counts from there, never from the reply. */
  confirmedAt: number;
  /** Local time (ms) from which it shows a past version (its period's end); Infinity when never. */
  until: number;
  bytes: number;
}

/** Pages and standings of hot boards, by read, in the isolate's LRU bounded by bytes ({@link IsolateCopies}). */
export class LeaderboardL1 extends IsolateCopies<BoardCopy> {
  /** Reads from Redis in flight, by read and generation: concurrent readers share one. */
  readonly inflight = new InflightMap();

  /**
   * @param maxBytes budget in bytes (default {@link DEFAULT_LEADERBOARD_L1_BYTES})
   * @param clock the local clock (default Date.now)
   */
  constructor(maxBytes = DEFAULT_LEADERBOARD_L1_BYTES, clock: () => number = Date.now) {
    super(maxBytes, (copy) => [copy.board], clock);
  }

  /** The copy of `read`, when Redis answered it no longer ago than `maxStaleMs` and it still shows the current version. */
  lookup<T>(read: string, maxStaleMs: number): BoardCopy<T> | undefined {
    const live = this.live(read, maxStaleMs);
    return live?.withinBound ? (live.copy as BoardCopy<T>) : undefined;
  }

  protected endOf(copy: BoardCopy): number {
    return copy.until;
  }

  /**
   * Keeps what Redis answered for `read` on `board` to a request sent at `sentAt` (local time),
   * unless a change made through this isolate came after `readGeneration`. A copy larger than
   * the whole budget is not kept.
   */
  keep(read: string, board: string, value: unknown, until: number, { generation, sentAt }: { generation: number; sentAt: number }): void {
    this.store(read, { value, board, confirmedAt: sentAt, until, bytes: sizeOf(read, value) }, generation);
  }

  /** Drops every copy of `board`, as a change made through this isolate does. */
  dropBoard(board: string): void {
    this.dropCopies([board]);
  }
}

/** Bytes a copy holds, roughly: its JSON and key as UTF-16, plus a fixed overhead. */
function sizeOf(read: string, value: unknown): number {
  return 200 + read.length * 2 + JSON.stringify(value).length * 2;
}

/** The isolate's leaderboard L1, shared by every `Leaderboards` built without its own `l1`. */
export const isolateLeaderboardL1 = new LeaderboardL1();
