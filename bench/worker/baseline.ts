import { createRouter } from "../router";
import { ApiProblem } from "../problem";

/**
 * `GET /__bench/baseline`: one raw `fetch` to the REST endpoint (a PING) and nothing else, the
 * baseline every benchmark scenario is compared with. Enabled only by
 * ENABLE_BENCH_ROUTES="true" (set by `npm run bench`), and never part of the OpenAPI document.
 */
export const benchRoutes = createRouter().get("/__bench/baseline", async (c) => {
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = c.env;
  if (!c.var.config.benchRoutes || !url || !token) {
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
