/**
 * The soak's checks themselves: a checker that could not see a broken invariant would pass
 * every soak. These feed it broken histories and expect it to say so.
 */
import { describe, expect, it } from "vitest";
import { Ledger, overAdmissions } from "../../bench/soak/ledger";
import { parseSoakOptions } from "../../bench/soak/options";

describe("overAdmissions", () => {
  const windowMs = 10_000;

  it("counts admissions per identifier and window, whatever the latency in the estimate", () => {
    // Ends estimated a little late (the answer's travel time), all in the window ending at 20 s.
    const admissions = [19_990, 20_000, 20_300, 21_500].map((end) => ({ id: "a", windowEndMs: end }));
    expect(overAdmissions(admissions, windowMs, 4)).toEqual([]);
    expect(overAdmissions(admissions, windowMs, 3)).toEqual([{ id: "a", windowEndMs: 20_000, admitted: 4 }]);
  });

  it("keeps identifiers and windows apart", () => {
    const admissions = [
      { id: "a", windowEndMs: 10_000 },
      { id: "a", windowEndMs: 20_000 },
      { id: "b", windowEndMs: 20_000 },
    ];
    expect(overAdmissions(admissions, windowMs, 1)).toEqual([]);
  });
});

describe("Ledger", () => {
  it("sees a grant that arrives while another holder is inside", () => {
    const ledger = new Ledger();
    ledger.enter("l", "t1", 10);
    ledger.enter("l", "t2", 11);
    ledger.leave("l", "t1");
    expect(ledger.overlaps).toBeGreaterThan(0);
  });

  it("sees a fence that does not grow", () => {
    const ledger = new Ledger();
    ledger.enter("l", "t1", 10);
    ledger.leave("l", "t1");
    ledger.enter("l", "t2", 10);
    ledger.leave("l", "t2");
    expect(ledger).toMatchObject({ overlaps: 0, fenceRegressions: 1 });
  });

  it("accepts holders one after another with growing fences, per name", () => {
    const ledger = new Ledger();
    ledger.enter("a", "t1", 10);
    ledger.enter("b", "t2", 5);
    ledger.leave("a", "t1");
    ledger.enter("a", "t3", 11);
    ledger.leave("a", "t3");
    ledger.leave("b", "t2");
    expect(ledger).toMatchObject({ overlaps: 0, fenceRegressions: 0 });
  });

  it("keeps acknowledged and uncertain amounts apart", () => {
    const ledger = new Ledger();
    ledger.add(ledger.counters, "c", 3, "acked");
    ledger.add(ledger.counters, "c", 2, "uncertain");
    ledger.add(ledger.counters, "c", 1, "acked");
    expect(ledger.counters.get("c")).toEqual({ acked: 4, uncertain: 2 });
  });
});

describe("parseSoakOptions", () => {
  it("defaults to 60 s and 64 clients", () => {
    expect(parseSoakOptions([], {}, "/out")).toEqual({ seconds: 60, clients: 64, runtime: "wrangler-dev", outDir: "/out" });
  });

  it("takes flags over the environment", () => {
    const env = { SOAK_SECONDS: "300", SOAK_CLIENTS: "8", SOAK_OUT: "/env", SOAK_RUNTIME: "miniflare" };
    expect(parseSoakOptions([], env, "/out")).toEqual({ seconds: 300, clients: 8, runtime: "miniflare", outDir: "/env" });
    expect(parseSoakOptions(["--seconds", "5", "--clients=2", "--out", "/flag", "--runtime", "wrangler-dev"], env, "/out")).toEqual({
      seconds: 5,
      clients: 2,
      runtime: "wrangler-dev",
      outDir: "/flag",
    });
  });

  it("refuses what is not a positive whole number, naming the setting", () => {
    expect(() => parseSoakOptions([], { SOAK_SECONDS: "1.5" }, "/out")).toThrow(/SOAK_SECONDS.*'1.5'/);
    expect(() => parseSoakOptions(["--clients", "0"], {}, "/out")).toThrow(/--clients/);
    expect(() => parseSoakOptions(["--seconds", "abc"], {}, "/out")).toThrow(/--seconds/);
  });

  it("refuses a runtime it cannot start, naming the two it can", () => {
    expect(() => parseSoakOptions(["--runtime", "workerd"], {}, "/out")).toThrow(/--runtime.*wrangler-dev or miniflare.*'workerd'/);
  });
});
