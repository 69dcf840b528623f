import { afterEach, describe, expect, it } from "vitest";
import { RedisUnavailableError } from "../../shared/errors";
import { Locks } from "../../shared/lock";
import { granted } from "./lock-helpers";
import { clearFaults, countRoundTrips, setFaults, sleep, testRedis, uniqueName } from "./helpers";

afterEach(clearFaults);

describe("retry-safe operations (the endpoint drops the reply after Redis applied the request)", () => {
  async function warmUp(locks: Locks) {
    const name = uniqueName("warm");
    const lease = granted(await locks.acquire(name));
    await locks.release(name, lease.token);
    await locks.status(name);
  }

  it("a retried acquire gets the lock its first try took: one holder, one fence", async () => {
    const locks = new Locks(testRedis({ retries: 1 }));
    await warmUp(locks);
    const name = uniqueName("retry");
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    const { result, requests } = await countRoundTrips(() => locks.acquire(name, { ttlMs: 5000 }));
    await clearFaults();
    expect(requests).toBe(2); // the applied-then-dropped request and its retry
    const lease = granted(result);
    expect(await locks.status(name)).toMatchObject({ locked: true, holders: 1, fence: lease.fence });
    expect((await locks.acquire(name)).acquired).toBe(false);
    expect(await locks.release(name, lease.token)).toEqual({ released: true });
  });

  it("without client retries, the acquire fails, and the orphaned lease frees itself at its TTL", async () => {
    const locks = new Locks(testRedis({ retries: 0 }));
    await warmUp(locks);
    const name = uniqueName("orphan");
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    await expect(locks.acquire(name, { ttlMs: 300 })).rejects.toBeInstanceOf(RedisUnavailableError);
    await clearFaults();
    expect(await locks.status(name)).toMatchObject({ locked: true, holders: 1 });
    expect((await locks.acquire(name)).acquired).toBe(false);
    await sleep(400);
    expect(await locks.status(name)).toEqual({ locked: false });
    granted(await locks.acquire(name));
  });

  it("with waitMs, acquire itself resends the same token after a lost reply, even on a client that never retries", async () => {
    const locks = new Locks(testRedis({ retries: 0 }));
    await warmUp(locks);
    const name = uniqueName("retry");
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    const { result, requests } = await countRoundTrips(() => locks.acquire(name, { ttlMs: 5000, waitMs: 2000 }));
    await clearFaults();
    expect(requests).toBe(2); // the dropped reply and the core's own resend
    const lease = granted(result);
    expect(await locks.status(name)).toMatchObject({ locked: true, holders: 1, fence: lease.fence });
    expect(await locks.release(name, lease.token)).toEqual({ released: true });
  });

  it("a retried release still answers released, even after someone else took the lock", async () => {
    const locks = new Locks(testRedis({ retries: 1 }));
    await warmUp(locks);
    const name = uniqueName("retry");
    const lease = granted(await locks.acquire(name));
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    const { result, requests } = await countRoundTrips(() => locks.release(name, lease.token));
    await clearFaults();
    expect(requests).toBe(2); // the applied-then-dropped release and its retry
    expect(result).toEqual({ released: true });
    const next = granted(await locks.acquire(name));
    // The next lease carries the released token: a late resend of that release still answers
    // released, and leaves the new holder's lease exactly as it was.
    const before = await locks.status(name);
    expect(await locks.release(name, lease.token)).toEqual({ released: true });
    expect(await locks.status(name)).toEqual(before);
    expect(before).toMatchObject({ locked: true, fence: next.fence, expiresAt: next.expiresAt });
    // Anyone else's token is still told the name is held by another.
    expect(await locks.release(name, "0123456789abcdef0123456789abcdef")).toEqual({ released: false, reason: "held-by-another" });
    expect(await locks.release(name, next.token)).toEqual({ released: true });
    // Once the new holder released too, the old token's release finds that holder's marker: not held.
    expect(await locks.release(name, lease.token)).toEqual({ released: false, reason: "not-held" });
  });
});

describe("when Redis cannot be reached", () => {
  it("acquire with waitMs resends until the deadline, then throws; the other operations throw at once", async () => {
    const locks = new Locks(testRedis({ retries: 0 }));
    const name = uniqueName("down");
    const lease = granted(await locks.acquire(name, { ttlMs: 5000 }));
    await setFaults({ down: "5xx" });
    const { result, requests } = await countRoundTrips(() => locks.acquire(name, { waitMs: 300 }).catch((error: unknown) => error));
    expect(result).toBeInstanceOf(RedisUnavailableError);
    expect(requests).toBeGreaterThan(1); // it kept trying within waitMs
    expect(requests).toBeLessThanOrEqual(40);
    await expect(locks.extend(name, lease.token, 5000)).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(locks.release(name, lease.token)).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(locks.status(name)).rejects.toBeInstanceOf(RedisUnavailableError);
    await clearFaults();
    expect(await locks.release(name, lease.token)).toEqual({ released: true });
  });
});
