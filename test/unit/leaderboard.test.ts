import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors";
import { DEFAULT_BOARD, leaderboardKeys, type BoardConfig } from "../../shared/leaderboard";
import {
  aroundCall,
  boardKeys,
  fingerprint,
  parseAroundReply,
  parseRankMember,
  parseSubmitReply,
  parseTopReply,
  rankPage,
  readCandidates,
  removeCall,
  submitCall,
  topCall,
  versionArg,
  type SubmitEntry,
} from "../../shared/leaderboard/codec";
import { fromStored, toStored, unitOp } from "../../shared/leaderboard/modes";
import { candidateVersions, expiresAtMs, retainedVersions, shiftVersion, versionAt } from "../../shared/leaderboard/periods";
import { rankingStyle } from "../../shared/leaderboard/ranking";
import { MAX_SCORE, MAX_UNITS, scoreToUnits, unitsToScore } from "../../shared/leaderboard/score";
import { AROUND, REMOVE, SUBMIT, TOP } from "../../shared/leaderboard/scripts";

const at = (iso: string) => Date.parse(iso);

describe("period calendars (UTC)", () => {
  it("a Sunday 23:59:59 and the Monday 00:00:00 after it are in different ISO weeks", () => {
    const sunday = versionAt("weekly", at("2030-06-09T23:59:59.999Z"));
    const monday = versionAt("weekly", at("2030-06-10T00:00:00Z"));
    expect(sunday.label).toBe("2030-W23");
    expect(monday.label).toBe("2030-W24");
    expect(sunday.startMs).toBe(at("2030-06-03T00:00:00Z")); // the Monday before
    expect(sunday.endMs).toBe(monday.startMs);
  });

  it("labels ISO weeks by their Thursday's year at New Year", () => {
    expect(versionAt("weekly", at("2026-01-01T12:00:00Z")).label).toBe("2026-W01"); // a Thursday
    expect(versionAt("weekly", at("2025-12-29T00:00:00Z")).label).toBe("2026-W01"); // its Monday
    expect(versionAt("weekly", at("2021-01-03T23:00:00Z")).label).toBe("2020-W53");
    expect(versionAt("weekly", at("2027-01-01T00:00:00Z")).label).toBe("2026-W53");
  });

  it("days and months run midnight to midnight UTC, including leap days", () => {
    const day = versionAt("daily", at("2028-02-29T23:59:59.999Z"));
    expect(day).toEqual({ period: "daily", label: "2028-02-29", startMs: at("2028-02-29T00:00:00Z"), endMs: at("2028-03-01T00:00:00Z") });
    const month = versionAt("monthly", at("2030-12-31T23:59:59.999Z"));
    expect(month).toMatchObject({ label: "2030-12", startMs: at("2030-12-01T00:00:00Z"), endMs: at("2031-01-01T00:00:00Z") });
    expect(versionAt("all-time", 0)).toEqual({ period: "all-time", label: "all-time", startMs: null, endMs: null });
  });

  it("a version expires at the end of the version versions-1 periods later", () => {
    const week = versionAt("weekly", at("2030-06-09T12:00:00Z"));
    expect(expiresAtMs(week, 1)).toBe(at("2030-06-10T00:00:00Z"));
    expect(expiresAtMs(week, 3)).toBe(at("2030-06-24T00:00:00Z"));
    const month = versionAt("monthly", at("2030-01-31T00:00:00Z"));
    expect(expiresAtMs(month, 2)).toBe(at("2030-03-01T00:00:00Z"));
    expect(expiresAtMs(versionAt("all-time", 0), 5)).toBeNull();
    expect(shiftVersion(month, -1).label).toBe("2029-12");
  });

  it("offers two candidate versions only near a boundary", () => {
    expect(candidateVersions("daily", at("2030-06-09T12:00:00Z"), 60_000)).toHaveLength(1);
    const near = candidateVersions("daily", at("2030-06-09T23:59:30Z"), 60_000);
    expect(near.map((v) => v.label)).toEqual(["2030-06-09", "2030-06-10"]);
  });

  it("lists every retained version with a spare on each side", () => {
    const labels = retainedVersions("daily", at("2030-06-09T12:00:00Z"), 2).map((v) => v.label);
    expect(labels).toEqual(["2030-06-10", "2030-06-09", "2030-06-08", "2030-06-07"]);
    expect(retainedVersions("all-time", 0, 5)).toHaveLength(1);
  });
});

