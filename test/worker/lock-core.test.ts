import { describe, expect, it } from "vitest";
import { keyspace } from "../../shared/keys";
import { Locks } from "../../shared/lock";
import { ACQUIRE_EXCLUSIVE, ACQUIRE_SHARED, EXTEND, RELEASE, STATUS } from "../../shared/lock/scripts";
import { FENCED_GET, FENCED_SET } from "../../shared/lock/fenced-write";
import { countRoundTrips, sleep, testRedis, uniqueName } from "./helpers";
import { granted } from "./lock-helpers";

const key = keyspace("erf", "lock");
describe("lock scripts", () => {
  it("are pinned by SHA1, so an edit is never silent", async () => {
    const shas = Object.fromEntries(
      await Promise.all([ACQUIRE_EXCLUSIVE, ACQUIRE_SHARED, RELEASE, EXTEND, STATUS, FENCED_SET, FENCED_GET].map(async (s) => [s.name, await s.sha1()])),
    );
    expect(shas).toMatchInlineSnapshot(`
      {
        "fenced-get": "f004f511407bfd623b53b62cc69d24147fb96371",
        "fenced-set": "57bc42b21b2d8804ba832d5a76183cf83e821bb3",
        "lock-acquire-exclusive": "0a2e25a3d42509e08f65f4af88d2ab0ad1794bf2",
        "lock-acquire-shared": "1be11fee8f489b4f1544461dd9dbbea13288fce5",
        "lock-extend": "fd416c94b94e238bfd38ca518c3bc913c80022e4",
        "lock-release": "02442d2f3707c1a9dbe86fed39277fd8bbd09792",
        "lock-status": "841bafaf0b2d842bb3c04a55cdc67e141279729d",
      }
    `);
  });
});

describe("acquire, release, extend, status", () => {
  it("grants a free name with a 128-bit token, a fence and a Redis-clock expiry", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("lock");
    const before = Date.now();
    const lease = granted(await locks.acquire(name, { ttlMs: 5000 }));
    expect(lease.name).toBe(name);
    expect(lease.token).toMatch(/^[0-9a-f]{32}$/);
    expect(Number.isSafeInteger(lease.fence)).toBe(true);
    // Same machine: Redis's clock and the test's agree to within a second.
    expect(lease.expiresAt).toBeGreaterThan(before + 4000);
    expect(lease.expiresAt).toBeLessThan(Date.now() + 6000);
    const status = await locks.status(name);
    expect(status).toEqual({ locked: true, holders: 1, expiresAt: lease.expiresAt, fence: lease.fence });
    expect(JSON.stringify(status)).not.toContain(lease.token);
  });

  it("refuses a held name, saying when to retry", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("lock");
    granted(await locks.acquire(name, { ttlMs: 5000 }));
    const second = await locks.acquire(name);
    expect(second.acquired).toBe(false);
    if (!second.acquired) {
      expect(second.retryAfterMs).toBeGreaterThan(4000);
      expect(second.retryAfterMs).toBeLessThanOrEqual(5000);
    }
  });

  it("release frees the name for the next holder; a second release says not held", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("lock");
    const lease = granted(await locks.acquire(name));
    expect(await locks.release(name, lease.token)).toEqual({ released: true });
    expect(await locks.status(name)).toEqual({ locked: false });
    const next = granted(await locks.acquire(name));
    expect(next.fence).toBeGreaterThan(lease.fence);
    expect(await locks.release(name, next.token)).toEqual({ released: true });
    expect(await locks.release(name, crypto.randomUUID().replaceAll("-", ""))).toEqual({ released: false, reason: "not-held" });
  });

  it("extend moves the end of the lease, with millisecond precision, from Redis's now", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("lock");
    const lease = granted(await locks.acquire(name, { ttlMs: 1000 }));
    const extended = await locks.extend(name, lease.token, 1500);
    expect(extended.extended).toBe(true);
    if (!extended.extended) return;
    expect(extended.expiresAt - lease.expiresAt).toBeGreaterThanOrEqual(500);
    expect(extended.expiresAt - lease.expiresAt).toBeLessThan(1000);
    const pttl = Number(await testRedis().pttl(key("lease", name)));
    expect(pttl).toBeGreaterThan(1000);
    expect(pttl).toBeLessThanOrEqual(1500);
    // A shorter lease is allowed too: extend sets the lease, it does not add to it.
    const shortened = await locks.extend(name, lease.token, 50);
    expect(shortened.extended).toBe(true);
    await sleep(120);
    expect(await locks.status(name)).toEqual({ locked: false });
  });

  it("each operation is one REST request", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("lock");
    // Warm-up: load every script once (EVALSHA, then EVAL on NOSCRIPT).
    const warm = granted(await locks.acquire(name));
    await locks.extend(name, warm.token, 1000);
    await locks.status(name);
    await locks.release(name, warm.token);

    const acquire = await countRoundTrips(() => locks.acquire(name));
    expect(acquire).toMatchObject({ requests: 1, byCommand: { EVALSHA: 1 } });
    const lease = granted(acquire.result);
    expect(await countRoundTrips(() => locks.acquire(name))).toMatchObject({ requests: 1 }); // busy, waitMs 0
    expect(await countRoundTrips(() => locks.extend(name, lease.token, 2000))).toMatchObject({ requests: 1, byCommand: { EVALSHA: 1 } });
    expect(await countRoundTrips(() => locks.status(name))).toMatchObject({ requests: 1, byCommand: { EVALSHA: 1 } });
    expect(await countRoundTrips(() => locks.release(name, lease.token))).toMatchObject({ requests: 1, byCommand: { EVALSHA: 1 } });
  });
});

