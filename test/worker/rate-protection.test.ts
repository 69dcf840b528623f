import { env } from "cloudflare:test";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import type { AppEnv } from "../../functions/platform/app-env";
import { requireApiToken } from "../../functions/platform/auth";
import { guardAuthFailures, LocalBlocks, type BindingLimit } from "../../functions/platform/protection";
import { api, clearFaults, countCacheRoute, countRoundTrips, json, setFaults, uniqueName } from "./helpers";
import { callWorker as call, parseList, problem, scanAll } from "./rate-helpers";

/**
 * API protection through the real Worker: by default Cloudflare's rate-limiting bindings
 * (Miniflare runs them here), which cost no Upstash request; Upstash-backed policies when
 * RATE_POLICIES names them. The bindings count in windows of their period; a test that must
 * stay inside one window repeats itself with a fresh client when a window ended under it.
 */

afterEach(clearFaults);

/** A client address no other test has used: random in 10.0.0.0/8. */
function freshIp(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
}

/** The first 64 bits of an IPv6 client no other test has used, e.g. "2001:db8:1a2b:3c4d". */
function freshIpv6Prefix(): string {
  const [a, b] = crypto.getRandomValues(new Uint16Array(2));
  return `2001:db8:${a!.toString(16)}:${b!.toString(16)}`;
}

/** The AUTH_FAILURES binding (10 per 60 s) guarding public routes: a small real limit to observe. */
const SMALL_PUBLIC = JSON.stringify({ middleware: { public: { binding: "AUTH_FAILURES", limit: 10, period: 60 } } });

/**
 * Runs `attempt` (which must use fresh clients) until it ran inside one window of `periodS`
 * seconds of the binding's clock, at most 3 times.
 */
async function inOneWindow<T>(periodS: number, attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    const window = Math.floor(Date.now() / (periodS * 1000));
    const result = await attempt();
    if (Math.floor(Date.now() / (periodS * 1000)) === window || i === 2) return result;
  }
}

describe("by default (Cloudflare's rate-limiting bindings)", () => {
  it("a cache GET over HTTP is exactly one REST request: protection adds none", async () => {
    const key = uniqueName("protected");
    expect((await api(`/v1/cache/${key}`, json({ value: 1, ttl: 60 }, { method: "PUT" }))).status).toBe(201);
    const get = () => call(`/v1/cache/${key}`, { headers: { "CF-Connecting-IP": freshIp() } }, { RATE_POLICIES: undefined });
    await get();
    const { result: res, requests } = await countCacheRoute(get, 1);
    expect(res.status).toBe(200);
    expect(requests).toBe(1);
    expect(parseList(res.headers.get("RateLimit-Policy")!)).toEqual([{ value: "api", params: { q: 10_000, w: 10 } }]);
    expect(res.headers.get("RateLimit")).toBeNull(); // a binding tells nothing of what is left
  });

  it("public routes and 404s cost no Upstash request for the protection; /health only its own PING", async () => {
    const ip = freshIp();
    const health = await countRoundTrips(() => call("/health", { headers: { "CF-Connecting-IP": ip } }, { RATE_POLICIES: undefined }));
    expect(health.result.status).toBe(200);
    expect(health.requests).toBe(1);
    expect(health.byCommand).toEqual({ PING: 1 });
    expect(parseList(health.result.headers.get("RateLimit-Policy")!)).toEqual([{ value: "public", params: { q: 100, w: 10 } }]);
    const missing = await countRoundTrips(() => call("/no-such-page", { headers: { "CF-Connecting-IP": ip } }, { RATE_POLICIES: undefined }));
    expect(missing.result.status).toBe(404);
    expect(missing.requests).toBe(0);
  });

  it("does not disturb a client making hundreds of requests at once with one token", async () => {
    const responses = await Promise.all(Array.from({ length: 300 }, () => call("/v1/no-such-route", {}, { RATE_POLICIES: undefined })));
    expect(responses.map((r) => r.status).filter((s) => s !== 404)).toEqual([]);
  });

  it("the binding really limits: over its limit a client gets 429 with Retry-After of one period, at no Upstash cost", async () => {
    const { statuses, denied, requests } = await inOneWindow(60, async () => {
      const headers = { "CF-Connecting-IP": freshIp() };
      const counted = await countRoundTrips(async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 10; i++) statuses.push((await call(`/no-such-page-${i}`, { headers }, { RATE_POLICIES: SMALL_PUBLIC })).status);
        return { statuses, denied: await call("/openapi.json", { headers }, { RATE_POLICIES: SMALL_PUBLIC }) };
      });
      return { ...counted.result, requests: counted.requests };
    });
    expect(statuses).toEqual(Array(10).fill(404));
    expect(denied.status).toBe(429);
    expect(denied.headers.get("Retry-After")).toBe("60");
    expect(parseList(denied.headers.get("RateLimit-Policy")!)).toEqual([{ value: "public", params: { q: 10, w: 60 } }]);
    expect(await problem(denied)).toMatchObject({ type: "urn:problem:rate-limited", policy: "public" });
    expect(requests).toBe(0);
  });

  it("keys IPv6 clients by their /64: addresses of one /64 share a limit, another /64 has its own", async () => {
    const { statuses, other } = await inOneWindow(60, async () => {
      const prefix = freshIpv6Prefix();
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const address = `${prefix}:0:${(i + 1).toString(16)}::${i}`; // eleven addresses, one /64
        statuses.push((await call("/no-such-page", { headers: { "CF-Connecting-IP": address } }, { RATE_POLICIES: SMALL_PUBLIC })).status);
      }
      const neighbour = `${prefix.replace(/:[0-9a-f]+$/, (g) => `:${(parseInt(g.slice(1), 16) ^ 1).toString(16)}`)}:0:0::1`;
      return { statuses, other: (await call("/no-such-page", { headers: { "CF-Connecting-IP": neighbour } }, { RATE_POLICIES: SMALL_PUBLIC })).status };
    });
    expect(statuses).toEqual([...Array(10).fill(404), 429]);
    expect(other).toBe(404);
  });

  it("a binding that is not bound is a 500 problem naming it, never an unprotected route", async () => {
    const missing = JSON.stringify({ middleware: { public: { binding: "NO_SUCH_LIMITER", limit: 5, period: 10 } } });
    const res = await call("/health", { headers: { "CF-Connecting-IP": freshIp() } }, { RATE_POLICIES: missing });
    expect(res.status).toBe(500);
    const body = await problem(res);
    expect(body.type).toBe("urn:problem:misconfigured");
    expect(body.detail).toContain("NO_SUCH_LIMITER");
    expect((await call("/health", { headers: { "CF-Connecting-IP": freshIp() } }, { RATE_POLICIES: missing })).status).toBe(500);
  });
});

