import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../functions/index";
import { api, clearFaults, countRoundTrips, setFaults, testRedis, uniqueName } from "./helpers";

/** `/v1/rate/{policy}/{id}` and the rate-limit middleware, through the real Worker. */

const RATE_POLICIES = JSON.stringify({
  policies: {
    small: { algorithm: "fixed-window", limit: 5, window: "366d" },
    bucket: { algorithm: "token-bucket", limit: 10, refill: 1, interval: "366d" },
    strict: { algorithm: "sliding-window", limit: 3, window: "366d", failure: "closed", timeout: "300ms" },
    lenient: { algorithm: "fixed-window", limit: 3, window: "366d", failure: "open", timeout: "300ms" },
  },
  middleware: { v1: [], public: [] },
});

/** Calls the Worker with RATE_POLICIES (and any other overrides) and the bearer token. */
async function call(path: string, init: RequestInit = {}, overrides: Partial<Cloudflare.Env> = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("Authorization")) headers.set("Authorization", `Bearer ${env.API_TOKEN}`);
  if (init.body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  const request = new Request(`http://worker.test${path}`, { ...init, headers });
  return await worker.fetch(request, { ...env, RATE_POLICIES, ...overrides }, createExecutionContext());
}
const post = (path: string, body?: unknown, overrides?: Partial<Cloudflare.Env>) =>
  call(path, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body) }) }, overrides);

async function problem(res: Response) {
  expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  const body = await res.json<{ type: string; status: number; detail: string } & Record<string, unknown>>();
  expect(body.status).toBe(res.status);
  return body;
}

async function remaining(policy: string, id: string): Promise<number> {
  const res = await call(`/v1/rate/${policy}/${encodeURIComponent(id)}`);
  expect(res.status).toBe(200);
  return (await res.json<{ remaining: number }>()).remaining;
}

afterEach(clearFaults);

describe("POST /v1/rate/{policy}/{id}", () => {
  it("200 while allowed, then a 429 problem with Retry-After and the same fields", async () => {
    const id = uniqueName("post");
    for (let i = 4; i >= 0; i--) {
      const res = await post(`/v1/rate/small/${id}`);
      expect(res.status).toBe(200);
      const body = await res.json<Record<string, unknown>>();
      expect(body).toMatchObject({ allowed: true, limit: 5, remaining: i, retryAfterMs: 0 });
      expect(body.resetMs).toBeGreaterThan(0);
      expect(res.headers.get("Retry-After")).toBeNull();
    }
    const res = await post(`/v1/rate/small/${id}`, { cost: 1 });
    expect(res.status).toBe(429);
    const body = await problem(res);
    expect(body).toMatchObject({ type: "urn:problem:rate-limited", allowed: false, limit: 5, remaining: 0, policy: "small" });
    expect(body.retryAfterMs).toBeGreaterThan(0);
    expect(Number(res.headers.get("Retry-After"))).toBe(Math.ceil((body.retryAfterMs as number) / 1000));
  });

  it("a cost spends several units; a token bucket takes refunds", async () => {
    const id = uniqueName("cost");
    expect(await (await post(`/v1/rate/bucket/${id}`, { cost: 7 })).json()).toMatchObject({ allowed: true, remaining: 3 });
    expect((await post(`/v1/rate/bucket/${id}`, { cost: 4 })).status).toBe(429);
    expect(await (await post(`/v1/rate/bucket/${id}`, { cost: -2 })).json()).toMatchObject({ allowed: true, remaining: 5 });
  });

  it("ids are path segments: percent-encoded characters are part of the id", async () => {
    const id = `${uniqueName("enc")}/é:x`;
    expect((await post(`/v1/rate/small/${encodeURIComponent(id)}`)).status).toBe(200);
    expect(await remaining("small", id)).toBe(4);
  });
});