describe("only the owner can release or extend", () => {
  it("a wrong token can neither release nor extend, and the holder keeps its lease", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("lock");
    const lease = granted(await locks.acquire(name, { ttlMs: 5000 }));
    const stranger = "0123456789abcdef0123456789abcdef";
    expect(await locks.release(name, stranger)).toEqual({ released: false, reason: "held-by-another" });
    expect(await locks.extend(name, stranger, 60_000)).toEqual({ extended: false, reason: "held-by-another" });
    // Unchanged: same fence, same end of lease.
    expect(await locks.status(name)).toEqual({ locked: true, holders: 1, fence: lease.fence, expiresAt: lease.expiresAt });
  });

  it("an expired holder cannot release or extend the next holder's lock", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("lock");
    const old = granted(await locks.acquire(name, { ttlMs: 60 }));
    await sleep(120);
    const current = granted(await locks.acquire(name, { ttlMs: 5000 }));
    expect(current.fence).toBeGreaterThan(old.fence);
    expect(await locks.release(name, old.token)).toEqual({ released: false, reason: "held-by-another" });
    expect(await locks.extend(name, old.token, 5000)).toEqual({ extended: false, reason: "held-by-another" });
    expect(await locks.status(name)).toMatchObject({ locked: true, fence: current.fence });
  });

  it("an expired holder of a free name is told it holds nothing", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("lock");
    const old = granted(await locks.acquire(name, { ttlMs: 60 }));
    await sleep(120);
    expect(await locks.extend(name, old.token, 5000)).toEqual({ extended: false, reason: "not-held" });
    expect(await locks.release(name, old.token)).toEqual({ released: false, reason: "not-held" });
    expect(await locks.status(name)).toEqual({ locked: false });
  });
});

describe("fencing tokens", () => {
  it("strictly increase over successive grants of a name", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("fence");
    const fences: number[] = [];
    for (let i = 0; i < 20; i++) {
      const lease = granted(await locks.acquire(name));
      fences.push(lease.fence);
      await locks.release(name, lease.token);
    }
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]!);
  });

  it("still increase when the fence counter is evicted between grants", async () => {
    const locks = new Locks(testRedis());
    const redis = testRedis();
    const name = uniqueName("fence");
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const lease = granted(await locks.acquire(name));
      expect(lease.fence).toBeGreaterThan(last);
      last = lease.fence;
      await locks.release(name, lease.token);
      expect(Number(await redis.del(key("fence", name)))).toBe(1); // what an eviction does
    }
  });

  it("run ahead of the clock from the counter when the clock is behind it (e.g. after a clock step back)", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("fence");
    const ahead = 9_000_000_000_000_000; // far above any microsecond time; below 2^53
    await testRedis().set(key("fence", name), String(ahead));
    const first = granted(await locks.acquire(name));
    expect(first.fence).toBe(ahead + 1);
    await locks.release(name, first.token);
    expect(granted(await locks.acquire(name)).fence).toBe(ahead + 2);
  });

  it("the counter does not outlive the name forever: it expires after the retention", async () => {
    const locks = new Locks(testRedis(), { fenceRetentionMs: 5000 });
    const name = uniqueName("fence");
    granted(await locks.acquire(name));
    const pttl = Number(await testRedis().pttl(key("fence", name)));
    expect(pttl).toBeGreaterThan(4000);
    expect(pttl).toBeLessThanOrEqual(5000);
  });
});

