import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../functions/index";
import { api, clearFaults, json, setFaults, sleep, uniqueName } from "./helpers";

interface Programmed {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
  drop?: boolean;
  repeat?: number;
  chunked?: boolean;
}

/** Sets what the test origin answers for `path`. */
async function program(path: string, response: Programmed): Promise<void> {
  const res = await fetch(`${env.TEST_ORIGIN_URL}/__origin/routes${path}`, { method: "PUT", body: JSON.stringify(response) });
  expect(res.status).toBe(204);
}

/** How often the origin served `path`, and the path and query of each request. */
async function originHits(path: string): Promise<{ hits: number; urls: string[] }> {
  return (await fetch(`${env.TEST_ORIGIN_URL}/__origin/hits${path}`)).json();
}

/** GET /v1/proxy<pathAndQuery> with ORIGIN_URL set to the test origin; waits for background refreshes. */
async function proxy(pathAndQuery: string, overrides: Partial<Cloudflare.Env> = {}, prefix = "/v1/proxy") {
  const ctx = createExecutionContext();
  const request = new Request(`http://worker.test${prefix}${pathAndQuery}`, { headers: { Authorization: `Bearer ${env.API_TOKEN}` } });
  const res = await worker.fetch(request, { ...env, ORIGIN_URL: env.TEST_ORIGIN_URL, ...overrides }, ctx);
  // Bytes decoded here, not res.text(): an origin body may be typed application/octet-stream.
  const body = new TextDecoder().decode(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { status: res.status, body, xCache: res.headers.get("X-Cache"), age: res.headers.get("Age"), headers: res.headers };
}

const path = () => `/${uniqueName("p")}`;

describe("read-through proxy", () => {
  it.concurrent("caches for s-maxage (over max-age), keys on the query string, and says HIT with Age", async () => {
    const p = path();
    await program(p, { headers: { "Cache-Control": "public, max-age=1, s-maxage=60", "Content-Type": "text/plain" }, body: "v1" });
    const first = await proxy(`${p}?x=1`);
    expect(first).toMatchObject({ status: 200, body: "v1", xCache: "MISS", age: "0" });
    expect(first.headers.get("Content-Type")).toBe("text/plain");
    expect(await proxy(`${p}?x=1`)).toMatchObject({ body: "v1", xCache: "HIT" });
    expect(await proxy(`${p}?x=2`)).toMatchObject({ body: "v1", xCache: "MISS" });
    expect(await originHits(p)).toEqual({ hits: 2, urls: [`${p}?x=1`, `${p}?x=2`] });
    await sleep(1100); // past max-age, within s-maxage
    const later = await proxy(`${p}?x=1`);
    expect(later).toMatchObject({ body: "v1", xCache: "HIT" });
    expect(Number(later.age)).toBeGreaterThanOrEqual(1);
  });

  it.concurrent("uses max-age when there is no s-maxage: a miss again after it", async () => {
    const p = path();
    await program(p, { headers: { "Cache-Control": "max-age=1" }, body: "m" });
    expect((await proxy(p)).xCache).toBe("MISS");
    expect((await proxy(p)).xCache).toBe("HIT");
    await sleep(1100);
    expect((await proxy(p)).xCache).toBe("MISS");
    expect((await originHits(p)).hits).toBe(2);
  });

  it.concurrent("stale-while-revalidate: serves STALE once, refreshes in the background, then HIT with the new body", async () => {
    const p = path();
    await program(p, { headers: { "Cache-Control": "max-age=1, stale-while-revalidate=30" }, body: "v1" });
    expect((await proxy(p)).xCache).toBe("MISS");
    await program(p, { headers: { "Cache-Control": "max-age=1, stale-while-revalidate=30" }, body: "v2" });
    await sleep(1100);
    expect(await proxy(p)).toMatchObject({ status: 200, body: "v1", xCache: "STALE" });
    expect(await proxy(p)).toMatchObject({ body: "v2", xCache: "HIT" });
    expect((await originHits(p)).hits).toBe(2);
  });

  it.concurrent("stale-if-error: a failing or unreachable origin gets the stale body; without it, 502", async () => {
    const [p, q] = [path(), path()];
    await program(p, { headers: { "Cache-Control": "max-age=1, stale-if-error=30" }, body: "kept" });
    await program(q, { headers: { "Cache-Control": "max-age=1" }, body: "lost" });
    expect((await proxy(p)).xCache).toBe("MISS");
    expect((await proxy(q)).xCache).toBe("MISS");
    await program(p, { status: 503, body: "down" });
    await program(q, { status: 503, body: "down" });
    await sleep(1100);
    expect(await proxy(p)).toMatchObject({ status: 200, body: "kept", xCache: "STALE" });
    await program(p, { drop: true });
    expect(await proxy(p)).toMatchObject({ status: 200, body: "kept", xCache: "STALE" });
    const failed = await proxy(q);
    expect(failed.status).toBe(502);
    expect(JSON.parse(failed.body)).toMatchObject({ type: "urn:problem:origin-failed", detail: "The origin answered 503" });
  });

  it("no-store, private, no-cache, Set-Cookie and no freshness bypass the cache", async () => {
    const cases = ["no-store", "private, max-age=60", "no-cache, max-age=60", "", "max-age=0"];
    for (const cacheControl of cases) {
      const p = path();
      await program(p, { headers: cacheControl ? { "Cache-Control": cacheControl } : {}, body: "b" });
      expect(await proxy(p)).toMatchObject({ status: 200, body: "b", xCache: "BYPASS", age: "0" });
      expect((await proxy(p)).xCache).toBe("BYPASS");
      expect((await originHits(p)).hits).toBe(2);
    }
    const p = path();
    await program(p, { headers: { "Cache-Control": "max-age=60", "Set-Cookie": "s=1" }, body: "c" });
    expect((await proxy(p)).xCache).toBe("BYPASS");
    expect((await proxy(p)).xCache).toBe("BYPASS");
  });

  it("non-200 origin answers pass through uncached", async () => {
    const p = path();
    await program(p, { status: 404, headers: { "Cache-Control": "max-age=60", "Content-Type": "text/plain" }, body: "nope" });
    expect(await proxy(p)).toMatchObject({ status: 404, body: "nope", xCache: "BYPASS" });
    expect(await proxy(p)).toMatchObject({ status: 404, xCache: "BYPASS" });
  });

  it("Cache-Tag and Surrogate-Key tags: invalidating one of them makes the next request a MISS", async () => {
    const [p, q] = [path(), path()];
    const [a, b, x, y] = ["a", "b", "x", "y"].map((t) => uniqueName(t));
    await program(p, { headers: { "Cache-Control": "max-age=60", "Cache-Tag": `${a}, ${b}` }, body: "tagged" });
    await program(q, { headers: { "Cache-Control": "max-age=60", "Surrogate-Key": `${x} ${y}` }, body: "keyed" });
    for (const target of [p, q]) {
      expect((await proxy(target)).xCache).toBe("MISS");
      expect((await proxy(target)).xCache).toBe("HIT");
    }
    expect((await api("/v1/cache/invalidate", json({ tags: [b, y] }))).status).toBe(200);
    for (const target of [p, q]) expect((await proxy(target)).xCache).toBe("MISS");
    expect((await originHits(p)).hits).toBe(2);
    expect((await originHits(q)).hits).toBe(2);
  });

  it("origin down or too slow with nothing cached: a 502 problem, within the timeout", async () => {
    const [down, slow] = [path(), path()];
    await program(down, { drop: true });
    await program(slow, { delayMs: 3000, headers: { "Cache-Control": "max-age=60" }, body: "late" });
    const failed = await proxy(down);
    expect(failed.status).toBe(502);
    expect(JSON.parse(failed.body)).toMatchObject({ type: "urn:problem:origin-failed" });
    const started = Date.now();
    const timedOut = await proxy(slow, { ORIGIN_TIMEOUT_MS: "300" });
    expect(timedOut.status).toBe(502);
    expect(JSON.parse(timedOut.body).detail).toBe("The origin did not answer within 300 ms");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("concurrent misses for one URL fetch the origin once", async () => {
    const p = path();
    await program(p, { delayMs: 200, headers: { "Cache-Control": "max-age=60" }, body: "once" });
    const results = await Promise.all(Array.from({ length: 20 }, () => proxy(p)));
    expect(results.every((r) => r.body === "once" && r.status === 200)).toBe(true);
    expect((await originHits(p)).hits).toBe(1);
  });

  it("serves the origin uncached (BYPASS) while Redis is unavailable", async () => {
    const p = path();
    await program(p, { headers: { "Cache-Control": "max-age=60" }, body: "direct" });
    await setFaults({ down: "5xx" });
    try {
      expect(await proxy(p)).toMatchObject({ status: 200, body: "direct", xCache: "BYPASS", age: "0" });
    } finally {
      await clearFaults();
    }
    expect((await proxy(p)).xCache).toBe("MISS"); // nothing was stored meanwhile
    expect((await originHits(p)).hits).toBe(2);
  });

  it("answers 503 when ORIGIN_URL is not configured", async () => {
    const res = await proxy(path(), { ORIGIN_URL: undefined });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ type: "urn:problem:proxy-not-configured" });
  });
});

describe("proxy hardening", () => {
  it("a percent-encoded route cannot steer the request off ORIGIN_URL: the routed path is what reaches the origin", async () => {
    const p = path();
    await program(p, { headers: { "Cache-Control": "max-age=60" }, body: "right place" });
    // "/v1/%70roxy/..." routes to the proxy; the target is built from the routed path.
    const res = await proxy(p, { ORIGIN_URL: `${env.TEST_ORIGIN_URL}/` }, "/v1/%70roxy");
    expect(res).toMatchObject({ status: 200, body: "right place" });
    expect((await originHits(p)).urls).toEqual([p]);
  });

  it("keeps a base path: a bucket-style ORIGIN_URL never reaches a sibling", async () => {
    const p = path();
    await program(`/bucket${p}`, { headers: { "Cache-Control": "max-age=60" }, body: "in bucket" });
    expect(await proxy(p, { ORIGIN_URL: `${env.TEST_ORIGIN_URL}/bucket` }, "/v1/%70roxy")).toMatchObject({ status: 200, body: "in bucket" });
    expect((await originHits(`/bucket${p}`)).hits).toBe(1);
  });

  it("refuses with 400, and without any origin request, paths that escape: encoded slashes or backslashes, '//host'", async () => {
    // (Literal ".." segments and backslashes never arrive: URL parsing resolves them before any
    // handler runs. The core refuses them too; see test/unit/cache.test.ts.)
    const p = path();
    for (const bad of [`/a/..%2F..${p}`, `/a%2F..${p}`, `/a%2f..${p}`, `//evil.example${p}`, `/a%5C..${p}`, `/%2e%2e%2f${p}`]) {
      const res = await proxy(bad);
      expect(res.status, bad).toBe(400);
      expect(JSON.parse(res.body), bad).toMatchObject({ type: "urn:problem:invalid-input" });
    }
    expect((await originHits(p)).hits).toBe(0);
  });

  it("streams a body over CACHE_MAX_VALUE_BYTES through uncached, whether Content-Length says so or only the count does", async () => {
    for (const chunked of [false, true]) {
      const p = path();
      await program(p, { headers: { "Cache-Control": "max-age=60", "Content-Type": "text/plain" }, body: "0123456789", repeat: 500, chunked });
      const first = await proxy(p, { CACHE_MAX_VALUE_BYTES: "1024" });
      expect(first, `chunked ${chunked}`).toMatchObject({ status: 200, xCache: "BYPASS" });
      expect(first.body).toBe("0123456789".repeat(500));
      expect((await proxy(p, { CACHE_MAX_VALUE_BYTES: "1024" })).xCache).toBe("BYPASS");
      expect((await originHits(p)).hits).toBe(2);
    }
  });

  it("passes bodiless statuses (204, 304) through instead of failing", async () => {
    for (const status of [204, 304]) {
      const p = path();
      await program(p, { status, headers: { "Cache-Control": "max-age=60" } });
      const res = await proxy(p);
      expect(res, String(status)).toMatchObject({ status, body: "", xCache: "BYPASS" });
    }
  });

  it("marks every proxied response nosniff and sandboxed, so origin HTML never runs as the API's origin", async () => {
    const p = path();
    await program(p, { headers: { "Cache-Control": "max-age=60", "Content-Type": "text/html" }, body: "<script>alert(1)</script>" });
    for (const res of [await proxy(p), await proxy(p)]) {
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("Content-Security-Policy")).toBe("sandbox");
    }
  });
});
