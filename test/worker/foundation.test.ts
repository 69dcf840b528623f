import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../functions/index";
import { api, clearFaults, countRoundTrips, setFaults } from "./helpers";

async function problemOf(res: Response) {
  expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  const body = await res.json<{ type: string; title: string; status: number; detail: string }>();
  expect(body.status).toBe(res.status);
  expect(typeof body.type).toBe("string");
  expect(typeof body.title).toBe("string");
  expect(typeof body.detail).toBe("string");
  return body;
}

/** Calls the Worker with its own env object (an isolate's worth of per-env state of its own). */
function callWorker(path: string, overrides: Partial<Cloudflare.Env>, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  return worker.fetch(new Request(`http://worker.test${path}`, init), { ...env, ...overrides }, ctx);
}

afterEach(clearFaults);

describe("GET /health", () => {
  it("answers ok when Redis answers, probing Redis at most once a second and saying how old the answer is", async () => {
    const isolateEnv = { ...env }; // an isolate's env: no probe remembered yet
    const { result, requests } = await countRoundTrips(async () => {
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await worker.fetch(new Request("http://worker.test/health"), isolateEnv, createExecutionContext()));
      return answers;
    });
    expect(requests).toBe(1);
    for (const res of result) {
      expect(res.status).toBe(200);
      const body = await res.json<{ status: string; redis: { ok: boolean; latencyMs: number; checkedAt: string; ageMs: number } }>();
      expect(body).toMatchObject({ status: "ok", redis: { ok: true } });
      expect(body.redis.ageMs).toBeLessThanOrEqual(1000);
      expect(Date.parse(body.redis.checkedAt)).toBeLessThanOrEqual(Date.now());
    }
  });

  it("answers 503 degraded when the REST endpoint fails", async () => {
    await setFaults({ down: "5xx" });
    const res = await callWorker("/health", {});
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "degraded", redis: { ok: false } });
  });

  it("gives up after REDIS_TIMEOUT_MS instead of hanging", async () => {
    await setFaults({ latencyMs: 5000 });
    const started = Date.now();
    const res = await callWorker("/health", { REDIS_TIMEOUT_MS: "300", REDIS_RETRIES: "0" });
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it("answers 503 degraded when Redis is not configured", async () => {
    const res = await callWorker("/health", { UPSTASH_REDIS_REST_URL: undefined });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "degraded", redis: { ok: false } });
  });
});

describe("authentication of /v1/*", () => {
  it("401 without a token, with a problem body and WWW-Authenticate", async () => {
    const res = await api("/v1/anything", { auth: false });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    expect((await problemOf(res)).type).toBe("urn:problem:unauthorized");
  });

  it("401 with a wrong token, including a prefix of the right one", async () => {
    for (const token of ["wrong", env.API_TOKEN!.slice(0, -1), `${env.API_TOKEN}x`]) {
      const res = await api("/v1/anything", { auth: false, headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    }
  });

  it("a placeholder or short API_TOKEN is a 500 misconfigured naming it, even for its own value", async () => {
    for (const token of ["change-me", "secret", "x".repeat(31), "please-change-me-xxxxxxxxxxxxxxxxxxxxxxxx"]) {
      const res = await callWorker("/v1/anything", { API_TOKEN: token }, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status, token).toBe(500);
      const body = await problemOf(res);
      expect(body.type).toBe("urn:problem:misconfigured");
      expect(body.detail).toContain("API_TOKEN");
      expect(body.detail).not.toContain(token);
    }
  });

  it("503 not configured when API_TOKEN is unset, instead of running open", async () => {
    const res = await callWorker("/v1/anything", { API_TOKEN: undefined }, { headers: { Authorization: "Bearer x" } });
    expect(res.status).toBe(503);
    expect((await problemOf(res)).type).toBe("urn:problem:not-configured");
  });

  it("lets the right token through (to a 404 problem for an unknown route)", async () => {
    const res = await api("/v1/no-such-route");
    expect(res.status).toBe(404);
    expect((await problemOf(res)).detail).toContain("/v1/no-such-route");
  });
});

describe("errors and limits", () => {
  it("unknown public routes get a 404 problem", async () => {
    const res = await api("/nope", { auth: false });
    expect(res.status).toBe(404);
    await problemOf(res);
  });

  it("bodies over MAX_BODY_BYTES get 413", async () => {
    const big = "x".repeat(2 * 1024 * 1024);
    const res = await api("/v1/anything", { method: "POST", body: big });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).type).toBe("urn:problem:body-too-large");
  });

  it("the body limit is configurable", async () => {
    const res = await callWorker(
      "/v1/anything",
      { MAX_BODY_BYTES: "2048" },
      { method: "POST", body: "x".repeat(4096), headers: { Authorization: `Bearer ${env.API_TOKEN}` } },
    );
    expect(res.status).toBe(413);
  });

  it("an invalid var is a 500 problem naming it", async () => {
    const res = await callWorker("/health", { REDIS_TIMEOUT_MS: "soon" });
    expect(res.status).toBe(500);
    expect((await problemOf(res)).detail).toContain("REDIS_TIMEOUT_MS");
  });
});

