import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors";
import { fixedWindow, MAX_FULL_REFILL_MS, slidingWindow, tokenBucket } from "../../shared/ratelimit/algorithms";
import { BlockCache } from "../../shared/ratelimit/block-cache";
import {
  buildCheck,
  cachedBlock,
  failureResult,
  parseCheck,
  summarize,
  targetsOf,
  validateCost,
  validatePolicies,
} from "../../shared/ratelimit/codec";
import { rateKeys } from "../../shared/ratelimit/keys";
import { CHECK } from "../../shared/ratelimit/scripts";
import { MAX_WINDOW_MS, type Policy, type PolicyResult } from "../../shared/ratelimit/types";

/** The rate limiter's pure parts: algorithms, keys, the check's arguments and reply, the block cache. */

const fw = (limit: number, name = "fw"): Policy => ({ name, algorithm: fixedWindow({ limit, windowMs: 60_000 }) });
const tb = (capacity: number, name = "tb"): Policy => ({ name, algorithm: tokenBucket({ capacity, refill: 1, intervalMs: 1000 }) });
const sw = (limit: number, name = "sw"): Policy => ({ name, algorithm: slidingWindow({ limit, windowMs: 60_000 }) });

describe("algorithms", () => {
  it("carry their code (the state key's kind), limit, header window and parameters", () => {
    expect(fixedWindow({ limit: 5, windowMs: 1500 })).toEqual({
      kind: "fixed-window",
      code: "fwc",
      limit: 5,
      windowSeconds: 2,
      refunds: false,
      params: [5, 1500, 10_000],
    });
    expect(slidingWindow({ limit: 5, windowMs: 60_000 })).toMatchObject({ code: "sw", windowSeconds: 60, params: [5, 60_000, 0] });
    // A bucket's window is its full refill: ceil(10 / 3) × 2 s.
    expect(tokenBucket({ capacity: 10, refill: 3, intervalMs: 2000 })).toMatchObject({
      code: "tb",
      limit: 10,
      windowSeconds: 8,
      refunds: true,
      params: [10, 3, 2000],
    });
  });

  it("refuse options outside their bounds with a RangeError", () => {
    for (const bad of [0, -1, 1.5, 1e9 + 1, Number.NaN]) {
      expect(() => fixedWindow({ limit: bad, windowMs: 1000 }), String(bad)).toThrow(RangeError);
    }
    expect(() => slidingWindow({ limit: 1, windowMs: MAX_WINDOW_MS + 1 })).toThrow(RangeError);
    expect(() => tokenBucket({ capacity: 1e9, refill: 1, intervalMs: MAX_WINDOW_MS })).toThrow(/1e15/);
    expect(tokenBucket({ capacity: 1e9, refill: 1, intervalMs: MAX_FULL_REFILL_MS / 1e9 }).limit).toBe(1e9);
  });
});

describe("keys", () => {
  it("are <prefix>:<namespace>:<code>:<policy>:<id>, default prefix erf and namespace rate", () => {
    expect(rateKeys().state(fixedWindow({ limit: 1, windowMs: 1000 }), "login", "user:42")).toBe("erf:rate:fwc:login:user:42");
    expect(rateKeys("app", "rate-mw").state(tokenBucket({ capacity: 1, refill: 1, intervalMs: 1 }), "api", "token:ab")).toBe(
      "app:rate-mw:tb:api:token:ab",
    );
  });
});

describe("validation (before any request)", () => {
  it("policies: 1 to 10, valid distinct names", () => {
    expect(() => validatePolicies([])).toThrow(RangeError);
    expect(() => validatePolicies(Array.from({ length: 11 }, (_, i) => fw(1, `p${i}`)))).toThrow(RangeError);
    expect(() => validatePolicies([fw(1, "a b")])).toThrow(/invalid policy name/);
    expect(() => validatePolicies([fw(1, "a"), tb(1, "a")])).toThrow(/duplicate/);
    expect(validatePolicies([fw(1), tb(1)])).toHaveLength(2);
  });

  it("cost: a non-zero integer within every limit; negative only when every policy takes refunds", () => {
    const refused = (cost: number, policies: Policy[]) => {
      expect(() => validateCost(cost, policies), String(cost)).toThrow(InvalidInputError);
    };
    for (const cost of [0, 1.5, Number.NaN, 1e9 + 1, 6]) refused(cost, [fw(5)]);
    refused(-1, [fw(5)]);
    refused(-1, [tb(5), sw(5)]);
    refused(4, [tb(5), fw(3)]); // over the tighter limit
    expect(validateCost(-3, [tb(5), tb(9, "b")])).toBe(-3);
    expect(validateCost(5, [fw(5)])).toBe(5);
  });

  it("ids: one for every policy, or one per policy name; each a valid name", () => {
    const policies = [fw(1, "a"), fw(1, "b")];
    const keyOf = (p: Policy, id: string) => `${p.name}/${id}`;
    expect(targetsOf(policies, "x", keyOf).map((t) => t.key)).toEqual(["a/x", "b/x"]);
    expect(targetsOf(policies, { a: "1", b: "2" }, keyOf).map((t) => t.key)).toEqual(["a/1", "b/2"]);
    expect(() => targetsOf(policies, { a: "1" }, keyOf)).toThrow(/policy "b"/);
    for (const id of ["", "a\nb", "x".repeat(257)]) expect(() => targetsOf(policies, id, keyOf)).toThrow(InvalidInputError);
  });
});