describe("score encoding", () => {
  it("keeps every score in range exactly, as integer thousandths", () => {
    for (const score of [0, 1, -1, 0.001, 12.345, -987.654, MAX_SCORE, -MAX_SCORE, 999_999_999_999.999, 0.1, 0.2]) {
      expect(unitsToScore(scoreToUnits(score))).toBe(score);
    }
    expect(scoreToUnits(0.1) + scoreToUnits(0.2)).toBe(scoreToUnits(0.3));
    expect(Object.is(unitsToScore(scoreToUnits(-0)), 0)).toBe(true);
  });

  it("refuses non-numbers, non-finite numbers, out-of-range scores and a 4th decimal", () => {
    for (const bad of [Number.NaN, Infinity, -Infinity, "12", null, MAX_SCORE + 1, -MAX_SCORE - 0.001, 0.0001, 1.2345]) {
      expect(() => scoreToUnits(bad)).toThrow(InvalidInputError);
    }
  });

  it("stores ascending boards negated, so better is always higher", () => {
    expect(toStored(5000, "asc")).toBe(-5000);
    expect(fromStored(-5000, "asc")).toBe(5000);
    expect(Object.is(toStored(0, "asc"), 0)).toBe(true);
    expect(unitOp("best", "desc")).toBe("max");
    expect(unitOp("best", "asc")).toBe("max");
    expect(unitOp("min", "desc")).toBe("min");
    expect(unitOp("min", "asc")).toBe("max");
  });
});

