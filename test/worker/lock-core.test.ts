import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors";
import { keyspace } from "../../shared/keys";
import { FencedStore, LeaseMemory, Locks } from "../../shared/lock";
import { countRoundTrips, sleep, testRedis, uniqueName } from "./helpers";
import { billed, granted } from "./lock-helpers";

const key = keyspace("erf", "lock");
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

  it("still increase when the name's state is evicted between grants (the clock floor)", async () => {
    const locks = new Locks(testRedis());
    const redis = testRedis();
    const name = uniqueName("fence");
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const lease = granted(await locks.acquire(name));
      expect(lease.fence).toBeGreaterThan(last);
      last = lease.fence;
      await locks.release(name, lease.token);
      expect(Number(await redis.del(key("lease", name)))).toBe(1); // what an eviction does to the release marker
    }
  });

  it("still increase after a lease ends without a release", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("fence");
    const first = granted(await locks.acquire(name, { ttlMs: 30 }));
    await sleep(80);
    expect(granted(await locks.acquire(name)).fence).toBeGreaterThan(first.fence);
  });

  it("continue from the last fence, not the clock, after a release (e.g. after a clock step back)", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("fence");
    const ahead = 9_000_000_000_000_000; // far above any microsecond time; below 2^53
    // The marker a release of a grant with this fence leaves.
    await testRedis().set(key("lease", name), `R:${"ab".repeat(16)}:${ahead}`, { px: 60_000 });
    const first = granted(await locks.acquire(name));
    expect(first.fence).toBe(ahead + 1);
    await locks.release(name, first.token);
    expect(granted(await locks.acquire(name)).fence).toBe(ahead + 2);
  });

  it("the release marker keeps the last fence for fenceRetentionMs, then expires", async () => {
    const locks = new Locks(testRedis(), { fenceRetentionMs: 5000 });
    const name = uniqueName("fence");
    await locks.release(name, granted(await locks.acquire(name)).token);
    const pttl = Number(await testRedis().pttl(key("lease", name)));
    expect(pttl).toBeGreaterThan(4000);
    expect(pttl).toBeLessThanOrEqual(5000);
  });

  it("cross modes: semaphore and exclusive grants of one name continue from each other's last fence", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("fence");
    const ahead = 9_000_000_000_000_000;
    await testRedis().set(key("lease", name), `R:${"ab".repeat(16)}:${ahead}`, { px: 60_000 });
    const a = granted(await locks.acquire(name, { limit: 2 }));
    const b = granted(await locks.acquire(name, { limit: 2 }));
    expect([a.fence, b.fence]).toEqual([ahead + 1, ahead + 2]);
    await locks.release(name, a.token);
    await locks.release(name, b.token); // the last holder leaves a marker with the semaphore's last fence
    const exclusive = granted(await locks.acquire(name));
    expect(exclusive.fence).toBe(ahead + 3);
    await locks.release(name, exclusive.token);
    const c = granted(await locks.acquire(name, { limit: 2 }));
    expect(c.fence).toBe(ahead + 4);
    // A semaphore whose leases all ended: the exclusive grant reads the semaphore's fence counter.
    await locks.extend(name, c.token, 1);
    await sleep(30);
    expect(granted(await locks.acquire(name)).fence).toBe(ahead + 5);
  });

  it("a semaphore's fence counter expires after fenceRetentionMs", async () => {
    const locks = new Locks(testRedis(), { fenceRetentionMs: 5000 });
    const name = uniqueName("fence");
    granted(await locks.acquire(name, { limit: 3 }));
    const pttl = Number(await testRedis().pttl(key("fence", name)));
    expect(pttl).toBeGreaterThan(4000);
    expect(pttl).toBeLessThanOrEqual(5000);
  });
});

describe("another isolate", () => {
  it("extends and releases as correctly as the isolate that acquired (no hint, or a wrong one)", async () => {
    const here = new Locks(testRedis());
    const name = uniqueName("isolate");
    const ahead = 9_000_000_000_000_000;
    await testRedis().set(key("lease", name), `R:${"ab".repeat(16)}:${ahead}`, { px: 60_000 });
    const lease = granted(await here.acquire(name, { ttlMs: 5000 }));
    expect(lease.fence).toBe(ahead + 1);

    const elsewhere = new Locks(testRedis(), { memory: new LeaseMemory() });
    const extended = await elsewhere.extend(name, lease.token, 8000);
    expect(extended).toMatchObject({ extended: true });
    expect(await here.status(name)).toMatchObject({ locked: true, fence: ahead + 1 });

    const wrong = new LeaseMemory();
    wrong.remember(lease.token, { fence: 5, prev: "" });
    expect(await new Locks(testRedis(), { memory: wrong }).release(name, lease.token)).toEqual({ released: true });
    // The marker kept the lease's own fence: the next grant continues from it.
    expect(granted(await here.acquire(name)).fence).toBe(ahead + 2);
  });
});

