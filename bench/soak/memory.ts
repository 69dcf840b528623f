import { readFileSync } from "node:fs";
import Redis from "ioredis";

/**
 * Memory of the processes under soak, read from Linux's /proc (resident set size, `VmRSS`).
 * Elsewhere there is no /proc and each figure is null: the report says "n/a" rather than guess.
 */
export interface MemorySample {
  /** workerd (the Worker under wrangler dev or Miniflare), KiB; the sum when wrangler runs several. */
  workerKiB: number | null;
  /** The local REST endpoint's process, KiB. */
  endpointKiB: number | null;
  /** redis-server's own count of the memory it allocated (`used_memory`), KiB. */
  redisUsedKiB: number | null;
}

/** The resident set size of `pid` in KiB, or null when it cannot be read. */
export function rssKiB(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Samples the three figures. */
export async function sampleMemory(opts: { workerPids: number[]; endpointPid: number | null; redis: Redis }): Promise<MemorySample> {
  const workerSizes = opts.workerPids.map(rssKiB).filter((n): n is number => n !== null);
  let redisUsedKiB: number | null = null;
  try {
    const match = /^used_memory:(\d+)/m.exec(await opts.redis.info("memory"));
    if (match) redisUsedKiB = Math.round(Number(match[1]) / 1024);
  } catch {
    // reported as n/a
  }
  return {
    workerKiB: workerSizes.length ? workerSizes.reduce((a, b) => a + b, 0) : null,
    endpointKiB: opts.endpointPid === null ? null : rssKiB(opts.endpointPid),
    redisUsedKiB,
  };
}
