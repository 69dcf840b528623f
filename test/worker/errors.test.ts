import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../functions/app";
import { cacheKeys } from "../../shared/cache/keys";
import { api, clearFaults, setFaults, testRedis, uniqueName } from "./helpers";

/**
 * Errors are classified once, by type: only an unreachable Redis (as the client factory
 * decides) is a 503; anything else unexpected is a bug, a 500 with its stack logged. User data
 * in a command can never change how an error is handled.
 */
afterEach(() => {
  vi.restoreAllMocks();
  return clearFaults();
});

describe("a bug in a handler", () => {
  it("a TypeError thrown inside a handler is a 500 internal problem with its stack logged, never a 503", async () => {
    const app = createApp();
    app.get("/v1/boom", () => {
      const missing = undefined as unknown as { call(): void };
      missing.call(); // a null dereference
      return new Response("unreachable");
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await app.fetch(new Request("http://worker.test/v1/boom", { headers: { Authorization: `Bearer ${env.API_TOKEN}` } }), env, createExecutionContext());
    expect(res.status).toBe(500);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    const body = await res.json<{ type: string; detail: string }>();
    expect(body.type).toBe("urn:problem:internal");
    expect(body.detail).not.toMatch(/TypeError|undefined/);
    const stack = logged.mock.calls.flat().find((arg): arg is TypeError => arg instanceof TypeError);
    expect(stack?.stack).toContain("TypeError");
  });
});

describe("user data in a command", () => {
  const tricky = ["NOSCRIPT timeout", "ECONNREFUSED unavailable network timed out", "Command failed: NOSCRIPT"];

  it("ids containing 'timeout', 'unavailable' or 'NOSCRIPT' are handled like any other id", async () => {
    for (const word of tricky) {
      const key = `${uniqueName("k")}-${word}`;
      const path = `/v1/cache/${encodeURIComponent(key)}`;
      const put = await api(path, { method: "PUT", body: JSON.stringify({ value: word, ttl: 60 }) });
      expect(put.status, word).toBe(201);
      const res = await api(path);
      expect(res.status, word).toBe(200);
      expect(await res.json(), word).toMatchObject({ key, value: word });
      expect((await api(`/v1/locks/${encodeURIComponent(key)}`, { method: "POST", body: "{}" })).status, word).toBe(201);
    }
  });

  it("a Redis error about a key whose name says 'timeout' and 'NOSCRIPT' is a 500, not a 503 or a retry with EVAL", async () => {
    const key = `${uniqueName("k")}-NOSCRIPT timeout unavailable`;
    // Corrupt the entry: a hash where the cache keeps a string, so its script fails with WRONGTYPE.
    await testRedis().hset(cacheKeys(env.KEY_PREFIX ?? "erf").entry(key), { x: "1" });
    vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await api(`/v1/cache/${encodeURIComponent(key)}`);
    expect(res.status).toBe(500);
    expect((await res.json<{ type: string }>()).type).toBe("urn:problem:internal");
  });

  it("an unreachable Redis is a 503, decided by what happened (a 5xx), not by the text", async () => {
    await setFaults({ down: "5xx" });
    const res = await api(`/v1/cache/${uniqueName("k")}`);
    expect(res.status).toBe(503);
    expect((await res.json<{ type: string }>()).type).toBe("urn:problem:redis-unavailable");
  });
});
