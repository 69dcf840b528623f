import { BoundedMap } from "../bounded-map";
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
  /** Local time (ms) when Redis answered it. */
  confirmedAt: number;
  /** Local time (ms) from which it shows a past version (its period's end); Infinity when never. */
  until: number;
  bytes: number;
}

/** Pages and standings of hot boards, by read, in an LRU bounded by bytes. */
export class LeaderboardL1 {
  readonly #copies: BoundedMap<string, BoardCopy>;
  readonly #byBoard = new Map<string, Set<string>>();
  #generation = 0;
  /** Reads from Redis in flight, by read and generation: concurrent readers share one. */
  readonly inflight = new InflightMap();

  /**
   * @param maxBytes budget in bytes (default {@link DEFAULT_LEADERBOARD_L1_BYTES})
   * @param clock the local clock (default Date.now)
   */
  constructor(
    maxBytes = DEFAULT_LEADERBOARD_L1_BYTES,
    private readonly clock: () => number = Date.now,
  ) {
    this.#copies = new BoundedMap<string, BoardCopy>(Number.POSITIVE_INFINITY, {
      maxBytes,
      sizeOf: (_, copy) => copy.bytes,
      onRemove: (key, copy) => this.#unindex(key, copy.board),
    });
  }

  /** The budget in bytes. */
  get maxBytes(): number {
    return this.#copies.maxBytes;
  }

  /** Changes the budget, dropping the least recently used copies down to it. */
  setBudget(maxBytes: number): void {
    this.#copies.setMaxBytes(maxBytes);
  }

  /** Bytes held now (never above `maxBytes`). */
  get bytes(): number {
    return this.#copies.bytes;
  }

  /** Copies held now. */
  get size(): number {
    return this.#copies.size;
  }

  /** The local clock, as this L1 reads it. */
  now(): number {
    return this.clock();
  }

  /**
   * Counts the changes made through this isolate. A read takes it before asking Redis and
   * passes it to {@link keep}: what a read that raced such a change brings back is not kept.
   */
  get generation(): number {
    return this.#generation;
  }

  /** The copy of `read`, when Redis answered it no longer ago than `maxStaleMs` and it still shows the current version. */
  lookup<T>(read: string, maxStaleMs: number): BoardCopy<T> | undefined {
    const copy = this.#copies.use(read);
    if (!copy) return undefined;
    const now = this.clock();
    if (now >= copy.until) {
      this.#copies.delete(read);
      return undefined;
    }
    return now - copy.confirmedAt <= maxStaleMs ? (copy as BoardCopy<T>) : undefined;
  }

  /**
   * Keeps what Redis just answered for `read` on `board`, unless a change made through this
   * isolate came after `readGeneration`. A copy larger than the whole budget is not kept.
   */
  keep(read: string, board: string, value: unknown, until: number, readGeneration: number): void {
    this.#copies.delete(read);
    if (readGeneration !== this.#generation) return;
    const bytes = sizeOf(read, value);
    const copy: BoardCopy = { value, board, confirmedAt: this.clock(), until, bytes };
    let reads = this.#byBoard.get(board);
    if (!reads) this.#byBoard.set(board, (reads = new Set()));
    reads.add(read);
    if (!this.#copies.set(read, copy)) this.#unindex(read, board);
  }

  /** Drops every copy of `board`, as a change made through this isolate does. */
  dropBoard(board: string): void {
    this.#generation++;
    for (const read of [...(this.#byBoard.get(board) ?? [])]) this.#copies.delete(read);
  }

  /** Drops every copy, as a new isolate starts with none. */
  clear(): void {
    this.#generation++;
    this.#copies.clear();
  }

  #unindex(read: string, board: string): void {
    const reads = this.#byBoard.get(board);
    reads?.delete(read);
    if (reads?.size === 0) this.#byBoard.delete(board);
  }
}

/** Bytes a copy holds, roughly: its JSON and key as UTF-16, plus a fixed overhead. */
function sizeOf(read: string, value: unknown): number {
  return 200 + read.length * 2 + JSON.stringify(value).length * 2;
}

/** The isolate's leaderboard L1, shared by every `Leaderboards` built without its own `l1`. */
export const isolateLeaderboardL1 = new LeaderboardL1();
