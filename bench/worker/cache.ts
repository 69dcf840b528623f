import { json } from "../../shared/cache";
import { ApiProblem } from "../../functions/platform/problem";
import { createRouter } from "../../functions/platform/router";
import { cacheOf } from "../../functions/cache/routes";

/**
 * Bench-only cache operations run inside the Worker, outside `/v1` (so the rate-limit
 * middleware's own Redis request is not counted), for `npm run bench`:
 * - `POST /__bench/cache/fetch/{key}`: one `Cache.fetch` with a loader that answers at once:
 *   a miss-and-fill on a new key (two REST requests), a hit on a stored one (one). Answers
 *   `{ status }`.
 * - `POST /__bench/cache/invalidate/{tag}`: one hard invalidation of the tag. Answers `{ at }`.
 *
 * Part of the bench-only Worker (bench/worker/index.ts), never of the production one.
 */
export const benchCacheRoutes = createRouter().post("/__bench/cache/:op/:name", async (c) => {
  const op = c.req.param("op");
  if ((op !== "fetch" && op !== "invalidate")) {
    throw new ApiProblem(404, "not-found", "Not found", `No route for POST ${c.req.path}`);
  }
  const name = c.req.param("name");
  const cache = cacheOf(c);
  if (op === "invalidate") return c.json({ at: (await cache.invalidate({ tags: [name] })).at });
  const result = await cache.fetch(name, async () => ({ value: json({ key: name, filled: true }) }), { ttl: 3600, tags: ["bench-fill"] });
  return c.json({ status: result.status });
});
