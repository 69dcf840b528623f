import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors";
import { leaderboardKeys, versionSpec } from "../../shared/leaderboard/board";
import { fromStored, toStored, unitOp } from "../../shared/leaderboard/modes";
import { candidateVersions, expiresAtMs, retainedVersions, shiftVersion, versionAt } from "../../shared/leaderboard/periods";
import { rankingStyle } from "../../shared/leaderboard/ranking";
import { AROUND_SCRIPT, TOP_SCRIPT } from "../../shared/leaderboard/read";
import { REMOVE_SCRIPT } from "../../shared/leaderboard/remove";
import { MAX_SCORE, scoreToUnits, unitsToScore } from "../../shared/leaderboard/score";
import { SUBMIT_SCRIPT } from "../../shared/leaderboard/submit";

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

describe("keys and script arguments", () => {
  it("names each version's keys under the prefix, board encoded, tag last", () => {
    const keys = leaderboardKeys("erf");
    const day = versionAt("daily", at("2030-06-09T12:00:00Z"));
    expect(keys.version("a:b", day)).toEqual({
      rank: "erf:lb:rank:a%3Ab:daily:2030-06-09",
      entry: "erf:lb:entry:a%3Ab:daily:2030-06-09",
      distinct: "erf:lb:distinct:a%3Ab:daily:2030-06-09",
    });
    expect(keys.version("arena", versionAt("all-time", 0)).rank).toBe("erf:lb:rank:arena:all-time");
    expect(keys.idempotency("arena", "k:1")).toBe("erf:lb:idem:arena:k:1");
    expect(versionSpec(day, 2)).toEqual({
      label: "2030-06-09",
      from: at("2030-06-09T00:00:00Z"),
      to: at("2030-06-10T00:00:00Z"),
      expireAt: at("2030-06-11T00:00:00Z"),
    });
    expect(versionSpec(versionAt("all-time", 0), 2)).toEqual({ label: "all-time" });
  });

  it("pins each script's SHA1, so an edit is never silent", async () => {
    expect({
      submit: await SUBMIT_SCRIPT.sha1(),
      top: await TOP_SCRIPT.sha1(),
      around: await AROUND_SCRIPT.sha1(),
      remove: await REMOVE_SCRIPT.sha1(),
    }).toEqual({
      submit: "50bbeb2dbdeda4a1b83ac7faa5a81f8a838df23b",
      top: "1a2636287051852b1ab55eabf9d3d08a1129464b",
      around: "ec3efa911108f881191ea48be6e35aa85b2969d0",
      remove: "0c501b63600c32b20cbe6aafc0eb63a16aebefaf",
    });
  });
});
