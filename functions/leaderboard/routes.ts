import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  isolateLeaderboardL1,
  Leaderboards,
  MAX_AROUND,
  MAX_BATCH,
  MAX_DENSE_POSITION,
  MAX_DISPLAY_NAME_BYTES,
  MAX_LIMIT,
  MAX_OFFSET,
  MAX_SCORE,
  PERIOD_KINDS,
  RANKING_NAMES,
  SUBMIT_MODES,
} from "../../shared/leaderboard";
import type { AppEnv } from "../platform/app-env";
import { readLeaderboardConfig, readLeaderboardL1Config } from "./config";
import { l1ReadOptions } from "../platform/max-stale";
import { denseTooDeep, memberNotFound, submitRefused } from "./problems";
import { jsonBody, jsonResponse, problems, v1Route } from "../platform/openapi";
import { createRouter, redisOf } from "../platform/router";
import { nameString } from "../platform/validation";

/**
 * The request's leaderboard core. Its Redis client keeps the default retry: a resent submit
 * replays (its idempotency key, or the call remembered in each member's state), and reads,
 * removals and deletes are safe to repeat.
 */
function boardsOf(c: Context<AppEnv>): Leaderboards {
  return new Leaderboards(redisOf(c), { prefix: c.var.config.keyPrefix, boards: readLeaderboardConfig(c.env) });
}

/**
 * The read's bound on answers from the isolate's memory (`Cache-Control: max-stale`, else
 * LEADERBOARD_L1_MS), as the core's option: none when it is 0.
 */
function hotReadOf(c: Context<AppEnv>): { maxStaleMs?: number } {
  return l1ReadOptions(c.req.header("Cache-Control"), isolateLeaderboardL1, readLeaderboardL1Config(c.env));
}

/** Says where a read's answer came from: `X-Cache: HIT-L1` with the copy's `Age`, or `MISS` (from Redis). */
function sayWhence(c: Context<AppEnv>, l1: { confirmedMsAgo: number } | undefined): void {
  c.header("X-Cache", l1 ? "HIT-L1" : "MISS");
  if (l1) c.header("Age", String(Math.floor(l1.confirmedMsAgo / 1000)));
}

const HotReadHeaders = z.object({
  "cache-control": z.string().optional().openapi({
    param: { name: "cache-control", in: "header" },
    description: "`max-stale=<seconds>` (at most 300) accepts an answer Redis gave that long ago, from the isolate's memory; `no-cache` always asks Redis",
    example: "max-stale=1",
  }),
});

const hotReadDescription =
  "One request to Redis. With `Cache-Control: max-stale=<s>` (or LEADERBOARD_L1_MS), the same read answered by Redis " +
  "within that many seconds may come from the isolate's memory with no request (`X-Cache: HIT-L1`, `Age`: how long ago " +
  "Redis answered it, in seconds). A submit made elsewhere shows within that bound, never later; one made through the " +
  "same isolate at once. Never across a period boundary (a daily page is not served on the next day).";

/** A read's 200: the body, and the headers that say whether it came from the isolate's memory. */
function hotResponse<S extends z.ZodType>(description: string, schema: S) {
  return {
    ...jsonResponse(description, schema),
    headers: z.object({
      "X-Cache": z.enum(["HIT-L1", "MISS"]).openapi({ description: "HIT-L1: from the isolate's memory; MISS: from Redis" }),
      Age: z.string().optional().openapi({ description: "With HIT-L1: seconds since Redis gave this answer", example: "0" }),
    }),
  };
}

const Board = nameString("board").openapi({ param: { name: "board", in: "path" }, description: "Board name: 1–256 UTF-8 bytes", example: "arena" });
const Member = nameString("member").openapi({ description: "Member id: 1–256 UTF-8 bytes, no control characters or unpaired surrogates", example: "player-42" });
const BoardParams = z.object({ board: Board });
const MemberParams = z.object({ board: Board, member: Member.openapi({ param: { name: "member", in: "path" } }) });

