import { env } from "cloudflare:test";
import { expect } from "vitest";
import {
  DEFAULT_BOARD,
  Leaderboards,
  type BoardConfig,
  type DenseTooDeep,
  type LeaderboardClient,
  type MemberStanding,
  type PeriodKind,
  type ReadOptions,
} from "../../shared/leaderboard";
import { testRedis, uniqueName } from "./helpers";

/** The prefix of every key the leaderboard tests write. */
export const PREFIX = "lbtest";

/** Every period of a default board, in its order. */
export const ALL_PERIODS: readonly PeriodKind[] = DEFAULT_BOARD.periods;

/** A core on a fresh board with `settings` over the defaults. */
export function fresh(settings: Partial<BoardConfig> = {}, client: LeaderboardClient = testRedis(), options: { clock?: () => number } = {}) {
  const config: BoardConfig = { ...DEFAULT_BOARD, ...settings };
  return { lb: new Leaderboards(client, { prefix: PREFIX, boards: () => config, ...options }), board: uniqueName("board"), config };
}

/** The result of an accepted submit or batch; fails the test on a refusal. */
export function accepted<T extends { accepted: boolean }>(outcome: T): Extract<T, { accepted: true }> {
  expect(outcome).toMatchObject({ accepted: true });
  return outcome as Extract<T, { accepted: true }>;
}

/** A member read that is not refused as too deep for dense ranks: the standing, or null. */
export async function standing(lb: Leaderboards, board: string, member: string, options: ReadOptions & { around?: number } = {}): Promise<MemberStanding | null> {
  const result: MemberStanding | DenseTooDeep | null = await lb.member(board, member, options);
  expect(result === null || !("tooDeep" in result)).toBe(true);
  return result as MemberStanding | null;
}

/** Members of the first 100 of a page, best first. */
export async function order(lb: Leaderboards, board: string, period?: PeriodKind): Promise<string[]> {
  return (await lb.top(board, { limit: 100, ...(period ? { period } : {}) })).entries.map((e) => e.member);
}

/**
 * Runs `fn` and returns the commands Redis executed meanwhile, by name (INFO commandstats):
 * the EVALSHA and every call inside the script, which is what Upstash bills. Test files run
 * one at a time, so only this test's commands are counted; the INFO request itself is not.
 */
export async function billed(fn: () => Promise<unknown>): Promise<{ total: number; byCommand: Record<string, number> }> {
  const before = await commandStats();
  await fn();
  const after = await commandStats();
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of Object.entries(after)) {
    const delta = calls - (before[name] ?? 0);
    if (delta > 0) {
      byCommand[name] = delta;
      total += delta;
    }
  }
  return { total, byCommand };
}

async function commandStats(): Promise<Record<string, number>> {
  const res = await fetch(env.UPSTASH_REDIS_REST_URL!, {
    method: "POST",
    headers: { Authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(["INFO", "commandstats"]),
  });
  const { result } = await res.json<{ result: string }>();
  const stats: Record<string, number> = {};
  for (const match of result.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== "info") stats[match[1]!] = Number(match[2]);
  }
  return stats;
}
