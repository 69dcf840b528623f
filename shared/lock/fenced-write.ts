import { InvalidInputError } from "../errors";
import { DEFAULT_PREFIX, validateName } from "../keys";
import { assertRawReplies, type ScriptClient } from "../redis/client";
import { type FencedWriteResult, fencedReadRequest, fencedWriteRequest, parseFencedReadReply, parseFencedWriteReply } from "./codec";
import { fencedRecordKey } from "./keys";

/** The commands {@link FencedStore} sends: scripts only. */
export type FencedStoreClient = ScriptClient;

/**
 * Fenced records: the storage side of fencing tokens. A holder that paused past its lease
 * (a GC pause, a slow request) still carries its old fence; the newer holder's write raised the
 * record's fence, so the late write is refused instead of overwriting newer data.
 *
 * The fence lives in the record itself (one hash `{fence, value}`): if Upstash evicts the
 * record, value and fence go together, and nothing is left that a stale write could overwrite
 * out of order.
 *
 * @example
 * const store = new FencedStore(redis);
 * const lease = await locks.acquire("report");
 * if (lease.acquired) await store.write("report", lease.fence, JSON.stringify(report));
 */
export class FencedStore {
  readonly #redis: FencedStoreClient;
  readonly #prefix: string;

  /**
   * @param options.prefix key prefix (default `DEFAULT_PREFIX`, "erf")
   * @throws TypeError when `redis` parses replies as JSON (see `assertRawReplies`)
   */
  constructor(redis: FencedStoreClient, options: { prefix?: string } = {}) {
    assertRawReplies(redis);
    this.#redis = redis;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
  }

  /**
   * Stores `value` under `resource` if `fence` ≥ the highest fence the record has seen. One
   * request; safe to resend (the same fence is accepted again).
   * @param options.ttlMs lifetime of the record in ms, set by this write (default: unchanged)
   */
  async write(resource: string, fence: number, value: string, options: { ttlMs?: number } = {}): Promise<FencedWriteResult> {
    validateName(resource, "resource");
    if (!Number.isSafeInteger(fence) || fence < 0) throw new InvalidInputError("fence must be a non-negative integer", "fence");
    const ttlMs = options.ttlMs ?? 0;
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) throw new InvalidInputError("ttlMs must be a non-negative integer", "ttlMs");
    const { script, call } = fencedWriteRequest(fencedRecordKey(this.#prefix, resource), { fence, value, ttlMs });
    return parseFencedWriteReply(await script.run(this.#redis, call));
  }

  /** The record's value and the fence of the write that stored it, or null. */
  async read(resource: string): Promise<{ value: string; fence: number } | null> {
    validateName(resource, "resource");
    const { script, call } = fencedReadRequest(fencedRecordKey(this.#prefix, resource));
    return parseFencedReadReply(await script.run(this.#redis, call));
  }
}
