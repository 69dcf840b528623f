/**
 * `@upstash/ratelimit` (whose scripts carry the Upstash-only allow-key-locking flag) and
 * `@upstash/lock`, unchanged, against the local endpoint.
 */
import { Lock } from "@upstash/lock";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyPrefix, startLocalStack, type LocalStack } from "./local-stack";

let stack: LocalStack;
let redis: Redis;
const p = keyPrefix();

beforeAll(async () => {
  stack = await startLocalStack();
  redis = new Redis({ url: stack.endpoint.url, token: stack.endpoint.token, enableTelemetry: false });
});

afterAll(async () => {
  await stack?.stop();
});

describe("@upstash/ratelimit", () => {
  const limiters = [
    { name: "fixedWindow", limiter: Ratelimit.fixedWindow(2, "30 s"), allowed: 2 },
    { name: "slidingWindow", limiter: Ratelimit.slidingWindow(2, "30 s"), allowed: 2 },
    { name: "tokenBucket", limiter: Ratelimit.tokenBucket(1, "30 s", 3), allowed: 3 },
  ];

  it.each(limiters)("$name allows up to its limit, then denies", async ({ name, limiter, allowed }) => {
    const ratelimit = new Ratelimit({ redis, limiter, prefix: `${p}rl:${name}`, ephemeralCache: false, analytics: false });
    for (let i = 0; i < allowed; i++) {
      const result = await ratelimit.limit("user-1");
      expect(result.success, `request ${i + 1}`).toBe(true);
      expect(result.remaining).toBe(allowed - i - 1);
    }
    const denied = await ratelimit.limit("user-1");
    expect(denied.success).toBe(false);
    expect(denied.reset).toBeGreaterThan(Date.now());
    // Another identifier has its own budget.
    expect((await ratelimit.limit("user-2")).success).toBe(true);
  });

  it("reaches the flagged script by the SHA1 the library computed, after one EVAL", async () => {
    const ratelimit = new Ratelimit({
      redis,
      limiter: Ratelimit.fixedWindow(100, "30 s"),
      prefix: `${p}rl:sha`,
      ephemeralCache: false,
      analytics: false,
    });
    await ratelimit.limit("warm-up");
    stack.endpoint.resetStats();
    for (let i = 0; i < 5; i++) expect((await ratelimit.limit(`id-${i}`)).success).toBe(true);
    const { byCommand } = stack.endpoint.stats();
    expect(byCommand.EVALSHA).toBe(5);
    expect(byCommand.EVAL).toBeUndefined();
  });
});

describe("@upstash/lock", () => {
  it("acquires, reports, extends and releases a lock; a second holder is refused", async () => {
    const id = `${p}lock`;
    const lock = new Lock({ id, redis, lease: 5_000 });
    expect(await lock.getStatus()).toBe("FREE");
    expect(await lock.acquire()).toBe(true);
    expect(await lock.getStatus()).toBe("ACQUIRED");

    const rival = new Lock({ id, redis, lease: 5_000, retry: { attempts: 2, delay: 10 } });
    expect(await rival.acquire()).toBe(false);
    expect(await rival.release()).toBe(false);

    // Whole seconds only: the library sends amt/1000 to EXPIRE, and Redis refuses fractions.
    expect(await lock.extend(2_000)).toBe(true);
    expect(await redis.ttl(id)).toBeGreaterThan(5);

    expect(await lock.release()).toBe(true);
    expect(await lock.getStatus()).toBe("FREE");
    expect(await rival.acquire()).toBe(true);
    expect(await rival.release()).toBe(true);
  });
});
