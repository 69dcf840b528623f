/** What `npm run bench:memory` measured for one route. */
export interface RouteResult {
  route: string;
  warmKiB: number | null;
  endKiB: number | null;
  /** Growth of workerd's resident size per request, each step, in KB (1000 bytes). */
  stepsKBPerRequest: number[];
  /** The Worker's JS heap after a garbage collection: after the warm-up, then after each step, in bytes. */
  heapAfterGc: number[];
  unexpected: number;
}

/** The run's shape, as the report states it. */
export interface RunShape {
  warmup: number;
  steps: number;
  requests: number;
  clients: number;
}

/** Two tables: workerd's resident growth per request, and the Worker's JS heap after GC. */
export function toMarkdown(results: RouteResult[], o: RunShape): string {
  const mib = (k: number | null) => (k === null ? "n/a" : (k / 1024).toFixed(1));
  const stepHeads = Array.from({ length: o.steps }, (_, i) => `step ${i + 1}`);
  const lines = [
    `# workerd memory per request, bare Miniflare`,
    ``,
    `${o.clients} clients; warm-up ${o.warmup} requests, then ${o.steps} steps of ${o.requests} requests each.`,
    ``,
    `Growth of workerd's resident size per request, per step (KB):`,
    ``,
    `| route | after warm-up (MiB) | ${stepHeads.join(" | ")} | end (MiB) | unexpected answers |`,
    `|---|---:|${stepHeads.map(() => "---:").join("|")}|---:|---:|`,
    ...results.map((r) => `| ${r.route} | ${mib(r.warmKiB)} | ${r.stepsKBPerRequest.map((k) => k.toFixed(1)).join(" | ")} | ${mib(r.endKiB)} | ${r.unexpected} |`),
    ``,
    `The Worker's JS heap after a garbage collection (KiB), and its growth per request from the warm-up to the last step (bytes): what the Worker keeps.`,
    ``,
    `| route | after warm-up | ${stepHeads.join(" | ")} | per request (B) |`,
    `|---|---:|${stepHeads.map(() => "---:").join("|")}|---:|`,
    ...results.map((r) => {
      const perRequest = (r.heapAfterGc.at(-1)! - r.heapAfterGc[0]!) / (o.steps * o.requests);
      return `| ${r.route} | ${r.heapAfterGc.map((b) => (b / 1024).toFixed(0)).join(" | ")} | ${perRequest.toFixed(1)} |`;
    }),
  ];
  return lines.join("\n") + "\n";
}