describe("the check script's call", () => {
  it("passes every state key in KEYS, then mode, cost and six arguments per policy (the last two: no lease)", () => {
    const targets = [fw(5), tb(7)].map((policy, i) => ({ policy, key: `k${i}` }));
    expect(buildCheck("limit", 2, targets)).toEqual({
      keys: ["k0", "k1"],
      args: ["limit", "2", "fwc", "5", "60000", "10000", "0", "0", "tb", "7", "1", "1000", "0", "0"],
    });
    expect(buildCheck("peek", 0, targets).args.slice(0, 2)).toEqual(["peek", "0"]);
  });

  it("is one script with Upstash's per-key locking, reading its arguments by name", () => {
    expect(CHECK.source.startsWith("#!lua flags=allow-key-locking\n")).toBe(true);
    const body = CHECK.source.split("\n").filter((line) => !/^local (KEY|ARG|KEY_REST|ARG_REST) = /.test(line));
    expect(body.join("\n")).not.toMatch(/\bKEYS\[|\bARGV\[/);
  });
});

describe("the check script's reply", () => {
  const targets = [fw(5, "a"), tb(9, "b")].map((policy) => ({ policy, id: "u" }));

  it("parses into one result per policy, and the block time of each", () => {
    const { results, blockMs } = parseCheck([0, 1, 4, 100, 0, 0, 0, 0, 0, 0, 3000, 1000, 1000, 0, 0], targets);
    expect(results).toEqual([
      { policy: "a", id: "u", allowed: true, limit: 5, remaining: 4, resetMs: 100, retryAfterMs: 0 },
      { policy: "b", id: "u", allowed: false, limit: 9, remaining: 0, resetMs: 3000, retryAfterMs: 1000 },
    ]);
    expect(blockMs).toEqual([0, 1000]);
  });

  it("refuses a reply of the wrong shape (a bug, not an outcome)", () => {
    expect(() => parseCheck([1, 1, 4, 100, 0], targets)).toThrow(/unexpected reply/);
    expect(() => parseCheck("OK", targets)).toThrow(/unexpected reply/);
  });

  it("summarizes by the denying policy that frees up last, else the one with the fewest units left", () => {
    const result = (policy: string, allowed: boolean, remaining: number, retryAfterMs: number): PolicyResult => ({
      policy,
      id: "u",
      allowed,
      limit: 10,
      remaining,
      resetMs: retryAfterMs + 1,
      retryAfterMs,
    });
    const denied = summarize([result("a", false, 0, 500), result("b", false, 1, 900), result("c", true, 0, 0)]);
    expect(denied).toMatchObject({ allowed: false, retryAfterMs: 900, remaining: 1 });
    const allowed = summarize([result("a", true, 7, 0), result("b", true, 2, 0)]);
    expect(allowed).toMatchObject({ allowed: true, remaining: 2 });
    expect(allowed.policies).toHaveLength(2);
  });

  it("a failure result allows only when every policy fails open; a cached block names its policy", () => {
    expect(failureResult([fw(5)])).toMatchObject({ allowed: true, reason: "redis-unavailable", limit: 5, policies: [] });
    const closed = { ...tb(3), failure: "closed" as const };
    expect(failureResult([fw(5), closed])).toMatchObject({ allowed: false, limit: 3 });
    expect(cachedBlock({ policy: fw(5), id: "u" }, 1200)).toMatchObject({
      allowed: false,
      reason: "cached-block",
      retryAfterMs: 1200,
      policies: [{ policy: "fw", remaining: 0, retryAfterMs: 1200 }],
    });
  });
});

describe("the block cache", () => {
  it("is bounded, dropping the least recently written entries first", () => {
    const cache = new BlockCache(3);
    for (const key of ["a", "b", "c", "d"]) cache.block(key, 10_000, 0);
    expect(cache.size).toBe(3);
    expect(cache.blockedFor("a", 1)).toBe(0);
    expect(cache.blockedFor("d", 1)).toBe(9_999);
  });

  it("expires entries on the local clock, and says nothing while that clock has not moved", () => {
    const cache = new BlockCache();
    cache.block("k", 1_000, 100);
    expect(cache.blockedFor("k", 100)).toBe(0); // a clock that has not moved cannot tell
    expect(cache.blockedFor("k", 400)).toBe(600);
    expect(cache.blockedFor("k", 1_000)).toBe(0);
    expect(cache.blockedFor("k", 500)).toBe(0); // expired entries are dropped
  });
});
