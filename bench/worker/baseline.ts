import { createRouter } from "../../functions/platform/router";
import { ApiProblem } from "../../functions/platform/problem";

/**
 * `GET /__bench/baseline`: one raw `fetch` to the REST endpoint (a PING) and nothing else, the
 * baseline every benchmark scenario is compared with. Part of the bench-only
 * Worker (bench/worker/index.ts), never of the production one.
 */
export const benchRoutes = createRouter().get("/__bench/baseline", async (c) => {
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = c.env;
  if (!url || !token) {
    throw new ApiProblem(404, "not-found", "Not found", "No route for GET /__bench/baseline");
  }
  const res = await fetch(url, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(["PING"]),
  });
  const body = await res.json<{ result?: string }>();
  return c.json({ ok: body.result === "PONG" });
});
