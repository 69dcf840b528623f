/**
 * `npm run soak`, bounded: the whole soak (the stack, the mixed load over every feature, the
 * invariants) for a few seconds with a few clients, so that it cannot rot between the runs
 * someone makes by hand. Its figures are not asserted; that every operation ran, answered as
 * expected, and every invariant held, is.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, expect, it } from "vitest";
import { OPERATIONS } from "../../bench/soak/mix";
import type { SoakReport } from "../../bench/soak/report";
import { killStarted, runScript } from "./processes";

const outDir = mkdtempSync(join(tmpdir(), "soak-test-"));
afterEach(killStarted);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

// wrangler dev, as `npm start` runs the Worker; Miniflare alone, as the deploy bundle.
it.each(["wrangler-dev", "miniflare"])("under %s, runs every operation of every feature, and every invariant holds", async (runtime) => {
  const out = join(outDir, runtime);
  const soak = runScript("bench/soak.ts", { SOAK_SECONDS: "5", SOAK_CLIENTS: "6", SOAK_OUT: out, SOAK_RUNTIME: runtime });
  const code = await soak.exited;
  expect(code, soak.stderr()).toBe(0);

  const report = JSON.parse(readFileSync(join(out, "soak.json"), "utf8")) as SoakReport;
  expect(report).toMatchObject({ seconds: 5, clients: 6, runtime, ok: true });
  expect(report.invariants.map((i) => i.name)).toEqual([
    "leaderboard sums equal the acknowledged submits",
    "counters equal the acknowledged increments",
    "lock exclusion never broke",
    "semaphores never had more than 3 holders",
    "the rate limiter never over-admitted: fixed window",
    "the rate limiter never over-admitted: sliding window",
    "the rate limiter never over-admitted: token bucket",
    "L1 reads always answered, never staler than max-stale",
    "proxy reads always answered with their own path's body",
    "scheduled invalidations applied once, on time, none lost",
    "event streams received every invalidation made while connected, no malformed frame",
  ]);
  for (const invariant of report.invariants) expect(invariant, invariant.detail).toMatchObject({ ok: true });

  expect(report.rows.map((r) => r.operation).sort()).toEqual([...OPERATIONS].sort());
  for (const row of report.rows) {
    expect(row.count, row.operation).toBeGreaterThan(0);
    expect(row.errors, row.operation).toEqual({});
    expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms);
  }

  // Memory comes from /proc where there is one; Redis reports its own anywhere.
  for (const sample of [report.memory.start, report.memory.end]) {
    expect(sample.redisUsedKiB).toBeGreaterThan(0);
    if (process.platform === "linux") {
      expect(sample.workerKiB).toBeGreaterThan(0);
      expect(sample.endpointKiB).toBeGreaterThan(0);
    }
  }
  expect(readFileSync(join(out, "soak.md"), "utf8")).toContain("Every invariant held.");
}, 180_000);