describe("key layout (a contract between Worker versions that share a database)", () => {
  it("an exclusive lease is one string that expires with it; a release leaves R:<token>:<fence>", async () => {
    const locks = new Locks(testRedis());
    const redis = testRedis();
    const name = uniqueName("layout");
    const lease = granted(await locks.acquire(name, { ttlMs: 5000 }));
    expect(await redis.get(key("lease", name))).toBe(`${lease.token}:${lease.fence}:${lease.expiresAt}:`);
    // The key expires when the lease does (same machine: the clocks agree to within a second).
    const pttl = Number(await redis.pttl(key("lease", name)));
    expect(Math.abs(Date.now() + pttl - lease.expiresAt)).toBeLessThan(1000);
    await locks.release(name, lease.token);
    expect(await redis.get(key("lease", name))).toBe(`R:${lease.token}:${lease.fence}`);
    const next = granted(await locks.acquire(name, { ttlMs: 5000 }));
    // The next lease carries the released token, so a late resend of that release still answers.
    expect(await redis.get(key("lease", name))).toBe(`${next.token}:${next.fence}:${next.expiresAt}:${lease.token}`);
    // Extends keep fence and carried token, whether this isolate or another one extends.
    const here = await locks.extend(name, next.token, 6000);
    if (!here.extended) throw new Error("expected the extend");
    expect(await redis.get(key("lease", name))).toBe(`${next.token}:${next.fence}:${here.expiresAt}:${lease.token}`);
    const elsewhere = await new Locks(testRedis(), { memory: new LeaseMemory() }).extend(name, next.token, 7000);
    if (!elsewhere.extended) throw new Error("expected the extend");
    expect(await redis.get(key("lease", name))).toBe(`${next.token}:${next.fence}:${elsewhere.expiresAt}:${lease.token}`);
  });
});

describe("the client", () => {
  it("is refused at construction when it parses replies as JSON", () => {
    const parsing = new Redis({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! });
    expect(() => new Locks(parsing)).toThrow(TypeError);
    expect(() => new Locks(parsing)).toThrow(/automaticDeserialization/);
    expect(() => new FencedStore(parsing)).toThrow(TypeError);
  });
});

describe("cost: billed Redis commands (what Upstash charges)", () => {
  it("acquire + release of a free name: 5 (EVALSHA+TIME+SET, EVALSHA+SET), each one request", async () => {
    const locks = new Locks(testRedis());
    const warm = uniqueName("warm");
    const w = granted(await locks.acquire(warm));
    await locks.extend(warm, w.token, 1000);
    await locks.status(warm);
    await locks.release(warm, w.token);

    const name = uniqueName("cost");
    const acquire = await billed(() => countRoundTrips(() => locks.acquire(name, { ttlMs: 5000 })));
    expect(acquire.byCommand).toEqual({ EVALSHA: 1, TIME: 1, SET: 1 });
    expect(acquire.result.requests).toBe(1);
    const lease = granted(acquire.result.result);
    expect((await billed(() => locks.acquire(name))).byCommand).toEqual({ EVALSHA: 1, TIME: 1, SET: 1 }); // busy: nothing restored
    expect((await billed(() => locks.status(name))).byCommand).toEqual({ EVALSHA: 1, GET: 1 });
    expect((await billed(() => locks.extend(name, lease.token, 5000))).byCommand).toEqual({ EVALSHA: 1, TIME: 1, SET: 1 });
    const release = await billed(() => countRoundTrips(() => locks.release(name, lease.token)));
    expect(release.byCommand).toEqual({ EVALSHA: 1, SET: 1 });
    expect(release.result.requests).toBe(1);
  });

  it("a name released before costs one SET more to acquire; a release from another isolate one SET more", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("cost");
    await locks.release(name, granted(await locks.acquire(name)).token);
    const again = await billed(() => locks.acquire(name));
    expect(again.byCommand).toEqual({ EVALSHA: 1, TIME: 1, SET: 2 });
    const lease = granted(again.result);
    const elsewhere = new Locks(testRedis(), { memory: new LeaseMemory() });
    expect((await billed(() => elsewhere.release(name, lease.token))).byCommand).toEqual({ EVALSHA: 1, SET: 2 });
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
  async function refused(promise: Promise<unknown>, field: string) {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe(field);
  }

  it("rejects bad names, tokens and numbers before sending anything", async () => {
    const locks = new Locks(testRedis());
    const token = "0123456789abcdef0123456789abcdef";
    const { requests } = await countRoundTrips(async () => {
      await refused(locks.acquire(""), "name");
      await refused(locks.acquire("x".repeat(257)), "name");
      await refused(locks.acquire("a\nb"), "name");
      await refused(locks.acquire("ok", { ttlMs: 0 }), "ttlMs");
      await refused(locks.acquire("ok", { ttlMs: 300_001 }), "ttlMs");
      await refused(locks.acquire("ok", { waitMs: 10_001 }), "waitMs");
      await refused(locks.acquire("ok", { limit: 0 }), "limit");
      await refused(locks.acquire("ok", { limit: 1001 }), "limit");
      await refused(locks.acquire("ok", { maxAttempts: 0 }), "maxAttempts");
      await refused(locks.release("ok", token.toUpperCase()), "token");
      await refused(locks.release("", token), "name");
      await refused(locks.extend("ok", "abc", 1000), "token");
      await refused(locks.extend("ok", token, 1.5), "ttlMs");
      await refused(locks.status("a\u0000"), "name");
    });
    expect(requests).toBe(0);
  });

  it("refuses options out of range when the core is built", () => {
    const redis = testRedis();
    expect(() => new Locks(redis, { defaultTtlMs: 0 })).toThrow(InvalidInputError);
    expect(() => new Locks(redis, { fenceRetentionMs: -1 })).toThrow(InvalidInputError);
    expect(() => new Locks(redis, { releaseMemoryMs: 1.5 })).toThrow(InvalidInputError);
  });
});
