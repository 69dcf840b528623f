import { describe, expect, it } from "vitest";
import { buildHit, buildSeries, parseHit, parseSeries, seriesRequest, validateBy, validateCounterName } from "../../shared/counters/codec";
import { counterKeys } from "../../shared/counters/keys";
import { HIT, SERIES } from "../../shared/counters/scripts";
import { InvalidInputError } from "../../shared/errors";

/** Windowed counters' pure parts: keys, input checks, what a hit and a series send and read. */

describe("keys", () => {
  it("are <prefix>:counter:<granularity>:<name>, default prefix erf", () => {
    expect(counterKeys().buckets("minute", "signups")).toBe("erf:counter:minute:signups");
    expect(counterKeys("app").buckets("hour", "a:b")).toBe("app:counter:hour:a:b");
  });
});

describe("input checks (before any request)", () => {
  it("by: an integer from 1 to 1e9", () => {
    for (const by of [0, -1, 1.5, 1e9 + 1, Number.NaN]) expect(() => validateBy(by), String(by)).toThrow(InvalidInputError);
    expect(validateBy(1e9)).toBe(1e9);
  });

  it("a series: defaults minute × 60; buckets within the granularity's ring", () => {
    expect(seriesRequest()).toEqual({ granularity: "minute", buckets: 60 });
    expect(seriesRequest({ granularity: "second", buckets: 300 })).toEqual({ granularity: "second", buckets: 300 });
    for (const bad of [
      { granularity: "second" as const, buckets: 301 },
      { granularity: "hour" as const, buckets: 169 },
      { buckets: 0 },
      { buckets: 2.5 },
      { granularity: "day" as "hour" },
      { granularity: "toString" as "hour" },
    ]) {
      expect(() => seriesRequest(bad), JSON.stringify(bad)).toThrow(InvalidInputError);
    }
  });

  it("a name: 1–256 UTF-8 bytes, no control characters", () => {
    for (const name of ["", "a\u0000", "é".repeat(129)]) expect(() => validateCounterName(name)).toThrow(InvalidInputError);
  });
});

describe("a hit", () => {
  it("sends every granularity's hash, by, then each step and size", () => {
    expect(buildHit(3, (g) => `k:${g}`)).toEqual({
      keys: ["k:second", "k:minute", "k:hour"],
      args: ["3", "1000", "300", "60000", "1440", "3600000", "168"],
    });
  });

  it("reads the new counts, and refuses a reply of the wrong shape", () => {
    expect(parseHit([1, 5, 9])).toEqual({ second: 1, minute: 5, hour: 9 });
    expect(() => parseHit([1, 5])).toThrow(/unexpected reply/);
  });
});

describe("a series", () => {
  it("sends the hash, the step and how many buckets", () => {
    expect(buildSeries("k", "hour", 24)).toEqual({ keys: ["k"], args: ["3600000", "24"] });
  });

  it("dates the buckets back from the current one, oldest first, and sums them", () => {
    expect(parseSeries([120_000, 0, 4, 1], "minute", 3)).toEqual({
      granularity: "minute",
      buckets: [
        { start: 0, count: 0 },
        { start: 60_000, count: 4 },
        { start: 120_000, count: 1 },
      ],
      total: 5,
    });
    expect(() => parseSeries([120_000, 0], "minute", 3)).toThrow(/unexpected reply/);
  });
});

describe("the scripts", () => {
  it("use Upstash's per-key locking and read their arguments by name", () => {
    for (const script of [HIT, SERIES]) {
      expect(script.source.startsWith("#!lua flags=allow-key-locking\n")).toBe(true);
      const body = script.source.split("\n").filter((line) => !/^local (KEY|ARG|KEY_REST|ARG_REST) = /.test(line));
      expect(body.join("\n")).not.toMatch(/\bKEYS\[|\bARGV\[/);
    }
  });
});
