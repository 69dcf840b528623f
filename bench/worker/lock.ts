import { Lock } from "@upstash/lock";
import { keyspace } from "../../shared/keys";
import { Locks } from "../../shared/lock";
import { ApiProblem } from "../../functions/platform/problem";
import { createRouter, redisOf } from "../../functions/platform/router";

/**
 * `POST /__bench/lock/{impl}/{name}`: one lock operation done inside the Worker, so the bench
 * compares this project's lock core with `@upstash/lock` on equal terms (same client, same
 * Redis, one HTTP request per operation). `impl` is `core` or `upstash-lock`. Body:
 * `{ waitMs?: number, holdMs?: number, ttlMs?: number, limit?: number }` — acquire (waiting up
 * to `waitMs`; `limit` above 1: a semaphore place, this core only), hold for `holdMs`, release.
 * Answers `{ acquired, released }`.
 *
 * `@upstash/lock` waits by a fixed number of attempts with a fixed delay; it gets
 * `ceil(waitMs / 10)` attempts 10 ms apart, the closest equivalent of a bounded wait.
 *
 * Part of the bench-only Worker (bench/worker/index.ts), never of the production one.
 */
interface BenchBody {
  waitMs?: number;
  holdMs?: number;
  ttlMs?: number;
  limit?: number;
}

export const benchLockRoutes = createRouter().post("/__bench/lock/:impl/:name", async (c) => {
  const impl = c.req.param("impl");
  if (impl !== "core" && impl !== "upstash-lock") {
    throw new ApiProblem(404, "not-found", "Not found", `No route for POST ${c.req.path}`);
  }
  const name = c.req.param("name");
  const body = await c.req.json<BenchBody>().catch((): BenchBody => ({}));
  const { waitMs = 0, holdMs = 0, ttlMs = 10_000, limit = 1 } = body;
  const redis = redisOf(c);
  const hold = () => (holdMs > 0 ? new Promise((resolve) => setTimeout(resolve, holdMs)) : Promise.resolve());

  if (impl === "core") {
    const locks = new Locks(redis, { prefix: c.var.config.keyPrefix });
    const lease = await locks.acquire(name, { ttlMs, waitMs, limit });
    if (!lease.acquired) return c.json({ acquired: false });
    await hold();
    const released = await locks.release(name, lease.token);
    return c.json({ acquired: true, released: released.released });
  }

  const lock = new Lock({
    id: keyspace(c.var.config.keyPrefix, "bench-upstash-lock")("lock", name),
    redis,
    lease: ttlMs,
    retry: { attempts: Math.max(1, Math.ceil(waitMs / 10)), delay: 10 },
  });
  if (!(await lock.acquire())) return c.json({ acquired: false });
  await hold();
  return c.json({ acquired: true, released: await lock.release() });
});
