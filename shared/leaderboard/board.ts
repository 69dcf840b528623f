import type { BoardConfig } from "./types";

/** What an unconfigured board is on its first submit. */
export const DEFAULT_BOARD: BoardConfig = Object.freeze({
  order: "desc",
  mode: "best",
  periods: Object.freeze(["all-time", "daily", "weekly", "monthly"] as const),
  versions: 2,
  cap: null,
});

/** Most versions a board may keep per period. */
export const MAX_VERSIONS = 100;
/** Largest `cap` a board may set. */
export const MAX_CAP = 10_000_000;
/** Largest page of a top-N read. */
export const MAX_LIMIT = 100;
/** Most neighbours on each side of a member read. */
export const MAX_AROUND = 50;
/** Most entries in one batch submit. */
export const MAX_BATCH = 100;
/** Largest display name, in UTF-8 bytes. */
export const MAX_DISPLAY_NAME_BYTES = 1024;
/** Largest offset of a top-N read. */
export const MAX_OFFSET = 1_000_000_000;
/**
 * Dense ranks are counted by reading the board from its top down to the page (one command,
 * no second sorted set to maintain on every submit), so a dense read is refused when its
 * first entry (a member read: the member) stands below this many positions.
 */
export const MAX_DENSE_POSITION = 1000;

/**
 * How far the Worker's clock may be from Redis's. A read more than this from a version
 * boundary trusts the Worker's clock to name the current version; nearer, it asks Redis.
 */
export const CLOCK_SLACK_MS = 120_000;
