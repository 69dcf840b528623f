import type { ScriptCall } from "../script";
import { CLOCK_SLACK_MS, MAX_DENSE_POSITION } from "./board";
import { versionTag, type LeaderboardKeys } from "./keys";
import { fromStored, toStored, unitOp, type SubmitMode } from "./modes";
import { candidateVersions, expiresAtMs, retainedVersions, versionAt, type PeriodKind, type PeriodVersion } from "./periods";
import type { RankingStyle } from "./ranking";
import { MAX_UNITS, unitsToScore } from "./score";
import { AROUND, REMOVE, SUBMIT, TOP } from "./scripts";
import type { BoardConfig, PeriodScore, RankedEntry, SubmitResult } from "./types";

/**
 * Pure argument builders and reply parsers of the leaderboard scripts (see `scripts.ts` for
 * what each script takes and answers). Nothing here talks to Redis.
 */

/** A version as the scripts receive it: its tag, label, bounds and expiry (ms). */
export interface VersionArg {
  tag: string;
  label: string;
  from?: number;
  to?: number;
  exp?: number;
}

/** A version's tag, label, bounds and expiry for a script; bounds and expiry absent for all-time. */
export function versionArg(version: PeriodVersion, versions: number): VersionArg {
  const arg: VersionArg = { tag: versionTag(version), label: version.label };
  if (version.startMs !== null) arg.from = version.startMs;
  if (version.endMs !== null) arg.to = version.endMs;
  const exp = expiresAtMs(version, versions);
  if (exp !== null) arg.exp = exp;
  return arg;
}

/**
 * Every version of every period of `config` that may hold data around `approxMs`: per
 * period, the next version, the current one and the `versions` before it (all-time: itself).
 * The keys a submit, a removal or a deletion names.
 */
export function retainedByPeriod(config: BoardConfig, approxMs: number): PeriodVersion[][] {
  return config.periods.map((period) => retainedVersions(period, approxMs, config.versions));
}

/** One submission, validated by the core. */
export interface SubmitEntry {
  member: string;
  /** The submitted score in units (see `score.ts`), not yet signed by the board's order. */
  units: number;
  mode: SubmitMode;
  name?: string;
  /** A client's idempotency key, when given. */
  idempotencyKey?: string;
}

/** What a submit call needs beyond the entries. */
export interface SubmitContext {
  board: string;
  config: BoardConfig;
  /** The Worker's clock: which versions to offer. */
  approxMs: number;
  /** Replaces Redis TIME (tests only). */
  nowMs?: number;
  /** A random id of this call, identical in the client's resend. */
  callId: string;
  /** How long a call is remembered for the retry guard, in ms. */
  guardMs: number;
  /** How long an idempotency record is kept, in seconds. */
  idempotencyTtlSeconds: number;
}

/** The fingerprint of a submission: a reused idempotency key with another one is a conflict. */
export function fingerprint(entry: SubmitEntry): string {
  return JSON.stringify([entry.member, entry.units, entry.mode, entry.name ?? null]);
}

/** KEYS and ARGV of SUBMIT (see `scripts.ts`). */
export function submitCall(keys: LeaderboardKeys, entries: readonly SubmitEntry[], ctx: SubmitContext): ScriptCall {
  const { board, config } = ctx;
  const periods = retainedByPeriod(config, ctx.nowMs ?? ctx.approxMs);
  const idempotencyKeys: string[] = [];
  const spec = {
    ...(ctx.nowMs === undefined ? {} : { now: ctx.nowMs }),
    call: ctx.callId,
    guard: ctx.guardMs,
    allTime: config.periods.includes("all-time"),
    ...(config.cap === null ? {} : { cap: config.cap }),
    limit: MAX_UNITS,
    periods: periods.map((versions) => versions.map((v) => versionArg(v, config.versions))),
    entries: entries.map((e) => {
      const arg: Record<string, unknown> = { member: e.member, units: toStored(e.units, config.order), op: unitOp(e.mode, config.order) };
      if (e.name !== undefined) arg.name = e.name;
      if (e.idempotencyKey !== undefined) {
        idempotencyKeys.push(keys.idempotency(board, e.idempotencyKey));
        Object.assign(arg, { idem: idempotencyKeys.length, fp: fingerprint(e), ttl: ctx.idempotencyTtlSeconds });
      }
      return arg;
    }),
  };
  const ranks = periods.flat().map((v) => keys.rank(board, v));
  return SUBMIT.call({ state: keys.state(board) }, { spec: JSON.stringify(spec) }, { keys: [...ranks, ...idempotencyKeys] });
}

