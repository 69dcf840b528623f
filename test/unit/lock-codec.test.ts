import { describe, expect, it } from "vitest";
import { lockKeys, releasedKey } from "../../shared/lock/keys";
import {
  acquireRequest,
  extendRequest,
  parseAcquireReply,
  parseExtendReply,
  parseFencedReadReply,
  parseFencedWriteReply,
  parseReleaseReply,
  parseStatusReply,
  releaseRequest,
  statusRequest,
} from "../../shared/lock/codec";

const TOKEN = "0123456789abcdef0123456789abcdef";
const keys = lockKeys("erf", "orders:42");

describe("lock keys", () => {
  it("are <prefix>:lock:<kind>:<name>, the name kept whole as the last part", () => {
    expect(keys).toEqual({ lease: "erf:lock:lease:orders:42", holders: "erf:lock:holders:orders:42", fence: "erf:lock:fence:orders:42" });
  });

  it("percent-encode the name when the token follows it", () => {
    expect(releasedKey("p", "a:b", TOKEN)).toBe(`p:lock:released:a%3Ab:${TOKEN}`);
  });
});

describe("request builders", () => {
  it("acquire: the exclusive script for limit 1, with only token and lease", () => {
    const { script, call } = acquireRequest(keys, { token: TOKEN, ttlMs: 5000, limit: 1, fenceRetentionMs: 86_400_000 });
    expect(script.name).toBe("lock-acquire");
    expect(call).toEqual({ keys: [keys.lease, keys.holders, keys.fence], args: [TOKEN, "5000"] });
  });

  it("acquire: the semaphore script above limit 1, with the limit and the fence retention", () => {
    const { script, call } = acquireRequest(keys, { token: TOKEN, ttlMs: 5000, limit: 3, fenceRetentionMs: 1000 });
    expect(script.name).toBe("lock-acquire-shared");
    expect(call).toEqual({ keys: [keys.lease, keys.holders, keys.fence], args: [TOKEN, "5000", "3", "1000"] });
  });

  it("release: the fence hint when the isolate has one, an empty one when not", () => {
    const all = { ...keys, released: releasedKey("erf", "orders:42", TOKEN) };
    const hinted = releaseRequest(all, { token: TOKEN, hint: { fence: 1767225600123456, prev: "" }, fenceRetentionMs: 86_400_000, releaseMemoryMs: 60_000 });
    expect(hinted.call).toEqual({ keys: [keys.lease, keys.holders, keys.fence, all.released], args: [TOKEN, "1767225600123456", "86400000", "60000"] });
    const unhinted = releaseRequest(all, { token: TOKEN, hint: undefined, fenceRetentionMs: 1, releaseMemoryMs: 2 });
    expect(unhinted.call.args).toEqual([TOKEN, "", "1", "2"]);
  });

  it("extend: fence and carried token from the hint, both empty without one", () => {
    const prev = "fedcba9876543210fedcba9876543210";
    const hinted = extendRequest(keys, { token: TOKEN, ttlMs: 1500, hint: { fence: 9_000_000_000_000_001, prev }, fenceRetentionMs: 10 });
    expect(hinted.call).toEqual({ keys: [keys.lease, keys.holders], args: [TOKEN, "1500", "9000000000000001", prev, "10"] });
    expect(extendRequest(keys, { token: TOKEN, ttlMs: 1500, hint: undefined, fenceRetentionMs: 10 }).call.args).toEqual([TOKEN, "1500", "", "", "10"]);
  });

  it("status: the lease and holders keys, no arguments", () => {
    expect(statusRequest(keys).call).toEqual({ keys: [keys.lease, keys.holders], args: [] });
  });
});

describe("reply parsers", () => {
  it("acquire: a grant becomes the lease plus the hint to remember; busy never has a negative wait", () => {
    expect(parseAcquireReply([1, 1767225600123456, 1767225610123, "ab".repeat(16)], "n", TOKEN)).toEqual({
      acquired: true,
      lease: { name: "n", token: TOKEN, fence: 1767225600123456, expiresAt: 1767225610123 },
      hint: { fence: 1767225600123456, prev: "ab".repeat(16) },
    });
    // A semaphore grant carries no released token.
    expect(parseAcquireReply([1, 7, 8], "n", TOKEN)).toMatchObject({ acquired: true, hint: { fence: 7, prev: "" } });
    expect(parseAcquireReply([0, 4200], "n", TOKEN)).toEqual({ acquired: false, retryAfterMs: 4200 });
    expect(parseAcquireReply([0, -1], "n", TOKEN)).toEqual({ acquired: false, retryAfterMs: 0 });
  });

  it("release: 1 released, 0 held by another, -1 not held", () => {
    expect(parseReleaseReply(1)).toEqual({ released: true });
    expect(parseReleaseReply(0)).toEqual({ released: false, reason: "held-by-another" });
    expect(parseReleaseReply(-1)).toEqual({ released: false, reason: "not-held" });
  });

  it("extend: the new end, or why not", () => {
    expect(parseExtendReply([1, 1767225620123])).toEqual({ extended: true, expiresAt: 1767225620123 });
    expect(parseExtendReply([0])).toEqual({ extended: false, reason: "held-by-another" });
    expect(parseExtendReply([-1])).toEqual({ extended: false, reason: "not-held" });
  });

  it("status: free, or holders with end and fence", () => {
    expect(parseStatusReply([0])).toEqual({ locked: false });
    expect(parseStatusReply([3, 1767225610123, 1767225600123456])).toEqual({ locked: true, holders: 3, expiresAt: 1767225610123, fence: 1767225600123456 });
  });

  it("fenced records: applied or the highest fence seen; a missing record is null", () => {
    expect(parseFencedWriteReply([1, 9])).toEqual({ applied: true, fence: 9 });
    expect(parseFencedWriteReply([0, 12])).toEqual({ applied: false, highestFence: 12 });
    expect(parseFencedReadReply(["1767225600123457", "v"])).toEqual({ value: "v", fence: 1767225600123457 });
    expect(parseFencedReadReply([null, null])).toBeNull();
  });
});
