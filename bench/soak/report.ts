import type { InvariantResult } from "./invariants";
import type { MemorySample } from "./memory";
import type { OperationRow } from "./recorder";

/** Everything one soak run measured and checked; written as JSON beside its Markdown. */
export interface SoakReport {
  startedAt: string;
  node: string;
  /** The load's configured length and clients. */
  seconds: number;
  clients: number;
  /** How long the load really ran (calls in flight at the deadline finish). */
  durationMs: number;
  operations: number;
  perSecond: number;
  rows: OperationRow[];
  memory: { start: MemorySample; peak: MemorySample; end: MemorySample };
  invariants: InvariantResult[];
  /** Every invariant held. */
  ok: boolean;
}

const mib = (kib: number | null) => (kib === null ? "n/a" : `${(kib / 1024).toFixed(1)} MiB`);
const errorsOf = (row: OperationRow) =>
  Object.entries(row.errors).map(([status, n]) => `${status}: ${n}`).join(", ") || "0";

/** The report as Markdown: the table per operation, memory, then the invariants. */
export function toMarkdown(report: SoakReport): string {
  const lines = [
    `## Soak: ${report.clients} clients for ${report.seconds} s (${report.startedAt}, Node ${report.node})`,
    "",
    `${report.operations} HTTP calls in ${(report.durationMs / 1000).toFixed(1)} s: ${report.perSecond.toFixed(1)} calls/s.`,
    "",
    "| operation | calls | calls/s | p50 ms | p99 ms | errors by status |",
    "|---|---:|---:|---:|---:|---|",
    ...report.rows.map((r) => `| ${r.operation} | ${r.count} | ${r.perSecond.toFixed(1)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${errorsOf(r)} |`),
    "",
    "| memory | start | peak | end |",
    "|---|---:|---:|---:|",
    ...(
      [
        ["Worker (workerd RSS)", "workerKiB"],
        ["local endpoint (RSS)", "endpointKiB"],
        ["Redis (used_memory)", "redisUsedKiB"],
      ] as const
    ).map(([label, field]) => `| ${label} | ${mib(report.memory.start[field])} | ${mib(report.memory.peak[field])} | ${mib(report.memory.end[field])} |`),
    "",
    "| invariant | holds | detail |",
    "|---|---|---|",
    ...report.invariants.map((i) => `| ${i.name} | ${i.ok ? "yes" : "**NO**"} | ${i.detail} |`),
    "",
    report.ok ? "Every invariant held." : "**An invariant broke.**",
  ];
  return lines.join("\n") + "\n";
}