/** What SUBMIT answered, parsed. Indexes are 0-based. */
export type SubmitReply =
  | { kind: "applied"; results: SubmitResult[] }
  | { kind: "skew"; nowMs: number }
  | { kind: "conflict"; entry: number }
  | { kind: "overflow"; entry: number; period: PeriodKind };

type RawSubmit =
  | { results: Array<{ replayed: boolean; periods: Array<[string, number | false, string]> }> }
  | { skew: number }
  | { conflict: number }
  | { overflow: number; period: number };

/** Parses SUBMIT's JSON reply for `entries` of a board of `config`. */
export function parseSubmitReply(reply: string, config: BoardConfig, entries: readonly SubmitEntry[]): SubmitReply {
  const raw = JSON.parse(reply) as RawSubmit;
  if ("skew" in raw) return { kind: "skew", nowMs: raw.skew };
  if ("conflict" in raw) return { kind: "conflict", entry: raw.conflict - 1 };
  if ("overflow" in raw) return { kind: "overflow", entry: raw.overflow - 1, period: config.periods[raw.period - 1]! };
  const results = raw.results.map((result, i): SubmitResult => {
    const periods = result.periods.map(([units, rank, version], j): PeriodScore => ({
      period: config.periods[j]!,
      version,
      score: unitsToScore(fromStored(Number(units), config.order)),
      rank: rank === false ? null : rank,
    }));
    const primary = periods[0]!;
    return { member: entries[i]!.member, score: primary.score, rank: primary.rank, periods, replayed: result.replayed };
  });
  return { kind: "applied", results };
}

/** What to read: a period's version (by `at`, or now) and how to rank it. */
export interface ReadTarget {
  board: string;
  period: PeriodKind;
  ranking: RankingStyle;
  /** Any instant inside the version to read; absent: now. */
  at?: number;
  /** Replaces the clock and Redis TIME (tests only). */
  nowMs?: number;
}

/**
 * The versions a read offers: the one holding `at` (fixed), else the one holding `nowMs`
 * (tests), else those within {@link CLOCK_SLACK_MS} of the Worker's clock `approxMs` (two
 * near a boundary, when Redis TIME picks).
 */
export function readCandidates(target: ReadTarget, approxMs: number): { versions: PeriodVersion[]; fixed: boolean } {
  if (target.at !== undefined) return { versions: [versionAt(target.period, target.at)], fixed: true };
  if (target.nowMs !== undefined) return { versions: [versionAt(target.period, target.nowMs)], fixed: false };
  return { versions: candidateVersions(target.period, approxMs, CLOCK_SLACK_MS), fixed: false };
}

function readSpec(target: ReadTarget, approxMs: number, versions: readonly PeriodVersion[], fixed: boolean) {
  return {
    approx: target.nowMs ?? approxMs,
    slack: CLOCK_SLACK_MS,
    ...(target.nowMs === undefined ? {} : { now: target.nowMs }),
    ...(fixed ? { fixed: true } : {}),
    candidates: versions.map((v) => ({ tag: versionTag(v), label: v.label, ...bounds(v) })),
    counts: target.ranking.counts,
  };
}

function bounds(v: PeriodVersion): { from?: number; to?: number } {
  return v.startMs === null || v.endMs === null ? {} : { from: v.startMs, to: v.endMs };
}

/** KEYS and ARGV of TOP: positions `offset` to `offset + limit - 1` (limit 0: the count only). */
export function topCall(keys: LeaderboardKeys, target: ReadTarget, approxMs: number, page: { offset: number; limit: number }): ScriptCall {
  const { versions, fixed } = readCandidates(target, approxMs);
  const spec = { ...readSpec(target, approxMs, versions, fixed), start: page.offset, stop: page.offset + page.limit - 1 };
  return TOP.call({ state: keys.state(target.board) }, { spec: JSON.stringify(spec) }, { keys: versions.map((v) => keys.rank(target.board, v)) });
}

