import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createClient } from "../../functions/client";
import { uniqueName } from "./helpers";

/**
 * The typed client (`createClient` over Hono's `hc<AppType>`) against the real Worker: one
 * round trip of every feature, so a route whose types or paths drift from the client breaks
 * here (and in `tsc`), not in a user's app.
 */
const api = createClient("http://worker.test", { token: env.API_TOKEN!, fetch: SELF.fetch.bind(SELF) as typeof fetch });

describe("typed client", () => {
  it("stores, reads and invalidates a cache entry by tag", async () => {
    const key = uniqueName("client-cache");
    const tag = uniqueName("tag");
    const put = await api.v1.cache[":key"].$put({ param: { key }, json: { value: { name: "Ada" }, ttl: 60, tags: [tag] } });
    expect(put.status).toBe(201);

    const read = await api.v1.cache[":key"].$get({ param: { key }, header: {} });
    expect(read.status).toBe(200);
    if (read.status !== 200) return;
    const entry = await read.json();
    expect(entry.value).toEqual({ name: "Ada" });
    expect(entry.tags).toEqual([tag]);

    const invalidated = await api.v1.cache.invalidate.$post({ json: { tags: [tag] } });
    expect(invalidated.status).toBe(200);
    expect((await api.v1.cache[":key"].$get({ param: { key }, header: {} })).status).toBe(404);
  });

  it("spends from a rate policy and peeks without spending", async () => {
    const id = uniqueName("client-rate");
    const check = await api.v1.rate[":policy"][":id"].$post({ param: { policy: "api", id }, json: { cost: 5 } });
    expect(check.status).toBe(200);
    if (check.status !== 200) return;
    const spent = await check.json();
    expect(spent).toMatchObject({ policy: "api", allowed: true, remaining: spent.limit - 5 });

    const peek = await api.v1.rate[":policy"][":id"].$get({ param: { policy: "api", id } });
    expect(peek.status).toBe(200);
    if (peek.status !== 200) return;
    expect((await peek.json()).remaining).toBe(spent.remaining);
  });

  it("counts hits and reads them back as a series", async () => {
    const name = uniqueName("client-counter");
    const hit = await api.v1.counters[":name"].$post({ param: { name }, json: { by: 3 } });
    expect(hit.status).toBe(200);
    if (hit.status !== 200) return;
    expect((await hit.json()).hour).toBe(3);

    const series = await api.v1.counters[":name"].$get({ param: { name }, query: { granularity: "hour", buckets: "2" } });
    expect(series.status).toBe(200);
    if (series.status !== 200) return;
    const body = await series.json();
    expect(body.total).toBe(3);
    expect(body.buckets).toHaveLength(2);
  });

  it("submits scores and reads the board's top", async () => {
    const board = uniqueName("client-board");
    for (const [member, score] of [["alice", 30], ["bob", 50]] as const) {
      const submitted = await api.v1.leaderboards[":board"].scores.$post({ param: { board }, json: { member, score } });
      expect(submitted.status).toBe(200);
    }
    const top = await api.v1.leaderboards[":board"].$get({ param: { board }, query: { limit: "10" }, header: {} });
    expect(top.status).toBe(200);
    if (top.status !== 200) return;
    const page = await top.json();
    expect(page.entries.map((e) => [e.rank, e.member, e.score])).toEqual([
      [1, "bob", 50],
      [2, "alice", 30],
    ]);
  });

  it("acquires a lock, sees it held, and releases it with its token", async () => {
    const name = uniqueName("client-lock");
    const acquired = await api.v1.locks[":name"].$post({ param: { name }, json: { ttlMs: 10_000 } });
    expect(acquired.status).toBe(201);
    if (acquired.status !== 201) return;
    const lease = await acquired.json();

    const second = await api.v1.locks[":name"].$post({ param: { name }, json: {} });
    expect(second.status).toBe(409);

    const status = await api.v1.locks[":name"].$get({ param: { name } });
    expect(await status.json()).toMatchObject({ locked: true, fence: lease.fence });

    const released = await api.v1.locks[":name"].$delete({ param: { name }, header: { "lock-token": lease.token } });
    expect(released.status).toBe(204);
    expect(await (await api.v1.locks[":name"].$get({ param: { name } })).json()).toEqual({ locked: false });
  });

  it("sends the bearer token: a client with a wrong one gets 401", async () => {
    const wrong = createClient("http://worker.test", { token: "x".repeat(48), fetch: SELF.fetch.bind(SELF) as typeof fetch });
    const res = await wrong.v1.locks[":name"].$get({ param: { name: uniqueName("client-auth") } });
    expect(res.status).toBe(401);
  });
});