describe("documentation", () => {
  it("serves the OpenAPI document with the bearer scheme", async () => {
    const res = await api("/openapi.json", { auth: false });
    expect(res.status).toBe(200);
    const doc = await res.json<{ openapi: string; paths: Record<string, unknown>; components: { securitySchemes: Record<string, unknown> } }>();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/health"]).toBeDefined();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("documents every endpoint, each /v1 one with the bearer requirement and problem responses", async () => {
    const doc = await (await api("/openapi.json", { auth: false })).json<{
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
    }>();
    const expected: Array<[string, string]> = [
      ["/v1/cache/{key}", "put"],
      ["/v1/cache/{key}", "get"],
      ["/v1/cache/{key}", "delete"],
      ["/v1/cache/invalidate", "post"],
      ["/v1/cache/invalidations", "get"],
      ["/v1/cache/invalidations/{id}", "delete"],
      ["/v1/proxy/{path}", "get"],
      ["/v1/rate/{policy}/{id}", "post"],
      ["/v1/rate/{policy}/{id}", "get"],
      ["/v1/rate/{policy}/{id}", "delete"],
      ["/v1/counters/{name}", "post"],
      ["/v1/counters/{name}", "get"],
      ["/v1/leaderboards/{board}/scores", "post"],
      ["/v1/leaderboards/{board}/scores/batch", "post"],
      ["/v1/leaderboards/{board}", "get"],
      ["/v1/leaderboards/{board}", "delete"],
      ["/v1/leaderboards/{board}/members/{member}", "get"],
      ["/v1/leaderboards/{board}/members/{member}", "delete"],
      ["/v1/locks/{name}", "post"],
      ["/v1/locks/{name}", "get"],
      ["/v1/locks/{name}", "delete"],
      ["/v1/locks/{name}/extend", "post"],
    ];
    for (const [path, method] of expected) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(operation!.security).toEqual([{ bearerAuth: [] }]);
      expect(operation!.responses["401"]).toBeDefined();
    }
    // Bench-only routes stay out of the public document.
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/__bench"))).toEqual([]);
  });

  it("GET / is a small public index pointing to the docs, the document, the health check and the console", async () => {
    const res = await api("/", { auth: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ links: { docs: "/docs", openapi: "/openapi.json", health: "/health", console: "/console/" } });
  });

  it("serves an interactive docs page whose scripts are all this Worker's own assets", async () => {
    const res = await api("/docs", { auth: false });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    expect(res.headers.get("Content-Security-Policy")).toContain("script-src 'self';");
    const html = await res.text();
    const sources = [...html.matchAll(/<(?:script|link)[^>]+(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    // Static assets (public/docs/); that they load and render is shown in a real browser (test/browser/docs.test.ts).
    expect(sources).toEqual(["/docs/vendor/swagger-ui.css", "/docs/vendor/swagger-ui-bundle.js", "/docs/init.js"]);
  });
});
