/**
 * The bench's load driver: at most `concurrency` calls of `op` in flight, each call's latency
 * measured. `runLoad` is bounded by a count of operations (the bench's scenarios); `runFor` by
 * a deadline (the soak). Either way the load stops by itself.
 */
export interface LoadResult {
  operations: number;
  durationMs: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs `operations` calls of `op`, `concurrency` at a time. */
export function runLoad(
  concurrency: number,
  operations: number,
  op: (i: number) => Promise<void>,
): Promise<LoadResult> {
  let next = 0;
  return drive(Math.min(concurrency, operations), () => (next < operations ? next++ : undefined), op);
}

/**
 * Keeps `concurrency` callers busy with `op` until `durationMs` has passed; a call in flight
 * at the deadline finishes and is counted.
 */
export function runFor(
  concurrency: number,
  durationMs: number,
  op: (i: number) => Promise<void>,
): Promise<LoadResult> {
  const deadline = performance.now() + durationMs;
  let next = 0;
  return drive(concurrency, () => (performance.now() < deadline ? next++ : undefined), op);
}

/** `callers` loops, each taking the next index from `take` until it says stop. */
async function drive(
  callers: number,
  take: () => number | undefined,
  op: (i: number) => Promise<void>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  async function caller() {
    for (let i = take(); i !== undefined; i = take()) {
      const t0 = performance.now();
      await op(i);
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: callers }, caller));
  const durationMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    operations: latencies.length,
    durationMs,
    requestsPerSecond: (latencies.length / durationMs) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

/** The `q` quantile (0–1) of ascending `sorted` values, nearest rank; 0 when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