describe("failed authentications (AUTH_FAILURES: 10 per 60 s per client address)", () => {
  const wrong = { Authorization: "Bearer wrong-token" };

  it("after the limit, the address gets 429 for the rest of the period, even with the right token; other addresses do not", async () => {
    const outcome = await inOneWindow(60, async () => {
      const ip = freshIp();
      const counted = await countRoundTrips(async () => {
        const failures: number[] = [];
        for (let i = 0; i < 10; i++) failures.push((await call("/v1/no-such-route", { headers: { ...wrong, "CF-Connecting-IP": ip } })).status);
        const over = await call("/v1/no-such-route", { headers: { ...wrong, "CF-Connecting-IP": ip } });
        const right = await call("/v1/no-such-route", { headers: { "CF-Connecting-IP": ip } });
        const elsewhere = await call("/v1/no-such-route", { headers: { "CF-Connecting-IP": freshIp() } });
        return { failures, over, right, elsewhere };
      });
      return { ...counted.result, requests: counted.requests };
    });
    expect(outcome.failures).toEqual(Array(10).fill(401));
    for (const res of [outcome.over, outcome.right]) {
      expect(res.status).toBe(429);
      expect(await problem(res)).toMatchObject({ type: "urn:problem:rate-limited", policy: "auth-failures" });
      expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
      expect(Number(res.headers.get("Retry-After"))).toBeLessThanOrEqual(60);
      expect(res.headers.get("WWW-Authenticate")).toBeNull(); // not an invitation to try another token
    }
    expect(outcome.over.headers.get("Retry-After")).toBe("60");
    expect(outcome.elsewhere.status).toBe(404);
    expect(outcome.requests).toBe(0); // none of this touched Upstash
  });

  it("another isolate learns the block at the address's next failed attempt, which it answers 429", async () => {
    const limit: BindingLimit = { name: "auth-failures", binding: "AUTH_FAILURES", limit: 10, period: 60 };
    const isolate = () => {
      const app = new Hono<AppEnv>();
      app.use("*", guardAuthFailures(() => limit, new LocalBlocks()));
      app.use("*", requireApiToken);
      app.get("*", (c) => c.text("ok"));
      return app;
    };
    const first = isolate();
    const second = isolate();
    const request = (app: Hono<AppEnv>, ip: string, token = env.API_TOKEN!) =>
      app.request("/v1/x", { headers: { Authorization: `Bearer ${token}`, "CF-Connecting-IP": ip } }, env);
    const outcome = await inOneWindow(60, async () => {
      const ip = freshIp();
      for (let i = 0; i < 11; i++) await request(first, ip, "wrong");
      return {
        firstRight: (await request(first, ip)).status,
        secondRight: (await request(second, ip)).status, // the second isolate has not seen a failure yet
        secondWrong: (await request(second, ip, "wrong")).status,
        secondRightAfter: (await request(second, ip)).status,
      };
    });
    expect(outcome).toEqual({ firstRight: 429, secondRight: 200, secondWrong: 429, secondRightAfter: 429 });
  });

  it("is not counted without a client address, nor when RATE_POLICIES turns it off", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await call("/v1/no-such-route", { headers: wrong })).status);
    const ip = freshIp();
    const off = JSON.stringify({ middleware: { authFailures: false } });
    for (let i = 0; i < 12; i++) statuses.push((await call("/v1/no-such-route", { headers: { ...wrong, "CF-Connecting-IP": ip } }, { RATE_POLICIES: off })).status);
    expect(statuses).toEqual(Array(24).fill(401));
  });
});