const Submission = z
  .strictObject({
    member: Member,
    score: z.number().openapi({ description: `Finite, within ±${MAX_SCORE}, at most 3 decimal places`, example: 1250 }),
    mode: z.enum(SUBMIT_MODES).optional().openapi({ description: "Default: the board's mode (best)" }),
    name: nameString("name", MAX_DISPLAY_NAME_BYTES).optional().openapi({ description: "Display name, ≤ 1 KiB; omitted keeps the stored one", example: "Alice" }),
    idempotencyKey: nameString("idempotencyKey").optional().openapi({ description: "Same key, same submission: applied once (kept a day)", example: "match-9917-alice" }),
  })
  .openapi("LeaderboardSubmission");

const PeriodScore = z.object({
  period: z.enum(PERIOD_KINDS),
  version: z.string().openapi({ example: "2026-W17" }),
  score: z.number(),
  rank: z.number().int().nullable().openapi({ description: "Ordinal rank; null when the board's cap left the member out" }),
});

const SubmitResult = z
  .object({
    member: z.string(),
    score: z.number().openapi({ description: "Stored score in the board's first period" }),
    rank: z.number().int().nullable().openapi({ description: "Ordinal rank in the board's first period" }),
    periods: z.array(PeriodScore),
    replayed: z.boolean().openapi({ description: "True for a repeated idempotency key: nothing changed" }),
  })
  .openapi("LeaderboardSubmitResult");

const Entry = z
  .object({ rank: z.number().int(), member: z.string(), score: z.number(), name: z.string().optional() })
  .openapi("LeaderboardEntry");

const At = z
  .string()
  .transform((text, ctx) => {
    // Epoch milliseconds, or an ISO 8601 date or date-time (Date.parse alone accepts oddities like "-5").
    const ms = /^\d+$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}([T ]|$)/.test(text) ? Date.parse(text) : Number.NaN;
    if (!Number.isSafeInteger(ms) || ms < 0) {
      ctx.addIssue({ code: "custom", message: "at must be an ISO 8601 instant or milliseconds since the epoch" });
      return z.NEVER;
    }
    return ms;
  })
  .optional()
  .openapi({ description: "Any instant inside a retained version of the period (default now)", example: "2026-04-20T12:00:00Z" });

const ReadQuery = {
  period: z.enum(PERIOD_KINDS).optional().openapi({ description: "Default: the board's first period" }),
  at: At,
  ranking: z
    .enum(RANKING_NAMES)
    .optional()
    .openapi({ description: `ordinal (default) 1,2,3,4; competition 1,2,2,4; dense 1,2,2,3 (within the first ${MAX_DENSE_POSITION} positions)` }),
};

const Page = z
  .object({ board: z.string(), period: z.enum(PERIOD_KINDS), version: z.string(), total: z.number().int(), entries: z.array(Entry) })
  .openapi("LeaderboardPage");

const Standing = Entry.extend({
  board: z.string(),
  period: z.enum(PERIOD_KINDS),
  version: z.string(),
  total: z.number().int(),
  around: z.array(Entry).openapi({ description: "The member and up to `around` neighbours on each side, best first" }),
}).openapi("LeaderboardStanding");

const submitRoute = v1Route({
  method: "post",
  path: "/v1/leaderboards/{board}/scores",
  summary: "Submit a score to every period of a board",
  description: "One request to Redis; atomic. An unconfigured board is created with the defaults.",
  request: { params: BoardParams, body: jsonBody(Submission) },
  responses: { 200: jsonResponse("Stored", SubmitResult), ...problems(400, 409) },
});

const batchRoute = v1Route({
  method: "post",
  path: "/v1/leaderboards/{board}/scores/batch",
  summary: `Submit up to ${MAX_BATCH} scores at once`,
  description: "One request to Redis, atomic: a refused entry changes nothing. Ranks are as of the end of the batch.",
  request: {
    params: BoardParams,
    body: jsonBody(z.strictObject({ entries: z.array(Submission).min(1).max(MAX_BATCH) }).openapi("LeaderboardBatch")),
  },
  responses: { 200: jsonResponse("Stored", z.object({ results: z.array(SubmitResult) })), ...problems(400, 409) },
});