describe("ranking styles", () => {
  const scores = [90, 80, 80, 70, 70, 70, 60];
  it("ordinal counts positions", () => {
    expect(rankingStyle("ordinal").rankPage(0, scores, 0)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(rankingStyle().rankPage(10, [5, 5], 0)).toEqual([11, 12]);
  });
  it("competition shares a rank and skips after it", () => {
    expect(rankingStyle("competition").rankPage(0, scores, 0)).toEqual([1, 2, 2, 4, 4, 4, 7]);
    // A page starting inside a tie: 3 members are strictly better than the first entry.
    expect(rankingStyle("competition").rankPage(4, [70, 70, 60], 3)).toEqual([4, 4, 7]);
  });
  it("dense shares a rank and does not skip", () => {
    expect(rankingStyle("dense").rankPage(0, scores, 0)).toEqual([1, 2, 2, 3, 3, 3, 4]);
    expect(rankingStyle("dense").rankPage(4, [70, 70, 60], 2)).toEqual([3, 3, 4]);
  });
});

describe("keys", () => {
  it("names the board's state and each version's sorted set under the prefix, board encoded, tag last", () => {
    const keys = leaderboardKeys("erf");
    const day = versionAt("daily", at("2030-06-09T12:00:00Z"));
    expect(keys.state("a:b")).toBe("erf:lb:state:a:b");
    expect(keys.rank("a:b", day)).toBe("erf:lb:rank:a%3Ab:daily:2030-06-09");
    expect(keys.rank("arena", versionAt("all-time", 0))).toBe("erf:lb:rank:arena:all-time");
    expect(keys.rank("arena", versionAt("weekly", at("2030-06-09T12:00:00Z")))).toBe("erf:lb:rank:arena:weekly:2030-W23");
    expect(keys.idempotency("arena", "k:1")).toBe("erf:lb:idem:arena:k:1");
  });
});

describe("script arguments", () => {
  const keys = leaderboardKeys("p");
  const NOW = at("2030-06-09T12:00:00Z");
  const board: BoardConfig = { ...DEFAULT_BOARD, periods: ["all-time", "daily"], versions: 2 };
  const ctx = { board: "b", config: board, approxMs: NOW, callId: "call-1", guardMs: 60_000, idempotencyTtlSeconds: 86_400 };

  it("a version's bounds and expiry; all-time has none", () => {
    const day = versionAt("daily", NOW);
    expect(versionArg(day, 2)).toEqual({
      tag: "daily:2030-06-09",
      label: "2030-06-09",
      from: at("2030-06-09T00:00:00Z"),
      to: at("2030-06-10T00:00:00Z"),
      exp: at("2030-06-11T00:00:00Z"),
    });
    expect(versionArg(versionAt("all-time", 0), 2)).toEqual({ tag: "all-time", label: "all-time" });
  });

  it("SUBMIT: the state, every retained version of every period, then the idempotency records; one JSON spec", () => {
    const entries: SubmitEntry[] = [
      { member: "a", units: 1500, mode: "best", name: "A" },
      { member: "b", units: 7, mode: "sum", idempotencyKey: "k1" },
    ];
    const call = submitCall(keys, entries, { ...ctx, config: { ...board, order: "asc", cap: 10 } });
    expect(call.keys).toEqual([
      "p:lb:state:b",
      "p:lb:rank:b:all-time",
      "p:lb:rank:b:daily:2030-06-10",
      "p:lb:rank:b:daily:2030-06-09",
      "p:lb:rank:b:daily:2030-06-08",
      "p:lb:rank:b:daily:2030-06-07",
      "p:lb:idem:b:k1",
    ]);
    expect(call.args).toHaveLength(1);
    const spec = JSON.parse(call.args[0]!);
    expect(spec).toMatchObject({ call: "call-1", guard: 60_000, allTime: true, cap: 10, limit: MAX_UNITS });
    expect(spec.now).toBeUndefined();
    expect(spec.periods.map((versions: Array<{ label: string }>) => versions.map((v) => v.label))).toEqual([
      ["all-time"],
      ["2030-06-10", "2030-06-09", "2030-06-08", "2030-06-07"],
    ]);
    // Asc boards store scores negated; best is then the greater stored value.
    expect(spec.entries).toEqual([
      { member: "a", units: -1500, op: "max", name: "A" },
      { member: "b", units: -7, op: "sum", idem: 1, fp: fingerprint(entries[1]!), ttl: 86_400 },
    ]);
    expect(JSON.parse(submitCall(keys, entries, { ...ctx, nowMs: 5 }).args[0]!).now).toBe(5);
    expect(JSON.parse(submitCall(keys, entries, { ...ctx, config: { ...board, periods: ["daily"] } }).args[0]!).allTime).toBe(false);
  });

  it("a fingerprint tells apart submissions that differ in score, mode or name", () => {
    const base: SubmitEntry = { member: "a", units: 1, mode: "sum" };
    const prints = [base, { ...base, units: 2 }, { ...base, mode: "last" as const }, { ...base, name: "A" }].map(fingerprint);
    expect(new Set(prints).size).toBe(4);
    expect(fingerprint({ ...base, idempotencyKey: "x" })).toBe(fingerprint(base));
  });

  it("reads offer the version of `at`, of a test's now, or those within two minutes of the clock", () => {
    const target = { board: "b", period: "daily" as const, ranking: rankingStyle() };
    expect(readCandidates({ ...target, at: at("2030-01-01T05:00:00Z") }, NOW)).toMatchObject({ fixed: true, versions: [{ label: "2030-01-01" }] });
    expect(readCandidates({ ...target, nowMs: NOW }, 0)).toMatchObject({ fixed: false, versions: [{ label: "2030-06-09" }] });
    expect(readCandidates(target, at("2030-06-09T23:59:00Z")).versions.map((v) => v.label)).toEqual(["2030-06-09", "2030-06-10"]);
    const call = topCall(keys, { ...target, ranking: rankingStyle("dense") }, NOW, { offset: 20, limit: 10 });
    expect(call.keys).toEqual(["p:lb:state:b", "p:lb:rank:b:daily:2030-06-09"]);
    expect(JSON.parse(call.args[0]!)).toEqual({
      approx: NOW,
      slack: 120_000,
      candidates: [{ tag: "daily:2030-06-09", label: "2030-06-09", from: at("2030-06-09T00:00:00Z"), to: at("2030-06-10T00:00:00Z") }],
      counts: "distinct",
      start: 20,
      stop: 29,
    });
    const around = JSON.parse(aroundCall(keys, { ...target, period: "all-time" }, NOW, "m", 3).args[0]!);
    expect(around).toMatchObject({ candidates: [{ tag: "all-time", label: "all-time" }], member: "m", around: 3, depth: 1000, counts: "none" });
  });

  it("REMOVE names every retained version with its tag; a deletion names those and the state", () => {
    const call = removeCall(keys, "b", board, "m", NOW);
    expect(call.keys.slice(0, 3)).toEqual(["p:lb:state:b", "p:lb:rank:b:all-time", "p:lb:rank:b:daily:2030-06-10"]);
    expect(call.args[0]).toBe("m");
    expect(JSON.parse(call.args[1]!)).toEqual(["all-time", "daily:2030-06-10", "daily:2030-06-09", "daily:2030-06-08", "daily:2030-06-07"]);
    expect(boardKeys(keys, "b", board, NOW)).toEqual(call.keys);
  });
});

describe("reply parsers", () => {
  const board: BoardConfig = { ...DEFAULT_BOARD, periods: ["all-time", "weekly"], order: "asc" };
  const entries: SubmitEntry[] = [{ member: "a", units: 1, mode: "best" }, { member: "b", units: 2, mode: "best" }];

  it("SUBMIT: results per entry and period, scores back in the board's order", () => {
    const reply = JSON.stringify({
      results: [
        { replayed: false, periods: [["-1500", 1, "all-time"], ["-1500", false, "2030-W23"]] },
        { replayed: true, periods: [["-2000", 2, "all-time"], ["-2000", 1, "2030-W23"]] },
      ],
    });
    expect(parseSubmitReply(reply, board, entries)).toEqual({
      kind: "applied",
      results: [
        {
          member: "a",
          score: 1.5,
          rank: 1,
          replayed: false,
          periods: [
            { period: "all-time", version: "all-time", score: 1.5, rank: 1 },
            { period: "weekly", version: "2030-W23", score: 1.5, rank: null },
          ],
        },
        {
          member: "b",
          score: 2,
          rank: 2,
          replayed: true,
          periods: [
            { period: "all-time", version: "all-time", score: 2, rank: 2 },
            { period: "weekly", version: "2030-W23", score: 2, rank: 1 },
          ],
        },
      ],
    });
  });

  it("SUBMIT: refusals with 0-based entries, and Redis time when the clock was off", () => {
    expect(parseSubmitReply('{"conflict":2}', board, entries)).toEqual({ kind: "conflict", entry: 1 });
    expect(parseSubmitReply('{"overflow":1,"period":2}', board, entries)).toEqual({ kind: "overflow", entry: 0, period: "weekly" });
    expect(parseSubmitReply('{"skew":1234}', board, entries)).toEqual({ kind: "skew", nowMs: 1234 });
  });

  it("rank-set members carry the member id and the display name", () => {
    expect(parseRankMember("9007199254740991999alice\nAlice Smith")).toEqual({ member: "alice", name: "Alice Smith" });
    expect(parseRankMember("9007199254740991999bob")).toEqual({ member: "bob" });
    expect(parseRankMember("0000000000000001998clan/ü ✓\nÉ ✓")).toEqual({ member: "clan/ü ✓", name: "É ✓" });
  });

  it("TOP and AROUND: a page becomes ranked entries; empty pages and other answers parse", () => {
    const top = parseTopReply(
      JSON.stringify({ label: "2030-W23", total: 9, page: { start: 3, better: 2, entries: ["0000000000000001999a\nA", "-70000", "0000000000000001998b", "-70000", "0000000000000001997c", "-80000"] } }),
    );
    expect(top).toMatchObject({ kind: "page", version: "2030-W23", total: 9 });
    if (top.kind !== "page" || !top.page) throw new Error("a page was expected");
    expect(rankPage(top.page, "asc", rankingStyle("competition"))).toEqual([
      { rank: 3, member: "a", score: 70, name: "A" },
      { rank: 3, member: "b", score: 70 },
      { rank: 6, member: "c", score: 80 },
    ]);
    expect(rankPage({ start: 0, better: 0, entries: {} }, "desc", rankingStyle())).toEqual([]);
    expect(parseTopReply('{"label":"all-time","total":0}')).toEqual({ kind: "page", version: "all-time", total: 0 });
    expect(parseTopReply('{"skew":5}')).toEqual({ kind: "skew", nowMs: 5 });
    expect(parseAroundReply('{"absent":true}')).toEqual({ kind: "absent" });
    expect(parseAroundReply('{"deep":1200}')).toEqual({ kind: "deep", index: 1200 });
    expect(parseAroundReply('{"label":"x","total":1,"index":0,"page":{"start":0,"better":0,"entries":["0000000000000001999a","5"]}}')).toMatchObject({
      kind: "standing",
      index: 0,
    });
  });
});

describe("scripts", () => {
  it("declare allow-key-locking and read KEYS and ARGV only by name", () => {
    for (const script of [SUBMIT, TOP, AROUND, REMOVE]) {
      const [shebang, keysLine, argsLine, restLine, ...body] = script.source.split("\n");
      expect({ name: script.name, shebang }).toEqual({ name: script.name, shebang: "#!lua flags=allow-key-locking" });
      expect([keysLine, argsLine, restLine].every((line) => line?.startsWith("local "))).toBe(true);
      expect({ name: script.name, positional: /\b(KEYS|ARGV)\s*\[/.test(body.join("\n")) }).toEqual({ name: script.name, positional: false });
    }
  });
});

describe("leaderboard L1 bounds (no Redis)", () => {
  it("counts the bound from when the read was sent, not from when the reply came", async () => {
    const { LeaderboardL1 } = await import("../../shared/leaderboard/isolate");
    let now = 10_000;
    const l1 = new LeaderboardL1(1 << 20, () => now);
    const read = { generation: l1.generation, sentAt: now };
    now += 400; // a slow reply
    l1.keep("top", "board", { entries: [] }, Number.POSITIVE_INFINITY, read);
    expect(l1.lookup("top", 500)).toBeDefined();
    now += 101;
    expect(l1.lookup("top", 500)).toBeUndefined();
    expect(l1.lookup("top", 501)).toBeDefined();
  });

  it("keeps nothing from a read that raced a change made through the same isolate", async () => {
    const { LeaderboardL1 } = await import("../../shared/leaderboard/isolate");
    const l1 = new LeaderboardL1(1 << 20, () => 0);
    const read = { generation: l1.generation, sentAt: 0 };
    l1.dropBoard("board");
    l1.keep("top", "board", { entries: [] }, Number.POSITIVE_INFINITY, read);
    expect(l1.lookup("top", 60_000)).toBeUndefined();
  });
});
