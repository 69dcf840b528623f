import { env } from "cloudflare:test";
import type { Lease, Locks } from "../../shared/lock";

/** The lease of an acquire that must have succeeded; throws (failing the test) if it did not. */
export function granted(result: Awaited<ReturnType<Locks["acquire"]>>): Lease {
  if (!result.acquired) throw new Error(`expected a grant, got busy (retry after ${result.retryAfterMs} ms)`);
  return result;
}

/** Commands Redis has executed so far, by name, from `INFO commandstats` (not counting INFO). */
async function commandStats(): Promise<Map<string, number>> {
  const res = await fetch(env.UPSTASH_REDIS_REST_URL!, {
    method: "POST",
    headers: { Authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(["INFO", "commandstats"]),
  });
  const { result } = await res.json<{ result: string }>();
  const calls = new Map<string, number>();
  for (const match of result.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== "info") calls.set(match[1]!.toUpperCase(), Number(match[2]));
  }
  return calls;
}

/**
 * Runs `fn` and returns the commands Redis executed for it, as Upstash bills them: the EVALSHA
 * and every `redis.call` of its script. Test files run one at a time against a private Redis,
 * so nothing else adds to the count.
 */
export async function billed<T>(fn: () => Promise<T>): Promise<{ result: T; total: number; byCommand: Record<string, number> }> {
  const before = await commandStats();
  const result = await fn();
  const after = await commandStats();
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    if (delta > 0) {
      byCommand[name] = delta;
      total += delta;
    }
  }
  return { result, total, byCommand };
}