/** KEYS and ARGV of AROUND: `member` with `around` neighbours on each side. */
export function aroundCall(keys: LeaderboardKeys, target: ReadTarget, approxMs: number, member: string, around: number): ScriptCall {
  const { versions, fixed } = readCandidates(target, approxMs);
  const spec = { ...readSpec(target, approxMs, versions, fixed), member, around, depth: MAX_DENSE_POSITION };
  return AROUND.call({ state: keys.state(target.board) }, { spec: JSON.stringify(spec) }, { keys: versions.map((v) => keys.rank(target.board, v)) });
}

/** A page as a read script returns it: rank-set members and units, alternating. */
export interface RawPage {
  start: number;
  better: number;
  entries: string[] | Record<string, never>;
}

/** What TOP answered. */
export type TopReply = { kind: "page"; version: string; total: number; page?: RawPage } | { kind: "skew"; nowMs: number };

/** What AROUND answered. */
export type AroundReply =
  | { kind: "standing"; version: string; total: number; index: number; page: RawPage }
  | { kind: "absent" }
  | { kind: "deep"; index: number }
  | { kind: "skew"; nowMs: number };

/** Parses TOP's JSON reply. */
export function parseTopReply(reply: string): TopReply {
  const raw = JSON.parse(reply) as { skew: number } | { label: string; total: number; page?: RawPage };
  if ("skew" in raw) return { kind: "skew", nowMs: raw.skew };
  return { kind: "page", version: raw.label, total: raw.total, ...(raw.page ? { page: raw.page } : {}) };
}

/** Parses AROUND's JSON reply. */
export function parseAroundReply(reply: string): AroundReply {
  const raw = JSON.parse(reply) as
    | { skew: number }
    | { absent: true }
    | { deep: number }
    | { label: string; total: number; index: number; page: RawPage };
  if ("skew" in raw) return { kind: "skew", nowMs: raw.skew };
  if ("absent" in raw) return { kind: "absent" };
  if ("deep" in raw) return { kind: "deep", index: raw.deep };
  return { kind: "standing", version: raw.label, total: raw.total, index: raw.index, page: raw.page };
}

/** A rank-set member `<19-digit stamp><member>[\n<name>]` as member and name. */
export function parseRankMember(entry: string): { member: string; name?: string } {
  const body = entry.slice(19);
  const nl = body.indexOf("\n");
  return nl === -1 ? { member: body } : { member: body.slice(0, nl), name: body.slice(nl + 1) };
}

/** A page from a read script as ranked entries, best first. */
export function rankPage(page: RawPage, order: BoardConfig["order"], ranking: RankingStyle): RankedEntry[] {
  const flat = Array.isArray(page.entries) ? page.entries : [];
  const members: Array<{ member: string; name?: string }> = [];
  const units: number[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    members.push(parseRankMember(flat[i]!));
    units.push(Number(flat[i + 1]));
  }
  const ranks = ranking.rankPage(page.start, units, page.better);
  return members.map(({ member, name }, i) => {
    const entry: RankedEntry = { rank: ranks[i]!, member, score: unitsToScore(fromStored(units[i]!, order)) };
    if (name !== undefined) entry.name = name;
    return entry;
  });
}

/** KEYS and ARGV of REMOVE: `member` out of every retained version of `board`. */
export function removeCall(keys: LeaderboardKeys, board: string, config: BoardConfig, member: string, approxMs: number): ScriptCall {
  const versions = retainedByPeriod(config, approxMs).flat();
  return REMOVE.call(
    { state: keys.state(board) },
    { member, tags: JSON.stringify(versions.map(versionTag)) },
    { keys: versions.map((v) => keys.rank(board, v)) },
  );
}

/** Every key of `board` that may hold data around `approxMs`: its state and every retained sorted set. */
export function boardKeys(keys: LeaderboardKeys, board: string, config: BoardConfig, approxMs: number): string[] {
  return [keys.state(board), ...retainedByPeriod(config, approxMs).flat().map((v) => keys.rank(board, v))];
}
