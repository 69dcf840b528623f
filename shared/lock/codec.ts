import type { ScriptClient } from "../redis/client";
import type { ScriptCall } from "../script";
import type { LeaseHint } from "./isolate";
import type { LockKeys } from "./keys";
import { ACQUIRE, ACQUIRE_SHARED, EXTEND, FENCED_GET, FENCED_SET, RELEASE, STATUS } from "./scripts";
import type { ExtendResult, Lease, LockStatus, ReleaseResult } from "./types";

/**
 * The lock feature's pure half: the KEYS and ARGV of every script call, built from named
 * values, and every reply parsed into a typed result. Nothing here sends a request; the unit
 * tests check it without Redis.
 */

/** A script and the KEYS/ARGV of one call of it. */
export interface Request<R> {
  script: { name: string; run(redis: ScriptClient, call: ScriptCall): Promise<R> };
  call: ScriptCall;
}

/** An acquire's reply, parsed: the lease and the hint to remember, or when to retry. */
export type AcquireOutcome = { acquired: true; lease: Lease; hint: LeaseHint } | { acquired: false; retryAfterMs: number };

type AcquireReply = [number, number, number?, string?];

/** The acquire of `token`: the exclusive script for `limit` 1, the semaphore's above. */
export function acquireRequest(
  keys: LockKeys,
  args: { token: string; ttlMs: number; limit: number; fenceRetentionMs: number },
): Request<AcquireReply> {
  if (args.limit === 1) return { script: ACQUIRE, call: ACQUIRE.call(keys, { token: args.token, ttlMs: args.ttlMs }) };
  return {
    script: ACQUIRE_SHARED,
    call: ACQUIRE_SHARED.call(keys, { token: args.token, ttlMs: args.ttlMs, limit: args.limit, retentionMs: args.fenceRetentionMs }),
  };
}

/** `{1, fence, expiresAt, prev?}` granted; `{0, retryAfterMs}` busy (never negative). */
export function parseAcquireReply(reply: AcquireReply, name: string, token: string): AcquireOutcome {
  const [granted, a, b, prev] = reply;
  if (granted === 1) {
    const fence = Number(a);
    return { acquired: true, lease: { name, token, fence, expiresAt: Number(b) }, hint: { fence, prev: prev ?? "" } };
  }
  return { acquired: false, retryAfterMs: Math.max(0, Number(a)) };
}

/** The release of `token`, with this isolate's hint about its lease, if any. */
export function releaseRequest(
  keys: LockKeys & { released: string },
  args: { token: string; hint: LeaseHint | undefined; fenceRetentionMs: number; releaseMemoryMs: number },
): Request<number> {
  return {
    script: RELEASE,
    call: RELEASE.call(keys, {
      token: args.token,
      fence: args.hint === undefined ? "" : args.hint.fence,
      retentionMs: args.fenceRetentionMs,
      releaseMemoryMs: args.releaseMemoryMs,
    }),
  };
}

/** 1 released, 0 held by another, -1 not held. */
export function parseReleaseReply(reply: number): ReleaseResult {
  const outcome = Number(reply);
  if (outcome === 1) return { released: true };
  return { released: false, reason: outcome === 0 ? "held-by-another" : "not-held" };
}

/** The extend of `token` to `ttlMs` from now, with this isolate's hint about its lease, if any. */
export function extendRequest(
  keys: LockKeys,
  args: { token: string; ttlMs: number; hint: LeaseHint | undefined; fenceRetentionMs: number },
): Request<[number, number?]> {
  return {
    script: EXTEND,
    call: EXTEND.call(
      { lease: keys.lease, holders: keys.holders },
      {
        token: args.token,
        ttlMs: args.ttlMs,
        fence: args.hint === undefined ? "" : args.hint.fence,
        prev: args.hint?.prev ?? "",
        retentionMs: args.fenceRetentionMs,
      },
    ),
  };
}

/** `{1, expiresAt}` extended, `{0}` held by another, `{-1}` not held. */
export function parseExtendReply(reply: [number, number?]): ExtendResult {
  const [outcome, expiresAt] = reply;
  if (outcome === 1) return { extended: true, expiresAt: Number(expiresAt) };
  return { extended: false, reason: outcome === 0 ? "held-by-another" : "not-held" };
}

/** The status read of a name. */
export function statusRequest(keys: LockKeys): Request<[number, number?, number?]> {
  return { script: STATUS, call: STATUS.call({ lease: keys.lease, holders: keys.holders }, {}) };
}

/** `{0}` free; `{holders, expiresAt, fence}` held. */
export function parseStatusReply(reply: [number, number?, number?]): LockStatus {
  const [holders, expiresAt, fence] = reply;
  if (!holders) return { locked: false };
  return {
    locked: true,
    holders: Number(holders),
    expiresAt: Number(expiresAt),
    ...(fence !== undefined && fence !== null ? { fence: Number(fence) } : {}),
  };
}

/** Result of a fenced write. */
export type FencedWriteResult = { applied: true; fence: number } | { applied: false; highestFence: number };

/** The fenced write of `value` with `fence` to `record`; `ttlMs` 0 keeps the record's expiry. */
export function fencedWriteRequest(record: string, args: { fence: number; value: string; ttlMs: number }): Request<[number, number]> {
  return { script: FENCED_SET, call: FENCED_SET.call({ record }, args) };
}

/** `{1, fence}` applied; `{0, highestFence}` refused. */
export function parseFencedWriteReply(reply: [number, number]): FencedWriteResult {
  const [applied, seen] = reply;
  return applied === 1 ? { applied: true, fence: Number(seen) } : { applied: false, highestFence: Number(seen) };
}

/** The read of a fenced record. */
export function fencedReadRequest(record: string): Request<[string | null, string | null]> {
  return { script: FENCED_GET, call: FENCED_GET.call({ record }, {}) };
}

/** `{fence, value}`, or null when either is missing. */
export function parseFencedReadReply(reply: [string | null, string | null]): { value: string; fence: number } | null {
  const [fence, value] = reply;
  if (fence === null || fence === undefined || value === null || value === undefined) return null;
  return { value: String(value), fence: Number(fence) };
}