describe("GET peeks, DELETE resets", () => {
  it("GET spends nothing; DELETE gives the full limit back (204)", async () => {
    const id = uniqueName("peek");
    await post(`/v1/rate/small/${id}`, { cost: 5 });
    const peek = await call(`/v1/rate/small/${id}`);
    expect(peek.status).toBe(200);
    const body = await peek.json<Record<string, number | boolean>>();
    expect(body).toMatchObject({ allowed: false, limit: 5, remaining: 0 });
    expect(body.retryAfterMs).toBeGreaterThan(0);
    expect(await remaining("small", id)).toBe(0);
    const reset = await call(`/v1/rate/small/${id}`, { method: "DELETE" });
    expect(reset.status).toBe(204);
    expect(await remaining("small", id)).toBe(5);
    expect((await post(`/v1/rate/small/${id}`)).status).toBe(200);
  });

  it("each call is one Redis request", async () => {
    const id = uniqueName("trips");
    await post(`/v1/rate/small/${id}`); // the script is loaded by now
    for (const [method, status] of [
      ["POST", 200],
      ["GET", 200],
      ["DELETE", 204],
    ] as const) {
      const { result: res, requests } = await countRoundTrips(() => call(`/v1/rate/small/${id}`, { method }));
      expect(res.status, method).toBe(status);
      expect(requests, method).toBe(1);
    }
  });
});

describe("bad input changes nothing", () => {
  it("an unknown policy is a 404 problem, with no Redis request", async () => {
    for (const method of ["POST", "GET", "DELETE"]) {
      const { result: res, requests } = await countRoundTrips(() => call(`/v1/rate/no-such-policy/${uniqueName()}`, { method }));
      expect(res.status).toBe(404);
      expect((await problem(res)).detail).toContain("no-such-policy");
      expect(requests).toBe(0);
    }
  });

  it.each([
    ["a zero cost", { cost: 0 }],
    ["a fractional cost", { cost: 1.5 }],
    ["a cost given as a string", { cost: "2" }],
    ["a refund on a fixed window", { cost: -1 }],
    ["a cost above the limit", { cost: 6 }],
    ["an unknown field", { cost: 1, limit: 1000 }],
    ["a body that is not an object", [1]],
  ])("%s is a 400 problem and spends nothing", async (_, body) => {
    const id = uniqueName("bad");
    await post(`/v1/rate/small/${id}`);
    const { result: res, requests } = await countRoundTrips(() => post(`/v1/rate/small/${id}`, body));
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toBe("urn:problem:invalid-input");
    expect(requests).toBe(0);
    expect(await remaining("small", id)).toBe(4);
  });

  it("a body that is not JSON is a 415 problem and spends nothing (a refund sent as text is no spend of 1)", async () => {
    const id = uniqueName("text");
    await post(`/v1/rate/bucket/${id}`, { cost: 4 });
    const text = { method: "POST", body: JSON.stringify({ cost: -2 }), headers: { "Content-Type": "text/plain" } };
    const { result: res, requests } = await countRoundTrips(() => call(`/v1/rate/bucket/${id}`, text));
    expect(res.status).toBe(415);
    expect((await problem(res)).type).toBe("urn:problem:http-415");
    expect(requests).toBe(0);
    expect(await remaining("bucket", id)).toBe(6);
  });

  it("an id over 256 bytes is a 400 problem on every method, with no Redis request", async () => {
    const id = "é".repeat(129); // 258 bytes
    for (const method of ["POST", "GET", "DELETE"]) {
      const { result: res, requests } = await countRoundTrips(() => call(`/v1/rate/small/${encodeURIComponent(id)}`, { method }));
      expect(res.status).toBe(400);
      expect((await problem(res)).detail).toContain("256 bytes");
      expect(requests).toBe(0);
    }
  });
});

describe("RateLimit headers (IETF httpapi draft, RFC 8941 structured fields)", () => {
  it("parse as lists of strings with integer parameters that match the body", async () => {
    const id = uniqueName("headers");
    for (const res of [await post(`/v1/rate/small/${id}`, { cost: 2 }), await call(`/v1/rate/small/${id}`)]) {
      const body = await res.json<{ remaining: number; resetMs: number }>();
      const [policy, ...morePolicies] = parseList(res.headers.get("RateLimit-Policy")!);
      expect(morePolicies).toEqual([]);
      expect(policy).toEqual({ value: "small", params: { q: 5, w: 366 * 24 * 3600 } });
      const [state, ...moreStates] = parseList(res.headers.get("RateLimit")!);
      expect(moreStates).toEqual([]);
      expect(state).toEqual({ value: "small", params: { r: 3, t: Math.ceil(body.resetMs / 1000) } });
      expect(body.remaining).toBe(3);
    }
  });

  it("a token bucket's w is its full refill time, and a 429 carries the headers too", async () => {
    const id = uniqueName("bucket-headers");
    const res = await post(`/v1/rate/bucket/${id}`, { cost: 10 });
    const denied = await post(`/v1/rate/bucket/${id}`);
    expect(denied.status).toBe(429);
    for (const r of [res, denied]) {
      expect(parseList(r.headers.get("RateLimit-Policy")!)).toEqual([{ value: "bucket", params: { q: 10, w: 10 * 366 * 24 * 3600 } }]);
      expect(parseList(r.headers.get("RateLimit")!)[0]).toMatchObject({ value: "bucket", params: { r: 0 } });
    }
  });

  it("the test's parser is strict: malformed fields are refused", () => {
    for (const bad of ['"a";q=1,', "a;q=1", '"a";Q=1', '"a";q=1.2.3', '"a\\x"', '"a" "b"']) {
      expect(() => parseList(bad), bad).toThrow();
    }
    expect(parseList('"a";q=1;w=60, "b\\"c";r=-2;t=?1')).toEqual([
      { value: "a", params: { q: 1, w: 60 } },
      { value: 'b"c', params: { r: -2, t: true } },
    ]);
  });
});

