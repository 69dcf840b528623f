import type { InvariantResult } from "./invariants";
import type { MemorySample } from "./memory";
import type { OperationRow } from "./recorder";
import type { WorkerRuntime } from "../stack";

export type TimedSample = MemorySample & { atMs: number };

/** Everything one soak run measured and checked; written as JSON beside its Markdown. */
export interface SoakReport {
  startedAt: string;
  node: string;
  /** The load's configured length and clients. */
  seconds: number;
  clients: number;
  /** What ran the Worker. */
  runtime: WorkerRuntime;
  /** How long the load really ran (calls in flight at the deadline finish). */
  durationMs: number;
  operations: number;
  perSecond: number;
  rows: OperationRow[];
  memory: {
    /** Before any load. */
    start: MemorySample;
    /** After `warmUpMs` of load. */
    warm: MemorySample;
    warmUpMs: number;
    peak: MemorySample;
    /** When the load has stopped. */
    end: MemorySample;
    /** Every sample, by ms since the load started. */
    timeline: TimedSample[];
  };
  invariants: InvariantResult[];
  /** Every invariant held. */
  ok: boolean;
}

const mib = (kib: number | null) => (kib === null ? "n/a" : `${(kib / 1024).toFixed(1)} MiB`);
const errorsOf = (row: OperationRow) =>
  Object.entries(row.errors).map(([status, n]) => `${status}: ${n}`).join(", ") || "0";

/** The report as Markdown: the table per operation, memory, then the invariants. */
export function toMarkdown(report: SoakReport): string {
  const m = report.memory;
  const lines = [
    `## Soak: ${report.clients} clients for ${report.seconds} s under ${report.runtime} (${report.startedAt}, Node ${report.node})`,
    "",
    `${report.operations} HTTP calls in ${(report.durationMs / 1000).toFixed(1)} s: ${report.perSecond.toFixed(1)} calls/s.`,
    "",
    "| operation | calls | calls/s | p50 ms | p99 ms | errors by status |",
    "|---|---:|---:|---:|---:|---|",
    ...report.rows.map((r) => `| ${r.operation} | ${r.count} | ${r.perSecond.toFixed(1)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${errorsOf(r)} |`),
    "",
    `| memory | before load | after ${(report.memory.warmUpMs / 1000).toFixed(0)} s | peak | end |`,
    "|---|---:|---:|---:|---:|",
    ...(
      [
        ["Worker (workerd RSS)", "workerKiB"],
        ["local endpoint (RSS)", "endpointKiB"],
        ["Redis (used_memory)", "redisUsedKiB"],
      ] as const
    ).map(([label, field]) => `| ${label} | ${[m.start, m.warm, m.peak, m.end].map((s) => mib(s[field])).join(" | ")} |`),
    "",
    "| invariant | holds | detail |",
    "|---|---|---|",
    ...report.invariants.map((i) => `| ${i.name} | ${i.ok ? "yes" : "**NO**"} | ${i.detail} |`),
    "",
    report.ok ? "Every invariant held." : "**An invariant broke.**",
  ];
  return lines.join("\n") + "\n";
}
