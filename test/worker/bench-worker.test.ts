import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import benchWorker from "../../bench/worker/index";
import { api, countRoundTrips, uniqueName } from "./helpers";

/**
 * The bench-only Worker (bench/worker/index.ts): the production app plus `/__bench/*`. The
 * production Worker has none of these routes; the bench routes need the API token.
 */
async function bench(path: string, init: RequestInit = {}, auth = true): Promise<Response> {
  const headers = new Headers(init.headers);
  if (auth) headers.set("Authorization", `Bearer ${env.API_TOKEN}`);
  const ctx = createExecutionContext();
  const res = await benchWorker.fetch(new Request(`http://worker.test${path}`, { method: "POST", ...init, headers }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("the production Worker", () => {
  it("has no /__bench routes", async () => {
    expect((await api("/__bench/baseline")).status).toBe(404);
    expect((await api(`/__bench/cache/fetch/${uniqueName()}`, { method: "POST" })).status).toBe(404);
  });
});

describe("the bench Worker", () => {
  it("needs the API token, and its baseline does one raw fetch to Redis", async () => {
    expect((await bench("/__bench/baseline", { method: "GET" }, false)).status).toBe(401);
    const res = await bench("/__bench/baseline", { method: "GET" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("runs the cache: fetch misses, fills, hits, and invalidate empties", async () => {
    const key = uniqueName("fill");
    expect(await (await bench(`/__bench/cache/fetch/${key}`)).json()).toEqual({ status: "MISS" });
    expect(await (await bench(`/__bench/cache/fetch/${key}`)).json()).toEqual({ status: "HIT" });
    expect((await bench("/__bench/cache/invalidate/bench-fill")).status).toBe(200);
    expect(await (await bench(`/__bench/cache/fetch/${key}`)).json()).toEqual({ status: "MISS" });
    expect((await bench(`/__bench/cache/nope/${key}`)).status).toBe(404);
  });

  it("answers a hot key from the isolate's L1 with fetch-l1, until the L1 is cleared", async () => {
    const key = uniqueName("hot");
    expect(await (await bench(`/__bench/cache/fetch-l1/${key}`)).json()).toEqual({ status: "MISS" });
    expect(await (await bench(`/__bench/cache/fetch-l1/${key}`)).json()).toEqual({ status: "HIT" });
    expect(await (await bench(`/__bench/cache/fetch-l1/${key}`)).json()).toEqual({ status: "HIT-L1" });
    expect(await (await bench("/__bench/l1/clear")).json()).toEqual({ cleared: true });
    expect(await (await bench(`/__bench/cache/fetch-l1/${key}`)).json()).toEqual({ status: "HIT" });
  });

  it("runs both rate limiters for every algorithm", async () => {
    for (const impl of ["ours", "upstash"]) {
      for (const algorithm of ["fixed-window", "sliding-window", "token-bucket"]) {
        const id = uniqueName("bench");
        const statuses: number[] = [];
        for (const mode of ["steady", "steady", "blocked", "blocked", "blocked"]) {
          statuses.push((await bench(`/__bench/ratelimit/${impl}/${algorithm}/${mode}/${id}`)).status);
        }
        expect(statuses, `${impl} ${algorithm}`).toEqual([200, 200, 200, 429, 429]);
      }
    }
  });

  it("runs this limiter with leases: a hot identifier's checks are admitted from the lease", async () => {
    for (const algorithm of ["fixed-window", "sliding-window", "token-bucket"]) {
      const path = `/__bench/ratelimit/ours/${algorithm}/lease/${uniqueName("hot")}`;
      expect((await bench(path)).status).toBe(200); // takes the lease
      const { result, requests } = await countRoundTrips(async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++) statuses.push((await bench(path)).status);
        return statuses;
      });
      expect(result.every((status) => status === 200)).toBe(true);
      expect(requests, algorithm).toBe(0);
    }
    expect((await bench(`/__bench/ratelimit/upstash/fixed-window/lease/${uniqueName("hot")}`)).status).toBe(404);
  });

  it("runs both locks: acquire, hold, release", async () => {
    for (const impl of ["core", "upstash-lock"]) {
      const res = await bench(`/__bench/lock/${impl}/${uniqueName("lock")}`, { body: JSON.stringify({ holdMs: 1 }) });
      expect(await res.json(), impl).toEqual({ acquired: true, released: true });
    }
  });
});
