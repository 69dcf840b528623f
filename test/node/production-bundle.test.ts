/**
 * What would be deployed is what is tested: the production bundle, built by wrangler exactly as
 * `wrangler deploy` builds it, holds no bench-only code, and that bundle itself (not the
 * sources) serves every feature and a Cron Trigger in Miniflare, against the local endpoint and
 * a real Redis.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bundle, buildBundle, type MiniflareWorker, startMiniflareWorker } from "../../bench/miniflare";
import { startLocalStack, type LocalStack } from "./local-stack";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Strings only the anchor packages put in a bundle. */
const BENCH_ONLY = ["node_modules/@upstash/ratelimit", '"@upstash/ratelimit"', "node_modules/@upstash/lock", "DEFAULT_RETRY_ATTEMPTS", "/__bench/"];

const codeOf = (bundle: Bundle) => readFileSync(bundle.scriptPath, "utf8");

describe("the production bundle", () => {
  const bundles: Bundle[] = [];
  let production: Bundle;
  let stack: LocalStack;
  let worker: MiniflareWorker;
  let mf: Miniflare;
  const token = "b".repeat(48);
  // The read-through proxy's origin: counts what it serves.
  let originHits = 0;
  const origin: Server = createServer((req, res) => {
    originHits++;
    res.writeHead(200, { "Content-Type": "text/plain", "Cache-Control": "max-age=60", "Cache-Tag": "origin" });
    res.end(`origin ${req.url}`);
  });

  beforeAll(async () => {
    production = await buildBundle(root);
    bundles.push(production);
    stack = await startLocalStack();
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    // The deployed configuration: wrangler.toml's vars and rate-limiting bindings.
    worker = await startMiniflareWorker({
      bundle: production,
      vars: {
        UPSTASH_REDIS_REST_URL: stack.endpoint.url,
        UPSTASH_REDIS_REST_TOKEN: stack.endpoint.token,
        API_TOKEN: token,
        KEY_PREFIX: `bundle${Date.now()}`,
        ORIGIN_URL: `http://127.0.0.1:${(origin.address() as AddressInfo).port}/assets`,
      },
    });
    mf = worker.miniflare;
  }, 180_000);

  afterAll(async () => {
    await worker?.dispose();
    await stack?.stop();
    origin.close();
    for (const bundle of bundles) bundle.remove();
  });

  it("contains no bench-only code: no /__bench routes, neither @upstash/ratelimit nor @upstash/lock", () => {
    const code = codeOf(production);
    for (const marker of BENCH_ONLY) expect(code.includes(marker), marker).toBe(false);
    expect(production.size).toMatch(/KiB/);
  });

  it("the check would see them: the bench Worker's bundle contains them", async () => {
    const bench = await buildBundle(root, join("bench", "wrangler.toml"));
    bundles.push(bench);
    const code = codeOf(bench);
    for (const marker of BENCH_ONLY) expect(code.includes(marker), marker).toBe(true);
  }, 120_000);

  it("serves every feature, from the bundle itself", async () => {
    const call = async (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
      const res = await mf.dispatchFetch(`http://bundle.test${path}`, {
        method: init.method ?? (init.body === undefined ? "GET" : "POST"),
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...init.headers },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await call("/health")).toMatchObject({ status: 200, body: { status: "ok" } });
    expect((await call("/v1/cache/k", { method: "PUT", body: { value: { a: 1 }, ttl: 60, tags: ["t"] } })).status).toBe(201);
    expect(await call("/v1/cache/k")).toMatchObject({ status: 200, body: { value: { a: 1 }, tags: ["t"] } });
    expect((await call("/v1/rate/api/someone", { body: {} })).body).toMatchObject({ allowed: true });
    expect((await call("/v1/counters/hits", { method: "POST", body: { by: 2 } })).status).toBe(200);
    expect((await call("/v1/leaderboards/arena/scores", { body: { member: "ada", score: 10 } })).body).toMatchObject({ rank: 1 });
    expect((await call("/v1/leaderboards/arena")).body).toMatchObject({ entries: [{ member: "ada", score: 10 }] });
    const lease = await call("/v1/locks/job", { body: {} });
    expect(lease.status).toBe(201);
    const release = await mf.dispatchFetch("http://bundle.test/v1/locks/job", {
      method: "DELETE",
      headers: { Authorization: `Bearer ${token}`, "Lock-Token": String(lease.body.token) },
    });
    expect(release.status).toBe(204);
    const proxied = async () => {
      const res = await mf.dispatchFetch("http://bundle.test/v1/proxy/logo.txt", { headers: { Authorization: `Bearer ${token}` } });
      return { status: res.status, cache: res.headers.get("X-Cache"), body: await res.text() };
    };
    expect(await proxied()).toEqual({ status: 200, cache: "MISS", body: "origin /assets/logo.txt" });
    expect(await proxied()).toEqual({ status: 200, cache: "HIT", body: "origin /assets/logo.txt" });
    expect(originHits).toBe(1);
  });

  it("runs its Cron Trigger: a scheduled invalidation that is due is applied", async () => {
    const call = (path: string, method: string, body?: unknown) =>
      mf.dispatchFetch(`http://bundle.test${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect((await call("/v1/cache/due", "PUT", { value: 1, ttl: 600, tags: ["later"] })).status).toBe(201);
    const at = new Date(Date.now() + 60_000).toISOString();
    expect((await call("/v1/cache/invalidate", "POST", { tags: ["later"], at })).status).toBe(202);
    const worker = await mf.getWorker();
    // The cron firing's scheduledTime is after `at`, as Cloudflare's would be a minute later.
    const result = await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date(Date.now() + 120_000) });
    expect(result.outcome).toBe("ok");
    expect((await call("/v1/cache/due", "GET")).status).toBe(404);
  });
});
