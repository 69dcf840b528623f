import { describe, expect, it } from "vitest";
import { keyspace } from "../../shared/keys";
import { FencedStore, LeaseLostError, Locks, withLock, type WithLockResult } from "../../shared/lock";
import { clearFaults, setFaults, sleep, testRedis, uniqueName } from "./helpers";

const key = keyspace("erf", "lock");

/** fn's value from a withLock that must have run it. */
async function unwrap<T>(run: Promise<WithLockResult<T>>): Promise<T> {
  const result = await run;
  if (!result.acquired) throw new Error(`expected the lock, got busy (retry after ${result.retryAfterMs} ms)`);
  return result.value;
}
function abortedWithin(signal: AbortSignal, ms: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe("withLock", () => {
  it("keeps the lease alive well past its TTL while fn runs, then releases", async () => {
    const locks = new Locks(testRedis());
    const other = new Locks(testRedis());
    const name = uniqueName("renew");
    const result = await withLock(
      locks,
      name,
      async ({ signal, fence }) => {
        for (let i = 0; i < 4; i++) {
          await sleep(400); // 1.6 s in all: more than three TTLs
          expect((await other.acquire(name)).acquired).toBe(false);
          expect(await other.status(name)).toMatchObject({ locked: true, fence });
        }
        expect(signal.aborted).toBe(false);
        return "done";
      },
      { ttlMs: 500 },
    );
    expect(result).toEqual({ acquired: true, value: "done" });
    expect(await other.status(name)).toEqual({ locked: false });
  });

  it("times the lease from the attempt that won, not from the start of a long wait", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("waited");
    const held = await locks.acquire(name, { ttlMs: 400 });
    expect(held.acquired).toBe(true);
    const run = await withLock(
      locks,
      name,
      async ({ signal }) => {
        await sleep(350); // longer than the lease, shorter than the wait plus the lease
        return signal.aborted;
      },
      { ttlMs: 300, waitMs: 2000 },
    );
    expect(run).toEqual({ acquired: true, value: false });
  });

  it("aborts fn's signal when the key is taken away, and does not release the new holder", async () => {
    const locks = new Locks(testRedis());
    const thief = new Locks(testRedis());
    const name = uniqueName("lost");
    let thiefFence = 0;
    const outcome = await unwrap(withLock(
      locks,
      name,
      async ({ signal, fence }) => {
        await testRedis().del(key("lease", name)); // an eviction, or an operator's DEL
        const stolen = await thief.acquire(name, { ttlMs: 10_000 });
        if (!stolen.acquired) throw new Error("the thief should get the free lock");
        thiefFence = stolen.fence;
        expect(stolen.fence).toBeGreaterThan(fence);
        const aborted = await abortedWithin(signal, 2000);
        return { aborted, reason: signal.reason as unknown };
      },
      { ttlMs: 300 },
    ));
    expect(outcome.aborted).toBe(true);
    expect(outcome.reason).toBeInstanceOf(LeaseLostError);
    expect(await thief.status(name)).toMatchObject({ locked: true, fence: thiefFence });
  });

  it("aborts fn's signal when renewals cannot reach Redis, and still returns fn's result", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("unreachable");
    try {
      const outcome = await unwrap(withLock(
        locks,
        name,
        async ({ signal }) => {
          await setFaults({ down: "5xx" }); // every renewal, and then the release, fails
          const aborted = await abortedWithin(signal, 3000);
          return { aborted, reason: signal.reason as unknown };
        },
        { ttlMs: 300 },
      ));
      expect(outcome.aborted).toBe(true);
      expect(outcome.reason).toBeInstanceOf(LeaseLostError);
    } finally {
      await clearFaults();
    }
  });

  it("releases when fn throws, and rethrows fn's error", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("throws");
    const boom = new Error("boom");
    await expect(
      withLock(locks, name, async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await locks.status(name)).toEqual({ locked: false });
  });

  it("answers acquired: false with retryAfterMs, without running fn, when the lock stays held", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("busy");
    const held = await locks.acquire(name, { ttlMs: 5000 });
    expect(held.acquired).toBe(true);
    let ran = false;
    const run = await withLock(locks, name, () => (ran = true), { waitMs: 50 });
    expect(run).toEqual({ acquired: false, retryAfterMs: expect.any(Number) });
    if (!run.acquired) expect(run.retryAfterMs).toBeGreaterThan(4000);
    expect(ran).toBe(false);
  });
});

describe("fenced writes", () => {
  it("apply a write only if its fence is not below the highest the record has seen", async () => {
    const store = new FencedStore(testRedis());
    const resource = uniqueName("record");
    expect(await store.read(resource)).toBeNull();
    expect(await store.write(resource, 5, "five")).toEqual({ applied: true, fence: 5 });
    expect(await store.write(resource, 3, "three")).toEqual({ applied: false, highestFence: 5 });
    expect(await store.read(resource)).toEqual({ value: "five", fence: 5 });
    expect(await store.write(resource, 5, "five again")).toEqual({ applied: true, fence: 5 });
    expect(await store.write(resource, 9, "nine")).toEqual({ applied: true, fence: 9 });
    expect(await store.read(resource)).toEqual({ value: "nine", fence: 9 });
  });

  it("refuse the late write of a holder that paused past its lease", async () => {
    const locks = new Locks(testRedis());
    const store = new FencedStore(testRedis());
    const name = uniqueName("paused");
    const slow = await locks.acquire(name, { ttlMs: 50 });
    if (!slow.acquired) throw new Error("expected the lock");
    await sleep(100); // the slow holder pauses; its lease ends
    const fast = await locks.acquire(name, { ttlMs: 5000 });
    if (!fast.acquired) throw new Error("expected the lock");
    expect(await store.write(name, fast.fence, "new")).toMatchObject({ applied: true });
    expect(await store.write(name, slow.fence, "stale")).toEqual({ applied: false, highestFence: fast.fence });
    expect(await store.read(name)).toEqual({ value: "new", fence: fast.fence });
  });

  it("keep microsecond-sized fences exact and can expire the record", async () => {
    const store = new FencedStore(testRedis());
    const resource = uniqueName("record");
    const fence = 1_767_225_600_123_457;
    expect(await store.write(resource, fence, "v", { ttlMs: 5000 })).toEqual({ applied: true, fence });
    expect(await store.write(resource, fence - 1, "older")).toEqual({ applied: false, highestFence: fence });
    const pttl = Number(await testRedis().pttl(keyspace("erf", "fenced")("record", resource)));
    expect(pttl).toBeGreaterThan(4000);
  });
});