describe("failure policy over HTTP", () => {
  const SLOW_MS = 1500;

  it("fail closed: a 503 problem with Retry-After when the endpoint answers 5xx", async () => {
    await setFaults({ down: "5xx" });
    const res = await post(`/v1/rate/strict/${uniqueName("down")}`);
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("1");
    expect((await problem(res)).type).toBe("urn:problem:rate-limit-unavailable");
  });

  it("fail open: 200 with reason redis-unavailable when the endpoint answers 5xx", async () => {
    await setFaults({ down: "5xx" });
    const res = await post(`/v1/rate/lenient/${uniqueName("down")}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ allowed: true, reason: "redis-unavailable" });
    expect(res.headers.get("RateLimit")).toBeNull(); // the state is unknown
    expect(parseList(res.headers.get("RateLimit-Policy")!)[0]!.value).toBe("lenient");
  });

  it("answers within the policy's timeout (300 ms) plus a small margin when Redis is slow", async () => {
    await setFaults({ latencyMs: SLOW_MS });
    for (const [policy, status] of [
      ["strict", 503],
      ["lenient", 200],
    ] as const) {
      const started = Date.now();
      const res = await post(`/v1/rate/${policy}/${uniqueName("slow")}`);
      const elapsed = Date.now() - started;
      expect(res.status).toBe(status);
      expect(elapsed).toBeLessThan(300 + 400);
    }
    await new Promise((resolve) => setTimeout(resolve, SLOW_MS)); // let the delayed requests drain
  });

  it("GET and DELETE answer a 503 problem when Redis is down: a read or a reset has nothing to fail open to", async () => {
    await setFaults({ down: "5xx" });
    for (const method of ["GET", "DELETE"]) {
      const res = await call(`/v1/rate/lenient/${uniqueName("down")}`, { method });
      expect(res.status, method).toBe(503);
      expect((await problem(res)).type).toBe("urn:problem:redis-unavailable");
    }
  });

  it("a check whose reply is lost is not resent: it counts once, and the policy decides", async () => {
    const id = uniqueName("lost");
    await post(`/v1/rate/lenient/${id}`); // spends 1 (and loads the script)
    await setFaults({ dropReplyAfterApply: 1, match: "EVALSHA" });
    const res = await post(`/v1/rate/lenient/${id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ reason: "redis-unavailable" });
    await clearFaults();
    expect(await remaining("lenient", id)).toBe(1); // 3 - 2: applied once, never twice
  });
});

