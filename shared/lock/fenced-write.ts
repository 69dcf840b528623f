import { InvalidInputError } from "../errors";
import { keyspace, validateName } from "../keys";
import { LuaScript } from "../script";
import type { ScriptClient } from "../redis/client";

/**
 * Applies a write only if its fence is not lower than the highest fence the record has seen,
 * and remembers the new highest fence in the same hash as the value, atomically.
 *
 * KEYS[1] record: hash {fence, value}
 * ARGV[1] fence of the writer (a decimal integer)
 * ARGV[2] value
 * ARGV[3] ttl of the record in ms, "0" for none
 * Returns {1, fence} applied, or {0, highestFence} refused.
 */
export const FENCED_SET = new LuaScript<[number, number]>(
  "fenced-set",
  `
local seen = tonumber(redis.call("HGET", KEYS[1], "fence"))
if seen and tonumber(ARGV[1]) < seen then return {0, seen} end
redis.call("HSET", KEYS[1], "fence", ARGV[1], "value", ARGV[2])
if ARGV[3] ~= "0" then redis.call("PEXPIRE", KEYS[1], ARGV[3]) end
return {1, tonumber(ARGV[1])}
`,
);

/**
 * Reads a record in one request, as a script so that the reply is the raw array whichever way
 * the client deserialises.
 *
 * KEYS[1] record: hash {fence, value}
 * Returns {fence, value}, each nil when absent.
 */
export const FENCED_GET = new LuaScript<[string | null, string | null]>(
  "fenced-get",
  `return redis.call("HMGET", KEYS[1], "fence", "value")`,
);

/** The commands {@link FencedStore} sends: scripts only. */
export type FencedStoreClient = ScriptClient;

/** Result of {@link FencedStore.write}. */
export type FencedWriteResult = { applied: true; fence: number } | { applied: false; highestFence: number };

/**
 * Fenced records: the storage side of fencing tokens. A holder that paused past its lease
 * (a GC pause, a slow request) still carries its old fence; the newer holder's write raised the
 * record's fence, so the late write is refused instead of overwriting newer data.
 *
 * The fence lives in the record itself: if Upstash evicts the record, value and fence go
 * together, and nothing is left that a stale write could overwrite out of order.
 *
 * @example
 * const store = new FencedStore(redis, { prefix: "erf" });
 * const lease = await locks.acquire("report");
 * if (lease.acquired) await store.write("report", lease.fence, JSON.stringify(report));
 */
export class FencedStore {
  readonly #key: (kind: string, ...names: string[]) => string;

  constructor(
    private readonly redis: FencedStoreClient,
    options: { prefix?: string } = {},
  ) {
    this.#key = keyspace(options.prefix ?? "erf", "fenced");
  }

  /**
   * Stores `value` under `resource` if `fence` ≥ the highest fence the record has seen. One
   * request; safe to retry (the same fence is accepted again).
   * @param options.ttlMs lifetime of the record in ms (default: none)
   */
  async write(resource: string, fence: number, value: string, options: { ttlMs?: number } = {}): Promise<FencedWriteResult> {
    validateName(resource, "resource");
    if (!Number.isSafeInteger(fence) || fence < 0) throw new InvalidInputError("fence must be a non-negative integer", "fence");
    const ttlMs = options.ttlMs ?? 0;
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) throw new InvalidInputError("ttlMs must be a non-negative integer", "ttlMs");
    const [applied, seen] = await FENCED_SET.run(this.redis, [this.#key("record", resource)], [fence, value, ttlMs]);
    return applied === 1 ? { applied: true, fence: Number(seen) } : { applied: false, highestFence: Number(seen) };
  }

  /** The record's value and the fence of the write that stored it, or null. */
  async read(resource: string): Promise<{ value: string; fence: number } | null> {
    validateName(resource, "resource");
    const [fence, value] = await FENCED_GET.run(this.redis, [this.#key("record", resource)], []);
    if (fence === null || fence === undefined || value === null || value === undefined) return null;
    return { value: String(value), fence: Number(fence) };
  }
}