describe("Upstash-backed policies (RATE_POLICIES names them)", () => {
  const withMiddleware = (middleware: object, extra: object = {}) => ({
    RATE_POLICIES: JSON.stringify({
      policies: {
        tiny: { algorithm: "fixed-window", limit: 3, window: "366d" },
        closed: { algorithm: "fixed-window", limit: 100, window: "366d", failure: "closed", timeout: "300ms" },
        ...extra,
      },
      middleware,
    }),
    KEY_PREFIX: uniqueName("mw"), // a fresh state for the (one) API token
  });
  // A route that exists and sends nothing to Redis: the middleware's request is the only one.
  const ROUTE = "/v1/rate/no-such-policy/x";

  it("guard /v1/* per API token: headers on success, a 429 problem past the limit, the handler not run", async () => {
    const overrides = withMiddleware({ v1: ["tiny"] });
    const name = uniqueName("guarded");
    for (let i = 2; i >= 0; i--) {
      const res = await call(`/v1/counters/${name}`, { method: "POST" }, overrides);
      expect(res.status).toBe(200);
      expect(parseList(res.headers.get("RateLimit")!)).toEqual([{ value: "tiny", params: { r: i, t: expect.any(Number) } }]);
    }
    const denied = await call(`/v1/counters/${name}`, { method: "POST" }, overrides);
    expect(denied.status).toBe(429);
    expect(Number(denied.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await problem(denied)).toMatchObject({ type: "urn:problem:rate-limited", policy: "tiny", allowed: false, remaining: 0 });
    // The denied hit never reached the counter.
    const off = { ...overrides, RATE_POLICIES: JSON.stringify({ middleware: { v1: [] } }) };
    const series = await call(`/v1/counters/${name}?granularity=hour&buckets=1`, {}, off);
    expect((await series.json<{ total: number }>()).total).toBe(3);
  });

  it("cost one Redis request per call, none once the token is known to be blocked, none for a 404", async () => {
    await call(ROUTE, {}, withMiddleware({ v1: ["tiny"] })); // the script is loaded by now
    const overrides = withMiddleware({ v1: ["tiny"] });
    const calls: Array<[number, number]> = [];
    for (let i = 0; i < 5; i++) {
      const { result: res, requests } = await countRoundTrips(() => call(ROUTE, {}, overrides));
      calls.push([res.status, requests]);
      // The block cache answers once the local clock has moved past the moment it learned the block.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(calls).toEqual([
      [404, 1], // unknown policy: the route's own 404, after the middleware's check
      [404, 1],
      [404, 1], // the last unit: the token is now known to be blocked
      [429, 0],
      [429, 0],
    ]);
    const fresh = withMiddleware({ v1: ["tiny"], public: ["tiny"] });
    for (const [path, headers] of [
      ["/v1/no-such-route", {}],
      ["/no-such-page", { "CF-Connecting-IP": freshIp() }],
    ] as const) {
      const { result: res, requests } = await countRoundTrips(() => call(path, { headers }, fresh));
      expect(res.status, path).toBe(404);
      expect(requests, path).toBe(0);
    }
  });

  it("key by a hash of the token: the token never appears in a key", async () => {
    const overrides = withMiddleware({ v1: ["tiny"] });
    await call(ROUTE, {}, overrides);
    const keys = await scanAll(`${overrides.KEY_PREFIX}:*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${overrides.KEY_PREFIX}:rate-mw:fwc:tiny:token:[0-9a-f]{32}$`));
    expect(keys[0]).not.toContain(env.API_TOKEN!);
  });

  it("keep their state apart from /v1/rate: an API caller cannot reset the middleware's budget", async () => {
    const guarded = withMiddleware({ v1: ["tiny"] });
    const unguarded = { ...withMiddleware({ v1: [] }), KEY_PREFIX: guarded.KEY_PREFIX };
    for (let i = 0; i < 3; i++) expect((await call(ROUTE, {}, guarded)).status).toBe(404);
    expect((await call(ROUTE, {}, guarded)).status).toBe(429);
    const [key] = await scanAll(`${guarded.KEY_PREFIX}:*`);
    const id = key!.slice(key!.indexOf(":tiny:") + ":tiny:".length); // "token:<hash>"
    // The same policy and id through the API: a reset and a spend there...
    const path = `/v1/rate/tiny/${encodeURIComponent(id)}`;
    expect((await call(path, { method: "DELETE" }, unguarded)).status).toBe(204);
    expect((await call(path, { method: "POST" }, unguarded)).status).toBe(200);
    // ...leave the middleware's denial standing.
    expect((await call(ROUTE, {}, guarded)).status).toBe(429);
  });

  it("guard public routes per client IP (CF-Connecting-IP); without the header nothing is checked", async () => {
    const overrides = withMiddleware({ v1: [], public: ["tiny"] });
    const ip = freshIp();
    const health = (headers: Record<string, string>) => call("/health", { headers }, overrides);
    for (let i = 0; i < 3; i++) expect((await health({ "CF-Connecting-IP": ip })).status).toBe(200);
    expect((await health({ "CF-Connecting-IP": ip })).status).toBe(429);
    expect((await health({ "CF-Connecting-IP": "2001:db8::1" })).status).toBe(200);
    const anonymous = await health({});
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get("RateLimit-Policy")).toBeNull();
  });

  it("fail closed with a 503 problem when their policy says so, and open otherwise", async () => {
    await setFaults({ down: "5xx" });
    const closed = await call(ROUTE, {}, withMiddleware({ v1: ["closed"] }));
    expect(closed.status).toBe(503);
    expect((await problem(closed)).type).toBe("urn:problem:rate-limit-unavailable");
    const open = await call(ROUTE, {}, withMiddleware({ v1: ["tiny"] }));
    expect(open.status).toBe(404); // the request went on to its handler
  });

  it("apply the failure mode when Redis is not configured at all", async () => {
    const unconfigured = { UPSTASH_REDIS_REST_URL: undefined };
    expect((await call(ROUTE, {}, { ...withMiddleware({ v1: ["tiny"] }), ...unconfigured })).status).toBe(404);
    const closed = await call(ROUTE, {}, { ...withMiddleware({ v1: ["closed"] }), ...unconfigured });
    expect(closed.status).toBe(503);
    expect((await problem(closed)).type).toBe("urn:problem:rate-limit-unavailable");
  });
});

