import { afterEach, describe, expect, it } from "vitest";
import { api, clearFaults, countRoundTrips, setFaults, uniqueName } from "./helpers";
import { callWorker, parseList, problem } from "./rate-helpers";

/** `/v1/rate/{policy}/{id}` through the real Worker (API protection off: only the route's own requests). */

const RATE_POLICIES = JSON.stringify({
  policies: {
    small: { algorithm: "fixed-window", limit: 5, window: "366d" },
    bucket: { algorithm: "token-bucket", limit: 10, refill: 1, interval: "366d" },
    strict: { algorithm: "sliding-window", limit: 3, window: "366d", failure: "closed", timeout: "300ms" },
    lenient: { algorithm: "fixed-window", limit: 3, window: "366d", failure: "open", timeout: "300ms" },
  },
  middleware: { v1: [], public: [], authFailures: false },
});

const call = (path: string, init: RequestInit = {}) => callWorker(path, init, { RATE_POLICIES });
const post = (path: string, body?: unknown) => call(path, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

async function remaining(policy: string, id: string): Promise<number> {
  const res = await call(`/v1/rate/${policy}/${encodeURIComponent(id)}`);
  expect(res.status).toBe(200);
  return (await res.json<{ remaining: number }>()).remaining;
}

afterEach(clearFaults);

describe("POST /v1/rate/{policy}/{id}", () => {
  it("answers 200 whether allowed or not: a denied identifier is allowed: false, never a 429, and spends nothing", async () => {
    const id = uniqueName("post");
    for (let i = 4; i >= 0; i--) {
      const res = await post(`/v1/rate/small/${id}`);
      expect(res.status).toBe(200);
      const body = await res.json<Record<string, unknown>>();
      expect(body).toMatchObject({ policy: "small", allowed: true, limit: 5, remaining: i, retryAfterMs: 0 });
      expect(body.resetMs).toBeGreaterThan(0);
    }
    for (let i = 0; i < 2; i++) {
      const res = await post(`/v1/rate/small/${id}`, { cost: 1 });
      expect(res.status).toBe(200);
      expect(res.headers.get("Retry-After")).toBeNull(); // nothing for a client's retry logic to honour
      const body = await res.json<Record<string, number>>();
      expect(body).toMatchObject({ policy: "small", allowed: false, limit: 5, remaining: 0 });
      expect(body.retryAfterMs).toBeGreaterThan(0);
    }
    expect(await remaining("small", id)).toBe(0);
  });

  it("a cost spends several units; a token bucket takes refunds", async () => {
    const id = uniqueName("cost");
    expect(await (await post(`/v1/rate/bucket/${id}`, { cost: 7 })).json()).toMatchObject({ allowed: true, remaining: 3 });
    const denied = await post(`/v1/rate/bucket/${id}`, { cost: 4 });
    expect(denied.status).toBe(200);
    expect(await denied.json()).toMatchObject({ allowed: false, remaining: 3 });
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
    expect(await (await post(`/v1/rate/small/${id}`)).json()).toMatchObject({ allowed: true });
  });

  it("each call is one Redis request; a denial this isolate already knows is none", async () => {
    const id = uniqueName("trips");
    await post(`/v1/rate/small/${id}`, { cost: 3 }); // the script is loaded by now
    const last = await countRoundTrips(() => post(`/v1/rate/small/${id}`, { cost: 2 }));
    expect(await last.result.json()).toMatchObject({ allowed: true, remaining: 0 });
    expect(last.requests).toBe(1);
    // The isolate's block cache answers once the local clock has moved past the moment it
    // learned the block (in Workers, at the next request's arrival).
    await new Promise((resolve) => setTimeout(resolve, 2));
    const denied = await countRoundTrips(() => post(`/v1/rate/small/${id}`));
    expect(await denied.result.json()).toMatchObject({ allowed: false, reason: "cached-block" });
    expect(denied.requests).toBe(0);
    for (const [method, status] of [
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
      const body = await problem(res);
      expect(body.type).toBe("urn:problem:unknown-policy");
      expect(body.detail).toContain("no-such-policy");
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

describe("the checked policy's headers: Checked-RateLimit-Policy and Checked-RateLimit (RFC 8941 lists)", () => {
  it("parse as lists of strings with integer parameters that match the body; the caller's own fields are not used", async () => {
    const id = uniqueName("headers");
    for (const res of [await post(`/v1/rate/small/${id}`, { cost: 2 }), await call(`/v1/rate/small/${id}`)]) {
      const body = await res.json<{ remaining: number; resetMs: number }>();
      const [policy, ...morePolicies] = parseList(res.headers.get("Checked-RateLimit-Policy")!);
      expect(morePolicies).toEqual([]);
      expect(policy).toEqual({ value: "small", params: { q: 5, w: 366 * 24 * 3600 } });
      const [state, ...moreStates] = parseList(res.headers.get("Checked-RateLimit")!);
      expect(moreStates).toEqual([]);
      expect(state).toEqual({ value: "small", params: { r: 3, t: Math.ceil(body.resetMs / 1000) } });
      expect(body.remaining).toBe(3);
      // The standard fields describe the caller's own limits only (protection is off here).
      expect(res.headers.get("RateLimit")).toBeNull();
      expect(res.headers.get("RateLimit-Policy")).toBeNull();
    }
  });

  it("a token bucket's w is its full refill time; a denied check carries the headers too, without Retry-After", async () => {
    const id = uniqueName("bucket-headers");
    const res = await post(`/v1/rate/bucket/${id}`, { cost: 10 });
    const denied = await post(`/v1/rate/bucket/${id}`);
    expect(await denied.json()).toMatchObject({ allowed: false });
    expect(denied.headers.get("Retry-After")).toBeNull();
    for (const r of [res, denied]) {
      expect(parseList(r.headers.get("Checked-RateLimit-Policy")!)).toEqual([{ value: "bucket", params: { q: 10, w: 10 * 366 * 24 * 3600 } }]);
      expect(parseList(r.headers.get("Checked-RateLimit")!)[0]).toMatchObject({ value: "bucket", params: { r: 0 } });
    }
  });

  it("with the default protection, the caller's own policy is in RateLimit-Policy beside the checked one", async () => {
    const res = await callWorker(`/v1/rate/api/${uniqueName("both")}`, { method: "POST" }, { RATE_POLICIES: undefined });
    expect(res.status).toBe(200);
    expect(parseList(res.headers.get("Checked-RateLimit-Policy")!)).toEqual([{ value: "api", params: { q: 3000, w: 3 } }]);
    expect(parseList(res.headers.get("RateLimit-Policy")!)).toEqual([{ value: "api", params: { q: 10_000, w: 10 } }]);
  });

  it("the test's parser is strict: malformed fields are refused", () => {
    for (const bad of ['"a";q=1,', "a;q=1", '"a";Q=1', '"a";q=1.2.3', '"a\\x"', '"a" "b"']) {
      expect(() => parseList(bad), bad).toThrow(SyntaxError);
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
    expect(res.headers.get("Checked-RateLimit")).toBeNull(); // the state is unknown
    expect(parseList(res.headers.get("Checked-RateLimit-Policy")!)[0]!.value).toBe("lenient");
  });

  it("gives up at the policy's timeout (300 ms) when Redis is slow, not when Redis answers", async () => {
    await setFaults({ latencyMs: SLOW_MS });
    for (const [policy, status] of [
      ["strict", 503],
      ["lenient", 200],
    ] as const) {
      const started = Date.now();
      const res = await post(`/v1/rate/${policy}/${uniqueName("slow")}`);
      const elapsed = Date.now() - started;
      expect(res.status).toBe(status);
      expect(elapsed).toBeLessThan(SLOW_MS); // it did not wait for Redis
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

describe("documentation", () => {
  it("the OpenAPI document lists the rate and counter routes, and says what 200 and 429 mean on the check", async () => {
    const doc = await (await api("/openapi.json", { auth: false })).json<{
      paths: Record<string, Record<string, { description?: string; responses: Record<string, { headers?: object }> }>>;
    }>();
    const rate = doc.paths["/v1/rate/{policy}/{id}"]!;
    expect(Object.keys(rate).sort()).toEqual(["delete", "get", "post"]);
    expect(Object.keys(doc.paths["/v1/counters/{name}"]!).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths).filter((p) => p.includes("bench"))).toEqual([]);
    expect(rate.post!.description).toMatch(/always \*\*200\*\*/);
    expect(rate.post!.description).toMatch(/429.*you, the caller, are rate limited/);
    expect(Object.keys(rate.post!.responses["200"]!.headers!).sort()).toEqual(["Checked-RateLimit", "Checked-RateLimit-Policy", "Checked-RateLimit-Source"]);
  });
});
