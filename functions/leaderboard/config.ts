import { z } from "@hono/zod-openapi";
import { InvalidInputError } from "../../shared/errors";
import { validateName } from "../../shared/keys";
import { DEFAULT_BOARD, MAX_VERSIONS, type BoardConfig } from "../../shared/leaderboard/board";
import { SUBMIT_MODES } from "../../shared/leaderboard/modes";
import { PERIOD_KINDS } from "../../shared/leaderboard/periods";
import { ConfigError, defineConfig, jsonVar } from "../platform/config";

/** Largest `cap` a board may set. */
export const MAX_CAP = 10_000_000;

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

const BoardsSchema = z.record(z.string(), BoardSchema);

/** Board configuration by name: listed boards, else the defaults ("*" entry over built-ins). */
export type BoardLookup = (board: string) => BoardConfig;

/**
 * Parses LEADERBOARDS once per `env`: a JSON object from board name to
 * `{ order?, mode?, periods?, versions?, cap? }`. Omitted fields take the defaults:
 * `{ order: "desc", mode: "best", periods: ["all-time", "daily", "weekly", "monthly"],
 * versions: 2, cap: null }`, which the optional "*" entry overrides for every board not
 * listed. An invalid value is a 500 naming LEADERBOARDS.
 *
 * @example LEADERBOARDS='{"*":{"periods":["all-time"]},"laps":{"order":"asc","periods":["daily"],"versions":7}}'
 */
export const readLeaderboardConfig = defineConfig({ LEADERBOARDS: jsonVar(z.unknown(), {}) }, (v): BoardLookup => parse(v.LEADERBOARDS));

function parse(raw: unknown): BoardLookup {
  const result = BoardsSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError("LEADERBOARDS", `must map board names to board settings: ${issue.path.join(".")}: ${issue.message}`);
  }
  const { "*": overrides, ...named } = result.data;
  const defaults = merge(DEFAULT_BOARD, overrides);
  const boards = new Map<string, BoardConfig>();
  for (const [name, settings] of Object.entries(named)) {
    try {
      validateName(name, "board");
    } catch (error) {
      if (error instanceof InvalidInputError) throw new ConfigError("LEADERBOARDS", `board name "${name}": ${error.message}`);
      throw error;
    }
    boards.set(name, merge(defaults, settings));
  }
  return (board) => boards.get(board) ?? defaults;
}

function merge(base: BoardConfig, settings: z.infer<typeof BoardSchema> | undefined): BoardConfig {
  return Object.freeze({
    order: settings?.order ?? base.order,
    mode: settings?.mode ?? base.mode,
    periods: settings?.periods ?? base.periods,
    versions: settings?.versions ?? base.versions,
    cap: settings?.cap === undefined ? base.cap : settings.cap,
  });
}