describe("bounded waiting", () => {
  it("waitMs 0 makes exactly one attempt", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("wait");
    granted(await locks.acquire(name, { ttlMs: 5000 }));
    await locks.acquire(name); // warm
    const { result, requests } = await countRoundTrips(() => locks.acquire(name, { waitMs: 0 }));
    expect(result.acquired).toBe(false);
    expect(requests).toBe(1);
  });

  it("gives up within waitMs plus one request", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("wait");
    granted(await locks.acquire(name, { ttlMs: 10_000 }));
    let oneRequest = 0;
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      await locks.status(name);
      oneRequest = Math.max(oneRequest, Date.now() - started);
    }
    const waitMs = 400;
    const started = Date.now();
    const result = await locks.acquire(name, { waitMs });
    const elapsed = Date.now() - started;
    expect(result.acquired).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(waitMs - 5);
    // One request, measured just before, with room for a busy machine's scheduling.
    expect(elapsed).toBeLessThan(waitMs + oneRequest + 100);
  });

  it("stays within maxAttempts requests (default 40, under Workers' 50 subrequests), still waiting the whole waitMs", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("wait");
    granted(await locks.acquire(name, { ttlMs: 10_000 }));
    const started = Date.now();
    const few = await countRoundTrips(() => locks.acquire(name, { waitMs: 600, maxAttempts: 4 }));
    expect(few.requests).toBe(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(595);
    // 5 s of 5-100 ms backoff would be about 65 attempts; the default budget caps it.
    const capped = await countRoundTrips(() => locks.acquire(name, { waitMs: 5000 }));
    expect(capped.result.acquired).toBe(false);
    expect(capped.requests).toBeLessThanOrEqual(40);
    expect(capped.requests).toBeGreaterThan(20);
  });

  it("gets the lock as soon as the holder's lease ends, well inside waitMs", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("wait");
    granted(await locks.acquire(name, { ttlMs: 200 }));
    const started = Date.now();
    granted(await locks.acquire(name, { waitMs: 5000 }));
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe("input checks in the core", () => {
  it("rejects bad names, tokens and numbers before sending anything", async () => {
    const locks = new Locks(testRedis());
    const { requests } = await countRoundTrips(async () => {
      await expect(locks.acquire("")).rejects.toThrow(/name/);
      await expect(locks.acquire("x".repeat(257))).rejects.toThrow(/256 bytes/);
      await expect(locks.acquire("a\nb")).rejects.toThrow(/control/);
      await expect(locks.acquire("ok", { ttlMs: 0 })).rejects.toThrow(/ttlMs/);
      await expect(locks.acquire("ok", { ttlMs: 300_001 })).rejects.toThrow(/ttlMs/);
      await expect(locks.acquire("ok", { waitMs: 10_001 })).rejects.toThrow(/waitMs/);
      await expect(locks.acquire("ok", { limit: 0 })).rejects.toThrow(/limit/);
      await expect(locks.release("ok", "ABCDEF0123456789ABCDEF0123456789")).rejects.toThrow(/token/);
      await expect(locks.extend("ok", "abc", 1000)).rejects.toThrow(/token/);
      await expect(locks.extend("ok", "0123456789abcdef0123456789abcdef", 1.5)).rejects.toThrow(/ttlMs/);
    });
    expect(requests).toBe(0);
  });
});
