import { z } from "@hono/zod-openapi";
import { validateName } from "../../shared/keys";
import { DEFAULT_BOARD, DEFAULT_LEADERBOARD_L1_BYTES, MAX_CAP, MAX_VERSIONS, PERIOD_KINDS, SUBMIT_MODES, type BoardConfig } from "../../shared/leaderboard";
import { defineConfig, intVar, jsonVar } from "../platform/config";
import { MAX_L1_MS } from "../platform/max-stale";
import { coreCheck } from "../platform/validation";

const BoardSchema = z
  .object({
    order: z.enum(["desc", "asc"]).optional(),
    mode: z.enum(SUBMIT_MODES).optional(),
    periods: z
      .array(z.enum(PERIOD_KINDS))
      .min(1)
      .refine((list) => new Set(list).size === list.length, "periods must not repeat")
      .optional(),
    versions: z.number().int().min(1).max(MAX_VERSIONS).optional(),
    cap: z.number().int().min(1).max(MAX_CAP).nullable().optional(),
  })
  .strict();

/** Board name → settings; a name is checked as the core checks a board name ("*" is the defaults). */
const BoardsSchema = z.record(z.string().superRefine(coreCheck((name) => validateName(name, "board"))), BoardSchema);

/** Board configuration by name: listed boards, else the defaults ("*" entry over built-ins). */
export type BoardLookup = (board: string) => BoardConfig;

/**
 * LEADERBOARDS, parsed once per `env`: a JSON object from board name to
 * `{ order?, mode?, periods?, versions?, cap? }`. Omitted fields take the defaults:
 * `{ order: "desc", mode: "best", periods: ["all-time", "daily", "weekly", "monthly"],
 * versions: 2, cap: null }`, which the optional "*" entry overrides for every board not
 * listed. An invalid value is one ConfigError naming LEADERBOARDS (HTTP: 500 `misconfigured`).
 *
 * @example LEADERBOARDS='{"*":{"periods":["all-time"]},"laps":{"order":"asc","periods":["daily"],"versions":7}}'
 */
export const readLeaderboardConfig = defineConfig({ LEADERBOARDS: jsonVar(BoardsSchema, {}) }, (v): BoardLookup => {
  const { "*": overrides, ...named } = v.LEADERBOARDS;
  const defaults = merge(DEFAULT_BOARD, overrides);
  const boards = new Map(Object.entries(named).map(([name, settings]) => [name, merge(defaults, settings)]));
  return (board) => boards.get(board) ?? defaults;
});

function merge(base: BoardConfig, settings: z.infer<typeof BoardSchema> | undefined): BoardConfig {
  return Object.freeze({
    order: settings?.order ?? base.order,
    mode: settings?.mode ?? base.mode,
    periods: settings?.periods ?? base.periods,
    versions: settings?.versions ?? base.versions,
    cap: settings?.cap === undefined ? base.cap : settings.cap,
  });
}

/** Hot reads from the isolate's memory (docs/leaderboards.md, "Hot reads from the isolate"). */
export interface LeaderboardL1Config {
  /** Default bound of top/member reads that send no `max-stale` (0: off). */
  defaultMs: number;
  /** Budget of the isolate's leaderboard L1 in bytes. */
  bytes: number;
}

/**
 * LEADERBOARD_L1_MS (default 0: off unless a request sends `Cache-Control: max-stale`, up to
 * 300000) and LEADERBOARD_L1_BYTES (default 4 MiB, up to 64 MiB), parsed once per `env`.
 */
export const readLeaderboardL1Config = defineConfig(
  {
    LEADERBOARD_L1_MS: intVar(0, 0, MAX_L1_MS),
    LEADERBOARD_L1_BYTES: intVar(DEFAULT_LEADERBOARD_L1_BYTES, 0, 64 * 1024 * 1024),
  },
  (v): LeaderboardL1Config => ({ defaultMs: v.LEADERBOARD_L1_MS, bytes: v.LEADERBOARD_L1_BYTES }),
);