describe("the middleware", () => {
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

  it("guards /v1/* per API token: headers on success, a 429 problem past the limit, the handler not run", async () => {
    const overrides = withMiddleware({ v1: ["tiny"] });
    const name = uniqueName("guarded");
    for (let i = 2; i >= 0; i--) {
      const res = await post(`/v1/counters/${name}`, undefined, overrides);
      expect(res.status).toBe(200);
      expect(parseList(res.headers.get("RateLimit")!)).toEqual([{ value: "tiny", params: { r: i, t: expect.any(Number) } }]);
    }
    const denied = await post(`/v1/counters/${name}`, undefined, overrides);
    expect(denied.status).toBe(429);
    expect(Number(denied.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await problem(denied)).toMatchObject({ type: "urn:problem:rate-limited", policy: "tiny" });
    // The denied hit never reached the counter.
    const series = await call(`/v1/counters/${name}?granularity=hour&buckets=1`, {}, { ...overrides, RATE_POLICIES });
    expect((await series.json<{ total: number }>()).total).toBe(3);
  });

  it("costs one Redis request per call, and none once the token is known to be blocked", async () => {
    await call("/v1/no-such-route", {}, withMiddleware({ v1: ["tiny"] })); // the script is loaded by now
    const overrides = withMiddleware({ v1: ["tiny"] });
    const calls: Array<[number, number]> = [];
    for (let i = 0; i < 5; i++) {
      const { result: res, requests } = await countRoundTrips(() => call("/v1/no-such-route", {}, overrides));
      calls.push([res.status, requests]);
      // The block cache answers once the local clock has moved past the moment it learned the block.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(calls).toEqual([
      [404, 1],
      [404, 1],
      [404, 1], // the last unit: the token is now known to be blocked
      [429, 0],
      [429, 0],
    ]);
  });

  it("keys by a hash of the token: the token never appears in a key", async () => {
    const overrides = withMiddleware({ v1: ["tiny"] });
    await call("/v1/no-such-route", {}, overrides);
    const keys = await scanAll(`${overrides.KEY_PREFIX}:*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${overrides.KEY_PREFIX}:rate-mw:fw:tiny:token:[0-9a-f]{32}$`));
    expect(keys[0]).not.toContain(env.API_TOKEN!);
  });

  it("keeps its state apart from /v1/rate: an API caller cannot reset the middleware's budget", async () => {
    const guarded = withMiddleware({ v1: ["tiny"] });
    const unguarded = { ...withMiddleware({ v1: [] }), KEY_PREFIX: guarded.KEY_PREFIX };
    for (let i = 0; i < 3; i++) expect((await call("/v1/no-such-route", {}, guarded)).status).toBe(404);
    expect((await call("/v1/no-such-route", {}, guarded)).status).toBe(429);
    const [key] = await scanAll(`${guarded.KEY_PREFIX}:*`);
    const id = key!.slice(key!.indexOf(":tiny:") + ":tiny:".length); // "token:<hash>"
    // The same policy and id through the API: a reset and a spend there...
    const path = `/v1/rate/tiny/${encodeURIComponent(id)}`;
    expect((await call(path, { method: "DELETE" }, unguarded)).status).toBe(204);
    expect((await call(path, { method: "POST" }, unguarded)).status).toBe(200);
    // ...leave the middleware's denial standing.
    expect((await call("/v1/no-such-route", {}, guarded)).status).toBe(429);
  });

  it("guards public routes per client IP (CF-Connecting-IP); without the header nothing is checked", async () => {
    const overrides = withMiddleware({ v1: [], public: ["tiny"] });
    const ip = `192.0.2.${Math.floor(Math.random() * 250)}`;
    const health = (headers: Record<string, string>) => call("/health", { headers }, overrides);
    for (let i = 0; i < 3; i++) expect((await health({ "CF-Connecting-IP": ip })).status).toBe(200);
    expect((await health({ "CF-Connecting-IP": ip })).status).toBe(429);
    expect((await health({ "CF-Connecting-IP": "2001:db8::1" })).status).toBe(200);
    const anonymous = await health({});
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get("RateLimit-Policy")).toBeNull();
  });


  it("fails closed with a 503 problem when its policy says so, and open otherwise", async () => {
    await setFaults({ down: "5xx" });
    const closed = await call("/v1/no-such-route", {}, withMiddleware({ v1: ["closed"] }));
    expect(closed.status).toBe(503);
    expect((await problem(closed)).type).toBe("urn:problem:rate-limit-unavailable");
    const open = await call("/v1/no-such-route", {}, withMiddleware({ v1: ["tiny"] }));
    expect(open.status).toBe(404); // the request went on to routing
  });

  it("applies the failure mode when Redis is not configured at all", async () => {
    const unconfigured = { UPSTASH_REDIS_REST_URL: undefined };
    expect((await call("/v1/no-such-route", {}, { ...withMiddleware({ v1: ["tiny"] }), ...unconfigured })).status).toBe(404);
    const closed = await call("/v1/no-such-route", {}, { ...withMiddleware({ v1: ["closed"] }), ...unconfigured });
    expect(closed.status).toBe(503);
    expect((await problem(closed)).type).toBe("urn:problem:rate-limit-unavailable");
  });

  it("is off with empty middleware lists: no headers, no Redis request", async () => {
    const overrides = withMiddleware({ v1: [], public: [] });
    const { result: res, requests } = await countRoundTrips(() => call("/v1/no-such-route", {}, overrides));
    expect(res.status).toBe(404);
    expect(res.headers.get("RateLimit-Policy")).toBeNull();
    expect(requests).toBe(0);
  });

  it("by default does not disturb a client making hundreds of requests at once with one token", async () => {
    // RATE_POLICIES unset: the built-in policies; a fresh prefix: this token's bucket starts full.
    const defaults = { RATE_POLICIES: undefined, KEY_PREFIX: uniqueName("default") };
    const responses = await Promise.all(Array.from({ length: 300 }, () => call("/v1/no-such-route", {}, defaults)));
    expect(responses.map((r) => r.status).filter((s) => s !== 404)).toEqual([]);
    expect(parseList(responses[0]!.headers.get("RateLimit-Policy")!)).toEqual([{ value: "api", params: { q: 3000, w: 3 } }]);
  });

  it("an invalid RATE_POLICIES is a 500 problem naming it", async () => {
    const invalid = [
      "{",
      '{"policies":{"x":{"algorithm":"leaky"}}}',
      '{"middleware":{"v1":["nope"]}}',
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

describe("documentation and bench routes", () => {
  it("the OpenAPI document lists the rate and counter routes, not the bench route", async () => {
    const doc = await (await api("/openapi.json", { auth: false })).json<{ paths: Record<string, object> }>();
    expect(Object.keys(doc.paths["/v1/rate/{policy}/{id}"]!).sort()).toEqual(["delete", "get", "post"]);
    expect(Object.keys(doc.paths["/v1/counters/{name}"]!).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths).filter((p) => p.includes("bench"))).toEqual([]);
  });

});

/**
 * A strict parser of a subset of RFC 8941 structured-field Lists, enough to check the
 * RateLimit headers: items and parameter values may be integers, decimals, strings or booleans
 * (no tokens, which the draft does not use for names; no inner lists, no byte sequences).
 * Anything outside that grammar throws.
 */
type BareItem = number | string | boolean;
interface Item {
  value: BareItem;
  params: Record<string, BareItem>;
}

function parseList(input: string): Item[] {
  let i = 0;
  const text = input.replace(/^ +| +$/g, "");
  const fail = (what: string): never => {
    throw new SyntaxError(`structured field: ${what} at ${i} in ${JSON.stringify(input)}`);
  };
  const bareItem = (): BareItem => {
    const rest = text.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^-?\d{1,12}\.\d{1,3}(?![\d.])/.exec(rest))) {
      i += m[0].length;
      return Number(m[0]);
    }
    if ((m = /^-?\d{1,15}(?![\d.])/.exec(rest))) {
      i += m[0].length;
      return Number(m[0]);
    }
    if (rest.startsWith('"')) {
      let out = "";
      for (i++; i < text.length; i++) {
        const ch = text[i]!;
        if (ch === "\\") {
          const next = text[++i];
          if (next !== '"' && next !== "\\") fail("bad escape");
          out += next;
        } else if (ch === '"') {
          i++;
          return out;
        } else if (ch < " " || ch > "~") {
          fail("non-printable character in string");
        } else out += ch;
      }
      return fail("unterminated string");
    }
    if ((m = /^\?[01]/.exec(rest))) {
      i += 2;
      return m[0] === "?1";
    }
    return fail("expected an item");
  };
  const items: Item[] = [];
  if (text === "") return items;
  for (;;) {
    const value = bareItem();
    const params: Record<string, BareItem> = {};
    while (text[i] === ";") {
      i++;
      while (text[i] === " ") i++;
      const key = /^[a-z*][a-z0-9_\-.*]*/.exec(text.slice(i))?.[0] ?? fail("expected a key");
      i += key.length;
      if (text[i] === "=") {
        i++;
        params[key] = bareItem();
      } else params[key] = true;
    }
    items.push({ value, params });
    while (text[i] === " " || text[i] === "\t") i++;
    if (i === text.length) return items;
    if (text[i] !== ",") fail("expected ','");
    i++;
    while (text[i] === " " || text[i] === "\t") i++;
    if (i === text.length) fail("trailing ','");
  }
}

/** Every key matching `pattern`: SCAN until the cursor comes back to 0 (one call sees only a slice). */
async function scanAll(pattern: string): Promise<string[]> {
  const redis = testRedis();
  const keys: string[] = [];
  let cursor: string | number = 0;
  do {
    const [next, batch]: [string | number, string[]] = await redis.scan(cursor, { match: pattern, count: 1000 });
    keys.push(...batch);
    cursor = next;
  } while (String(cursor) !== "0");
  return keys;
}
