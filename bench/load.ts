/**
 * Drives `operations` calls of `op` with at most `concurrency` in flight, and measures each
 * call's latency. Bounded in count: the load stops by itself.
 */
export interface LoadResult {
  operations: number;
  durationMs: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export async function runLoad(
  concurrency: number,
  operations: number,
  op: (i: number) => Promise<void>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < operations) {
      const i = next++;
      const t0 = performance.now();
      await op(i);
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, operations) }, worker));
  const durationMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    operations,
    durationMs,
    requestsPerSecond: (operations / durationMs) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
