import { afterEach, describe, expect, it } from "vitest";
import { Locks } from "../../shared/lock";
import { granted } from "./lock-helpers";
import { clearFaults, countRoundTrips, setFaults, sleep, testRedis, uniqueName } from "./helpers";

afterEach(clearFaults);

describe("counting semaphore (limit > 1)", () => {
  it("admits up to limit holders, each with its own token and fence, then says when to retry", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("sem");
    const leases = [];
    for (let i = 0; i < 3; i++) leases.push(granted(await locks.acquire(name, { limit: 3, ttlMs: 5000 })));
    expect(new Set(leases.map((l) => l.token)).size).toBe(3);
    expect(leases[1]!.fence).toBeGreaterThan(leases[0]!.fence);
    expect(leases[2]!.fence).toBeGreaterThan(leases[1]!.fence);
    const fourth = await locks.acquire(name, { limit: 3 });
    expect(fourth.acquired).toBe(false);
    if (!fourth.acquired) expect(fourth.retryAfterMs).toBeGreaterThan(4000);
    expect(await locks.status(name)).toMatchObject({ locked: true, holders: 3, fence: leases[2]!.fence });

    expect(await locks.release(name, leases[0]!.token)).toEqual({ released: true });
    const again = granted(await locks.acquire(name, { limit: 3 }));
    expect(again.fence).toBeGreaterThan(leases[2]!.fence);
  });

  it("each holder's lease is its own: it expires, extends and releases alone", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("sem");
    const short = granted(await locks.acquire(name, { limit: 2, ttlMs: 80 }));
    const long = granted(await locks.acquire(name, { limit: 2, ttlMs: 5000 }));
    await sleep(150);
    expect(await locks.status(name)).toMatchObject({ locked: true, holders: 1, fence: long.fence });
    expect(await locks.extend(name, short.token, 5000)).toEqual({ extended: false, reason: "held-by-another" });
    expect(await locks.release(name, short.token)).toEqual({ released: false, reason: "held-by-another" });
    const extended = await locks.extend(name, long.token, 8000);
    expect(extended).toMatchObject({ extended: true });
    const third = granted(await locks.acquire(name, { limit: 2 }));
    expect(await locks.release(name, long.token)).toEqual({ released: true });
    expect(await locks.release(name, third.token)).toEqual({ released: true });
    expect(await locks.status(name)).toEqual({ locked: false });
  });

  it("an exclusive holder and semaphore holders exclude each other on one name", async () => {
    const locks = new Locks(testRedis());
    const name = uniqueName("mixed");
    const exclusive = granted(await locks.acquire(name));
    expect((await locks.acquire(name, { limit: 5 })).acquired).toBe(false);
    await locks.release(name, exclusive.token);
    const shared = granted(await locks.acquire(name, { limit: 5 }));
    expect((await locks.acquire(name)).acquired).toBe(false);
    await locks.release(name, shared.token);
    granted(await locks.acquire(name));
  });

  it("never admits more than limit under concurrency", async () => {
    const name = uniqueName("sem");
    const limit = 4;
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const locks = new Locks(testRedis({ retries: 1 }));
        for (let i = 0; i < 10; i++) {
          const lease = granted(await locks.acquire(name, { limit, ttlMs: 10_000, waitMs: 10_000 }));
          inside++;
          most = Math.max(most, inside);
          expect(inside).toBeLessThanOrEqual(limit);
          await sleep(3);
          inside--;
          expect(await locks.release(name, lease.token)).toEqual({ released: true });
        }
      }),
    );
    expect(most).toBe(limit); // it did admit N at once, and never more
    expect(await new Locks(testRedis()).status(name)).toEqual({ locked: false });
  });

  it("exclusive and semaphore callers on one name under concurrency: an exclusive holder is always alone", async () => {
    const name = uniqueName("mixed");
    const limit = 3;
    let exclusiveInside = 0;
    let sharedInside = 0;
    let mostShared = 0;
    let exclusiveGrants = 0;
    const fences: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async (_, caller) => {
        const exclusive = caller % 3 === 0;
        const locks = new Locks(testRedis({ retries: 1 }));
        for (let i = 0; i < 8; i++) {
          let lease = await locks.acquire(name, { limit: exclusive ? 1 : limit, ttlMs: 10_000, waitMs: 10_000 });
          while (!lease.acquired) lease = await locks.acquire(name, { limit: exclusive ? 1 : limit, ttlMs: 10_000, waitMs: 10_000 });
          fences.push(lease.fence);
          if (exclusive) {
            exclusiveInside++;
            exclusiveGrants++;
          } else {
            sharedInside++;
            mostShared = Math.max(mostShared, sharedInside);
          }
          expect(exclusiveInside === 0 || (exclusiveInside === 1 && sharedInside === 0)).toBe(true);
          expect(sharedInside).toBeLessThanOrEqual(limit);
          await sleep(2);
          if (exclusive) exclusiveInside--;
          else sharedInside--;
          expect(await locks.release(name, lease.token)).toEqual({ released: true });
        }
      }),
    );
    expect(exclusiveGrants).toBe(4 * 8);
    expect(mostShared).toBeGreaterThan(1); // the semaphore did admit several at once
    expect(new Set(fences).size).toBe(fences.length); // no fence was granted twice
    expect(await new Locks(testRedis()).status(name)).toEqual({ locked: false });
  });

  it("a retried semaphore acquire returns the same place instead of taking a second one", async () => {
    const locks = new Locks(testRedis({ retries: 1 }));
    const name = uniqueName("sem");
    granted(await locks.acquire(uniqueName("warm"), { limit: 2 }));
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    const { result, requests } = await countRoundTrips(() => locks.acquire(name, { limit: 2 }));
    await clearFaults();
    expect(requests).toBe(2); // the applied-then-dropped acquire and its retry
    const lease = granted(result);
    expect(await locks.status(name)).toMatchObject({ locked: true, holders: 1, fence: lease.fence });
  });
});