describe("turned off, or misconfigured", () => {
  it("empty lists and authFailures false: no headers, no Redis request", async () => {
    const off = JSON.stringify({ middleware: { v1: [], public: [], authFailures: false } });
    const headers = { Authorization: "Bearer wrong", "CF-Connecting-IP": freshIp() };
    const { result: res, requests } = await countRoundTrips(() => call("/v1/rate/api/x", { method: "POST", headers }, { RATE_POLICIES: off }));
    expect(res.status).toBe(401); // refused by auth alone: no binding and no Upstash check
    expect(res.headers.get("RateLimit-Policy")).toBeNull();
    expect(requests).toBe(0);
    const ok = await countRoundTrips(() => call("/no-such-page", { headers: { "CF-Connecting-IP": freshIp() } }, { RATE_POLICIES: off }));
    expect(ok.result.status).toBe(404);
    expect(ok.result.headers.get("RateLimit-Policy")).toBeNull();
    expect(ok.requests).toBe(0);
  });

  it("an invalid RATE_POLICIES is a 500 problem naming it", async () => {
    const invalid = [
      "{",
      '{"policies":{"x":{"algorithm":"leaky"}}}',
      '{"middleware":{"v1":["nope"]}}',
      '{"middleware":{"v1":{"binding":"API_LIMITER","limit":10,"period":30}}}',
      '{"policies":{"x":{"algorithm":"fixed-window","limit":1,"window":"10ms"}}}',
      // A full refill of 1e9 × 366 days: Redis could not store the state of a large spend.
      '{"policies":{"x":{"algorithm":"token-bucket","limit":1000000000,"refill":1,"interval":"366d"}}}',
    ];
    for (const value of invalid) {
      const res = await call("/v1/no-such-route", {}, { RATE_POLICIES: value });
      expect(res.status, value).toBe(500);
      expect((await problem(res)).detail).toContain("RATE_POLICIES");
    }
  });
});
