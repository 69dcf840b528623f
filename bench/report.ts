import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadResult } from "./load";

/** One measured row: a scenario, and the baseline route measured beside it in the same run. */
export interface BenchRow extends LoadResult {
  group: string;
  name: string;
  comparesWith?: string;
  concurrency: number;
  /** REST requests of one call right after Redis forgot every script (NOSCRIPT, then EVAL). */
  firstCallRestRequests: number;
  /** Commands Redis executed for that first call. */
  firstCallRedisCommands: number;
  restRequestsPerOp: number;
  /** Commands named in REST requests (an EVALSHA counts once). */
  restCommandsPerOp: number;
  /** Commands Redis executed, including each redis.call inside scripts. */
  redisCommandsPerOp: number;
  /** requests/s of this scenario ÷ requests/s of the baseline route. */
  throughputVsBaseline: number;
  /** p50 of this scenario ÷ p50 of the baseline route. */
  p50VsBaseline: number;
}

export interface BenchReport {
  startedAt: string;
  node: string;
  baseline: BenchRow;
  rows: BenchRow[];
}

const fixed = (n: number, digits = 1) => n.toFixed(digits);

/** The Markdown table printed to the console and written to bench/results/. */
export function toMarkdown(report: BenchReport): string {
  const header =
    "| group | scenario | conc. | req/s | p50 ms | p99 ms | REST req/op | REST cmd/op | Redis cmd/op | req/s vs baseline | p50 vs baseline |\n" +
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|";
  const line = (r: BenchRow) =>
    `| ${r.group} | ${r.name}${r.comparesWith ? ` (vs ${r.comparesWith})` : ""} | ${r.concurrency} | ${fixed(r.requestsPerSecond)} | ${fixed(r.p50Ms)} | ${fixed(r.p99Ms)} | ${fixed(r.restRequestsPerOp, 2)} | ${fixed(r.restCommandsPerOp, 2)} | ${fixed(r.redisCommandsPerOp, 2)} | ${fixed(r.throughputVsBaseline, 2)} | ${fixed(r.p50VsBaseline, 2)} |`;
  return [
    `Benchmark run ${report.startedAt} (Node ${report.node}); baseline = GET /__bench/baseline, one raw fetch to the REST endpoint. REST cmd/op counts commands as sent (an EVALSHA is one); Redis cmd/op counts what Redis executed, including each call inside a script (what Upstash bills).`,
    "",
    header,
    line(report.baseline),
    ...report.rows.map(line),
    "",
  ].join("\n");
}

/** Writes `<stamp>.json` and `<stamp>.md`, and `latest.json` / `latest.md`, under `dir`. */
export function writeReport(dir: string, report: BenchReport): string {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, "-");
  const markdown = toMarkdown(report);
  for (const name of [stamp, "latest"]) {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(report, null, 2));
    writeFileSync(join(dir, `${name}.md`), markdown);
  }
  return markdown;
}