const topRoute = v1Route({
  method: "get",
  path: "/v1/leaderboards/{board}",
  summary: "The best members of a period, a page at a time (X-Cache: MISS or HIT-L1)",
  description: hotReadDescription,
  request: {
    params: BoardParams,
    headers: HotReadHeaders,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(10).openapi({ description: `1–${MAX_LIMIT} (default 10)` }),
      offset: z.coerce.number().int().min(0).max(MAX_OFFSET).default(0).openapi({ description: "0-based position (default 0)" }),
      ...ReadQuery,
    }),
  },
  responses: { 200: hotResponse("A page", Page), ...problems(400) },
});

const memberRoute = v1Route({
  method: "get",
  path: "/v1/leaderboards/{board}/members/{member}",
  summary: "A member's rank and score with its neighbours (X-Cache: MISS or HIT-L1)",
  description: `${hotReadDescription} An absent member (404) is always asked of Redis.`,
  request: {
    params: MemberParams,
    headers: HotReadHeaders,
    query: z.object({
      around: z.coerce.number().int().min(0).max(MAX_AROUND).default(2).openapi({ description: `Neighbours each side, 0–${MAX_AROUND} (default 2)` }),
      ...ReadQuery,
    }),
  },
  responses: { 200: hotResponse("The member", Standing), ...problems(400, 404) },
});

const removeMemberRoute = v1Route({
  method: "delete",
  path: "/v1/leaderboards/{board}/members/{member}",
  summary: "Remove a member from every period and retained version",
  request: { params: MemberParams },
  responses: { 204: { description: "Removed (or was absent)" }, ...problems(400) },
});

const deleteBoardRoute = v1Route({
  method: "delete",
  path: "/v1/leaderboards/{board}",
  summary: "Delete a board: every period and retained version",
  request: { params: BoardParams },
  responses: { 204: { description: "Deleted (or was absent)" }, ...problems(400) },
});

/** `/v1/leaderboards/*`: submit, batch submit, top N, one member with neighbours, removals. */
export const leaderboardRoutes = createRouter()
  .openapi(submitRoute, async (c) => {
    const { board } = c.req.valid("param");
    const { member, score, ...options } = c.req.valid("json");
    const outcome = await boardsOf(c).submit(board, member, score, options);
    if (!outcome.accepted) throw submitRefused(outcome);
    const { accepted: _, ...result } = outcome;
    return c.json(result, 200);
  })
  .openapi(batchRoute, async (c) => {
    const { board } = c.req.valid("param");
    const outcome = await boardsOf(c).submitMany(board, c.req.valid("json").entries);
    if (!outcome.accepted) throw submitRefused(outcome);
    return c.json({ results: outcome.results }, 200);
  })
  .openapi(topRoute, async (c) => {
    const { board } = c.req.valid("param");
    const { l1, ...page } = await boardsOf(c).top(board, { ...c.req.valid("query"), ...hotReadOf(c) });
    sayWhence(c, l1);
    return c.json(page, 200);
  })
  .openapi(memberRoute, async (c) => {
    const { board, member } = c.req.valid("param");
    const standing = await boardsOf(c).member(board, member, { ...c.req.valid("query"), ...hotReadOf(c) });
    if (standing === null) throw memberNotFound(board, member);
    if ("tooDeep" in standing) throw denseTooDeep(standing.position);
    const { l1, ...body } = standing;
    sayWhence(c, l1);
    return c.json(body, 200);
  })
  .openapi(removeMemberRoute, async (c) => {
    const { board, member } = c.req.valid("param");
    await boardsOf(c).removeMember(board, member);
    return c.body(null, 204);
  })
  .openapi(deleteBoardRoute, async (c) => {
    await boardsOf(c).deleteBoard(c.req.valid("param").board);
    return c.body(null, 204);
  });
