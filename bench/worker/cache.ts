import { json } from "../../shared/cache";
import { isolateL1 } from "../../shared/cache/isolate";
import { isolateLeaderboardL1 } from "../../shared/leaderboard";
import { ApiProblem } from "../../functions/platform/problem";
import { createRouter } from "../../functions/platform/router";
import { cacheOf } from "../../functions/cache/routes";

/** The bound of `fetch-l1`: long beside a bench run's few seconds, as for a hot key in production. */
const L1_BENCH_MS = 1000;

/**
 * Bench-only cache operations run inside the Worker, outside `/v1` (so the rate-limit
 * middleware's own Redis request is not counted), for `npm run bench`:
 * - `POST /__bench/cache/fetch/{key}`: one `Cache.fetch` with a loader that answers at once:
 *   a miss-and-fill on a new key (two REST requests), a hit on a stored one (one). Answers
 *   `{ status }`.
 * - `POST /__bench/cache/fetch-l1/{key}`: the same with `maxStaleMs` (1 s): a hot key is
 *   answered from the isolate's memory (`HIT-L1`), with one revalidation per bound.
 * - `POST /__bench/cache/invalidate/{tag}`: one hard invalidation of the tag. Answers `{ at }`.
 * - `POST /__bench/l1/clear`: empties the isolate's cache and leaderboard L1s, so the next
 *   read meets a cold isolate (a first call is measured that way). Answers `{ cleared: true }`.
 *
 * Part of the bench-only Worker (bench/worker/index.ts), never of the production one.
 */
export const benchCacheRoutes = createRouter()
  .post("/__bench/l1/clear", (c) => {
    isolateL1.clear();
    isolateLeaderboardL1.clear();
    return c.json({ cleared: true });
  })
  .post("/__bench/cache/:op/:name", async (c) => {
    const op = c.req.param("op");
    if (op !== "fetch" && op !== "fetch-l1" && op !== "invalidate") {
      throw new ApiProblem(404, "not-found", "Not found", `No route for POST ${c.req.path}`);
    }
    const name = c.req.param("name");
    const cache = cacheOf(c);
    if (op === "invalidate") return c.json({ at: (await cache.invalidate({ tags: [name] })).at });
    const l1 = op === "fetch-l1" ? { maxStaleMs: L1_BENCH_MS } : {};
    const result = await cache.fetch(name, async () => ({ value: json({ key: name, filled: true }) }), { ttl: 3600, tags: ["bench-fill"], ...l1 });
    return c.json({ status: result.status });
  });
