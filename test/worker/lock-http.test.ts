import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../functions/index";
import { api, clearFaults, json, setFaults, testRedis, uniqueName } from "./helpers";

interface LeaseBody {
  name: string;
  token: string;
  fence: number;
  expiresAt: number;
}
interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  retryAfterMs?: number;
  reason?: string;
  errors?: Array<{ path: string; message: string }>;
}

const path = (name: string) => `/v1/locks/${encodeURIComponent(name)}`;

async function acquire(name: string, body: Record<string, unknown> = {}): Promise<LeaseBody> {
  const res = await api(path(name), json(body));
  expect(res.status).toBe(201);
  return res.json<LeaseBody>();
}

async function problem(res: Response, status: number): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  return res.json<Problem>();
}

function release(name: string, token: string) {
  return api(path(name), { method: "DELETE", headers: { "Lock-Token": token } });
}

async function status(name: string) {
  const res = await api(path(name));
  expect(res.status).toBe(200);
  return res.json<{ locked: boolean; holders?: number; expiresAt?: number; fence?: number }>();
}

/** Every Redis key that mentions `marker`: proof that a refused request wrote nothing. */
async function keysMentioning(marker: string): Promise<string[]> {
  return (await testRedis().keys(`*${marker}*`)) as string[];
}

describe("POST /v1/locks/{name}", () => {
  it("201 with name, token, fence and expiresAt; defaults to a 10 s lease", async () => {
    const name = uniqueName("http");
    const started = Date.now();
    const res = await api(path(name), { method: "POST" }); // no body at all: every default
    expect(res.status).toBe(201);
    const lease = await res.json<LeaseBody>();
    expect(lease).toEqual({ name, token: expect.stringMatching(/^[0-9a-f]{32}$/), fence: expect.any(Number), expiresAt: expect.any(Number) });
    expect(lease.expiresAt - started).toBeGreaterThan(9000);
    expect(lease.expiresAt - started).toBeLessThan(11_000);
  });

  it("409 problem with retryAfterMs and Retry-After when held", async () => {
    const name = uniqueName("http");
    await acquire(name, { ttlMs: 5000 });
    const body = await problem(await api(path(name), json({})), 409);
    expect(body.type).toBe("urn:problem:lock-held");
    expect(body.retryAfterMs).toBeGreaterThan(4000);
    expect(body.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it("sets Retry-After in whole seconds", async () => {
    const name = uniqueName("http");
    await acquire(name, { ttlMs: 2500 });
    const res = await api(path(name), json({}));
    expect(res.status).toBe(409);
    expect(res.headers.get("Retry-After")).toBe("3");
  });

  it("answers 409 within waitMs plus one request", async () => {
    const name = uniqueName("http");
    await acquire(name, { ttlMs: 10_000 });
    let oneRequest = 0;
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      await status(name);
      oneRequest = Math.max(oneRequest, Date.now() - started);
    }
    const started = Date.now();
    const res = await api(path(name), json({ waitMs: 300 }));
    const elapsed = Date.now() - started;
    await problem(res, 409);
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(300 + oneRequest + 150);
  });

  it("with limit, admits that many holders, each with its own token", async () => {
    const name = uniqueName("http-sem");
    const a = await acquire(name, { limit: 2 });
    const b = await acquire(name, { limit: 2 });
    expect(a.token).not.toBe(b.token);
    expect(b.fence).toBeGreaterThan(a.fence);
    await problem(await api(path(name), json({ limit: 2 })), 409);
    expect(await status(name)).toMatchObject({ locked: true, holders: 2, fence: b.fence });
    expect((await release(name, a.token)).status).toBe(204);
    await acquire(name, { limit: 2 });
  });

  it("accepts names with slashes, colons and non-ASCII up to 256 bytes", async () => {
    const name = `${uniqueName("http")}/orders:42/Ü${"é".repeat(100)}`;
    const lease = await acquire(name);
    expect(lease.name).toBe(name);
    expect(await status(name)).toMatchObject({ locked: true, fence: lease.fence });
  });
});

describe("POST /v1/locks/{name}/extend", () => {
  it("200 with the new expiresAt for the owner", async () => {
    const name = uniqueName("http");
    const lease = await acquire(name, { ttlMs: 1000 });
    const res = await api(`${path(name)}/extend`, json({ token: lease.token, ttlMs: 60_000 }));
    expect(res.status).toBe(200);
    const { expiresAt } = await res.json<{ expiresAt: number }>();
    expect(expiresAt - lease.expiresAt).toBeGreaterThan(58_000);
    expect((await status(name)).expiresAt).toBe(expiresAt);
  });

  it("409 for a token that is not the owner's, and for an expired lease", async () => {
    const name = uniqueName("http");
    const lease = await acquire(name, { ttlMs: 60 });
    const other = "0123456789abcdef0123456789abcdef";
    const stranger = await problem(await api(`${path(name)}/extend`, json({ token: other, ttlMs: 1000 })), 409);
    expect(stranger.type).toBe("urn:problem:lock-not-owner");
    await new Promise((resolve) => setTimeout(resolve, 120));
    const expired = await problem(await api(`${path(name)}/extend`, json({ token: lease.token, ttlMs: 1000 })), 409);
    expect(expired.detail).toContain("not held");
    expect(expired.reason).toBe("not-held");
    expect(stranger.reason).toBe("held-by-another");
    expect(await status(name)).toEqual({ locked: false });
  });
});

describe("DELETE /v1/locks/{name}", () => {
  it("204 for the owner, 409 for another token, 404 when not held", async () => {
    const name = uniqueName("http");
    const lease = await acquire(name);
    const other = await problem(await release(name, "0123456789abcdef0123456789abcdef"), 409);
    expect(other.type).toBe("urn:problem:lock-held-by-another");
    expect(await status(name)).toMatchObject({ locked: true, fence: lease.fence });
    const res = await release(name, lease.token);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(await status(name)).toEqual({ locked: false });
    const notHeld = await problem(await release(name, "fedcba9876543210fedcba9876543210"), 404);
    expect(notHeld.type).toBe("urn:problem:lock-not-held");
  });
});

describe("GET /v1/locks/{name}", () => {
  it("says locked with expiresAt and fence, and never shows the token", async () => {
    const name = uniqueName("http");
    expect(await status(name)).toEqual({ locked: false });
    const lease = await acquire(name, { ttlMs: 5000 });
    const res = await api(path(name));
    const text = await res.text();
    expect(text).not.toContain(lease.token);
    expect(JSON.parse(text)).toEqual({ locked: true, holders: 1, expiresAt: expect.any(Number), fence: lease.fence });
  });

  it("requires the API token", async () => {
    expect((await api(path(uniqueName("http")), { auth: false })).status).toBe(401);
  });
});

describe("bad input gets a 400 problem and changes nothing", () => {
  it("acquire: ttlMs, waitMs, limit out of range, wrong types, unknown fields", async () => {
    const marker = uniqueName("bad");
    const bodies = [
      { ttlMs: 0 },
      { ttlMs: 300_001 },
      { ttlMs: 1.5 },
      { ttlMs: "1000" },
      { waitMs: -1 },
      { waitMs: 10_001 },
      { limit: 0 },
      { limit: 1001 },
      { ttl: 1000 },
    ];
    for (const body of bodies) {
      const res = await api(path(marker), json(body));
      const p = await problem(res, 400);
      expect(p.type).toBe("urn:problem:invalid-input");
      expect(p.errors?.length).toBeGreaterThan(0);
    }
    const malformed = await api(path(marker), { method: "POST", body: "{", headers: { "Content-Type": "application/json" } });
    expect(malformed.status).toBe(400);
    // A body that is not JSON is refused, not ignored in favour of the defaults.
    const form = await api(path(marker), { method: "POST", body: "ttlMs=0", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect((await problem(form, 415)).type).toBe("urn:problem:http-415");
    expect(await keysMentioning(marker)).toEqual([]);
  });

  it("names over 256 bytes or with control characters, on every route", async () => {
    const marker = uniqueName("bad");
    const names = [
      `${marker}${"é".repeat(124)}`, // 257+ bytes though fewer than 256 characters
      `${marker}\nx`,
      `${marker}\u0000`,
      `${marker}\u007f`,
    ];
    expect(new TextEncoder().encode(names[0]).length).toBeGreaterThan(256);
    for (const name of names) {
      await problem(await api(path(name), json({})), 400);
      await problem(await api(`${path(name)}/extend`, json({ token: "0123456789abcdef0123456789abcdef", ttlMs: 1000 })), 400);
      await problem(await release(name, "0123456789abcdef0123456789abcdef"), 400);
      await problem(await api(path(name)), 400);
    }
    expect(await keysMentioning(marker)).toEqual([]);
  });

  it("malformed tokens: the holder keeps its lease, unchanged", async () => {
    const name = uniqueName("bad");
    const lease = await acquire(name, { ttlMs: 5000 });
    const before = await status(name);
    for (const token of ["", "abc", lease.token.toUpperCase(), `${lease.token}0`, `${lease.token.slice(0, 31)}g`]) {
      await problem(await api(path(name), { method: "DELETE", headers: { "Lock-Token": token } }), 400);
      await problem(await api(`${path(name)}/extend`, json({ token, ttlMs: 60_000 })), 400);
    }
    await problem(await api(path(name), { method: "DELETE" }), 400); // no Lock-Token header at all
    await problem(await api(`${path(name)}/extend`, json({ token: lease.token, ttlMs: 0 })), 400);
    await problem(await api(`${path(name)}/extend`, json({ token: lease.token })), 400);
    expect(await status(name)).toEqual(before);
  });
});

describe("when Redis cannot be reached", () => {
  it("every route answers a 503 problem, not a hang", async () => {
    const name = uniqueName("down");
    const lease = await acquire(name, { ttlMs: 5000 });
    await setFaults({ down: "5xx" });
    try {
      // Only the status is asserted: the rate-limit middleware in front may answer first.
      await problem(await api(path(name), json({ waitMs: 200 })), 503);
      await problem(await api(`${path(name)}/extend`, json({ token: lease.token, ttlMs: 5000 })), 503);
      await problem(await release(name, lease.token), 503);
      await problem(await api(path(name)), 503);
    } finally {
      await clearFaults();
    }
    expect((await release(name, lease.token)).status).toBe(204);
  });
});

describe("configuration and documentation", () => {
  it("LOCK_DEFAULT_TTL_MS sets the default lease; an invalid value is a 500 naming it", async () => {
    const call = (overrides: Record<string, string>) =>
      worker.fetch(
        new Request(`http://worker.test${path(uniqueName("cfg"))}`, { method: "POST", headers: { Authorization: `Bearer ${env.API_TOKEN}` } }),
        { ...env, ...overrides },
        createExecutionContext(),
      );
    const started = Date.now();
    const ok = await call({ LOCK_DEFAULT_TTL_MS: "2000" });
    expect(ok.status).toBe(201);
    const lease = await ok.json<LeaseBody>();
    expect(lease.expiresAt - started).toBeLessThan(3000);
    const bad = await call({ LOCK_DEFAULT_TTL_MS: "forever" });
    expect((await problem(bad, 500)).detail).toContain("LOCK_DEFAULT_TTL_MS");
  });

  it("the OpenAPI document lists every lock route", async () => {
    const doc = await (await api("/openapi.json", { auth: false })).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(doc.paths["/v1/locks/{name}"] ?? {}).sort()).toEqual(["delete", "get", "post"]);
    expect(Object.keys(doc.paths["/v1/locks/{name}/extend"] ?? {})).toEqual(["post"]);
    expect(Object.keys(doc.paths).some((p) => p.includes("__bench"))).toBe(false);
  });
});
