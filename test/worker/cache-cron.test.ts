import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../functions/index";
import { ConfigError } from "../../functions/platform/config";
import { Cache, InvalidationScheduler, json } from "../../shared/cache";
import { RedisUnavailableError } from "../../shared/errors";
import { clearFaults, setFaults, testRedis, uniqueName } from "./helpers";

/** A Worker env on its own KEY_PREFIX (so its scheduled queue is this test's alone), plus core handles on it. */
function setup(overrides: Partial<Cloudflare.Env> = {}) {
  const prefix = uniqueName("cron");
  const workerEnv = { ...env, KEY_PREFIX: prefix, ...overrides };
  return {
    workerEnv,
    cache: new Cache(testRedis(), { prefix }),
    scheduler: new InvalidationScheduler(testRedis(), { prefix }),
  };
}

/** Fires the Worker's scheduled handler as a Cron Trigger would. */
async function fire(workerEnv: Cloudflare.Env, cron: string, scheduledTime: number): Promise<void> {
  const ctx = createExecutionContext();
  try {
    await worker.scheduled(createScheduledController({ cron, scheduledTime }), workerEnv, ctx);
  } finally {
    await waitOnExecutionContext(ctx);
  }
}

/** PUBLISH calls Redis has run, inside scripts included: one per applied invalidation. */
async function publishCount(): Promise<number> {
  const info = String(await testRedis().eval("return redis.call('INFO', 'commandstats')", [], []));
  return Number(/cmdstat_publish:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

const HOUR = 3_600_000;

afterEach(clearFaults);

describe("scheduled invalidations", () => {
  it("fire at their time (controller.scheduledTime or Redis time, whichever is later), not before", async () => {
    const { workerEnv, cache, scheduler } = setup();
    const now = Date.now();
    await cache.set("a", json("a"), { ttl: 120, tags: ["one"] });
    await cache.set("b", json("b"), { ttl: 120, tags: ["two"] });
    await scheduler.schedule({ tags: ["one"] }, now + HOUR);
    await scheduler.schedule({ tags: ["two"], mode: "soft" }, now + 2 * HOUR);

    await fire(workerEnv, "* * * * *", now + HOUR - 60_000);
    expect(await cache.get("a")).toMatchObject({ stale: false });
    expect((await scheduler.list()).total).toBe(2);

    await fire(workerEnv, "* * * * *", now + HOUR);
    expect(await cache.get("a")).toBeNull();
    expect(await cache.get("b")).toMatchObject({ stale: false });
    expect((await scheduler.list()).items.map((i) => i.tags)).toEqual([["two"]]);

    await fire(workerEnv, "* * * * *", now + 2 * HOUR + 1000);
    expect(await cache.get("b")).toMatchObject({ value: json("b"), stale: true });
    expect((await scheduler.list()).total).toBe(0);
  });

  it("overlapping runs apply every due item exactly once and lose none", async () => {
    const { workerEnv, cache, scheduler } = setup({ CACHE_CRON_BATCH_SIZE: "4" });
    const now = Date.now();
    const N = 30;
    for (let i = 0; i < N; i++) {
      await cache.set(`k${i}`, json(i), { ttl: 120 });
      await scheduler.schedule({ keys: [`k${i}`] }, now + HOUR + i);
    }
    const published = await publishCount();
    await Promise.all([1, 2, 3].map(() => fire(workerEnv, "* * * * *", now + HOUR + 1000)));
    expect((await publishCount()) - published).toBe(N);
    expect((await scheduler.list()).total).toBe(0);
    for (let i = 0; i < N; i++) expect(await cache.get(`k${i}`)).toBeNull();
  });

  it("a run does a bounded number of batches; a run that dies midway is finished by the next", async () => {
    const { workerEnv, cache, scheduler } = setup({ CACHE_CRON_BATCH_SIZE: "3", CACHE_CRON_MAX_BATCHES: "2", REDIS_RETRIES: "0" });
    const now = Date.now();
    for (let i = 0; i < 10; i++) {
      await cache.set(`k${i}`, json(i), { ttl: 120 });
      await scheduler.schedule({ keys: [`k${i}`] }, now + HOUR + i);
    }
    const published = await publishCount();
    await fire(workerEnv, "* * * * *", now + 2 * HOUR);
    expect((await scheduler.list()).total).toBe(4); // 2 batches of 3

    // The next run's first batch is applied, but its reply is lost: the run fails there. (Each
    // batch is a read of the due items, then the script that claims and applies them.)
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA", skip: 1 });
    await expect(fire(workerEnv, "* * * * *", now + 2 * HOUR)).rejects.toBeInstanceOf(RedisUnavailableError);
    await clearFaults();
    expect((await scheduler.list()).total).toBe(1);

    await fire(workerEnv, "* * * * *", now + 2 * HOUR);
    expect((await scheduler.list()).total).toBe(0);
    expect((await publishCount()) - published).toBe(10); // nothing applied twice
    for (let i = 0; i < 10; i++) expect(await cache.get(`k${i}`)).toBeNull();
  });
});

describe("INVALIDATION_RULES", () => {
  it("invalidate their tags when their cron fires, and only then", async () => {
    const rules = { "0 0 * * *": ["daily"], "*/5  * * * *": { tags: ["five"], mode: "soft" } };
    const { workerEnv, cache } = setup({ INVALIDATION_RULES: JSON.stringify(rules) });
    await cache.set("d", json("d"), { ttl: 120, tags: ["daily"] });
    await cache.set("f", json("f"), { ttl: 120, tags: ["five"] });
    const now = Date.now();

    await fire(workerEnv, "* * * * *", now);
    expect(await cache.get("d")).toMatchObject({ stale: false });
    expect(await cache.get("f")).toMatchObject({ stale: false });

    await fire(workerEnv, "0 0 * * *", now);
    expect(await cache.get("d")).toBeNull();
    expect(await cache.get("f")).toMatchObject({ stale: false });

    await fire(workerEnv, "*/5 * * * *", now);
    expect(await cache.get("f")).toMatchObject({ stale: true });
  });

  it("an invalid rule set fails the run with its name and invalidates nothing", async () => {
    const { workerEnv, cache } = setup({ INVALIDATION_RULES: JSON.stringify({ "0 0 * *": ["x"] }) });
    await cache.set("x", json(1), { ttl: 120, tags: ["x"] });
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      await expect(fire(workerEnv, "0 0 * * *", Date.now())).rejects.toBeInstanceOf(ConfigError);
    } finally {
      console.error = original;
    }
    expect(JSON.stringify(errors)).toContain("INVALIDATION_RULES");
    expect(await cache.get("x")).toMatchObject({ stale: false });
  });
});
