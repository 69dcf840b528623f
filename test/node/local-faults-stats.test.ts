/**
 * The endpoint's counters and fault injection, driven both through the programmatic API and
 * through the HTTP control API that workerd tests use.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { command, keyPrefix, rest, startLocalStack, type LocalStack } from "./local-stack";
import { waitFor } from "./processes";

let stack: LocalStack;
const p = keyPrefix();

/**
 * What Node's fetch throws when the endpoint destroys the socket without a reply (after reading
 * the whole request, so the peer sees a clean close rather than a reset).
 */
const SOCKET_CLOSED = expect.objectContaining({
  name: "TypeError",
  message: "fetch failed",
  cause: expect.objectContaining({ code: "UND_ERR_SOCKET", message: "other side closed" }),
});

beforeAll(async () => {
  stack = await startLocalStack();
});

afterEach(() => {
  stack.endpoint.clearFaults();
});

afterAll(async () => {
  await stack?.stop();
});

describe("stats", () => {
  it("counts requests and commands, each pipelined or transacted command separately", async () => {
    stack.endpoint.resetStats();
    await command(stack.endpoint, "SET", `${p}s`, "1");
    await rest(stack.endpoint, "/pipeline", { body: [["GET", `${p}s`], ["incr", `${p}s`], ["GET", `${p}s`]] });
    await rest(stack.endpoint, "/multi-exec", { body: [["INCR", `${p}s`], ["EXPIRE", `${p}s`, "60"]] });
    await rest(stack.endpoint, `/get/${encodeURIComponent(`${p}s`)}`);
    expect(stack.endpoint.stats()).toEqual({
      requests: 4,
      commands: 7,
      byCommand: { SET: 1, GET: 3, INCR: 2, EXPIRE: 1 },
      inFlight: 0,
      subscribeRequests: 0,
      openStreams: 0,
    });
  });

  it("counts a request in flight until it is answered", async () => {
    // Held for 2 s by the injected latency: long enough to be seen in flight on a busy machine.
    stack.endpoint.setFaults({ latencyMs: 2_000 });
    const pending = command(stack.endpoint, "PING");
    try {
      await waitFor(() => stack.endpoint.stats().inFlight === 1, "the request to arrive", 10_000);
      await pending;
      expect(stack.endpoint.stats().inFlight).toBe(0);
    } finally {
      stack.endpoint.clearFaults();
      await pending.catch(() => {}); // never leave it to land in the next test's counts
    }
  });

  it("serves, resets and guards the counters over the control API, without counting itself", async () => {
    stack.endpoint.resetStats();
    await command(stack.endpoint, "PING");
    const stats = await rest(stack.endpoint, "/__control/stats");
    expect(stats.json).toEqual({ requests: 1, commands: 1, byCommand: { PING: 1 }, inFlight: 0, subscribeRequests: 0, openStreams: 0 });
    expect((await rest(stack.endpoint, "/__control/stats", { token: "nope" })).status).toBe(401);
    expect((await rest(stack.endpoint, "/__control/stats/reset", { method: "POST" })).status).toBe(204);
    expect((await rest(stack.endpoint, "/__control/stats")).json).toEqual({
      requests: 0,
      commands: 0,
      byCommand: {},
      inFlight: 0,
      subscribeRequests: 0,
      openStreams: 0,
    });
  });

  it("does not count requests refused for their token or their body", async () => {
    stack.endpoint.resetStats();
    await rest(stack.endpoint, "/", { body: ["PING"], token: "nope" });
    await rest(stack.endpoint, "/", { body: "{" });
    expect(stack.endpoint.stats().requests).toBe(0);
  });
});

describe("faults", () => {
  it("adds latency", async () => {
    stack.endpoint.setFaults({ latencyMs: 150 });
    const started = performance.now();
    expect(await command(stack.endpoint, "PING")).toBe("PONG");
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });

  it("fails every request at failure rate 1 without touching Redis", async () => {
    stack.endpoint.setFaults({ failureRate: 1 });
    const res = await rest(stack.endpoint, "/", { body: ["SET", `${p}fail`, "x"] });
    expect(res.status).toBe(503);
    expect(typeof res.json.error).toBe("string");
    stack.endpoint.clearFaults();
    expect(await command(stack.endpoint, "EXISTS", `${p}fail`)).toBe(0);
  });

  it("answers 503 while down with 5xx, set over the control API", async () => {
    const put = await rest(stack.endpoint, "/__control/faults", { method: "PUT", body: { down: "5xx" } });
    expect(put.status).toBe(204);
    expect((await rest(stack.endpoint, "/pipeline", { body: [["PING"]] })).status).toBe(503);
    expect((await rest(stack.endpoint, "/__control/faults", { method: "DELETE" })).status).toBe(204);
    expect(await command(stack.endpoint, "PING")).toBe("PONG");
  });

  it("rejects an invalid fault config with 400", async () => {
    const res = await rest(stack.endpoint, "/__control/faults", { method: "PUT", body: { down: "sometimes" } });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/down/);
  });

  it("drops the connection while down with drop", async () => {
    stack.endpoint.setFaults({ down: "drop" });
    await expect(rest(stack.endpoint, "/", { body: ["PING"] })).rejects.toThrow(SOCKET_CLOSED);
    stack.endpoint.clearFaults();
    expect(await command(stack.endpoint, "PING")).toBe("PONG");
  });

  it("applies the write but loses the reply with dropReplyAfterApply", async () => {
    await rest(stack.endpoint, "/__control/faults", { method: "PUT", body: { dropReplyAfterApply: 1 } });
    await expect(rest(stack.endpoint, "/", { body: ["INCR", `${p}applied`] })).rejects.toThrow(SOCKET_CLOSED);
    // Only the next request was affected, and its write is in Redis.
    expect(await command(stack.endpoint, "GET", `${p}applied`)).toBe("1");
    expect((await rest(stack.endpoint, "/__control/faults")).json).toEqual({ dropReplyAfterApply: 0 });
  });

  it("affects only requests containing the matched command", async () => {
    stack.endpoint.setFaults({ down: "5xx", match: "incr" });
    expect(await command(stack.endpoint, "SET", `${p}m`, "5")).toBe("OK");
    expect((await rest(stack.endpoint, "/", { body: ["INCR", `${p}m`] })).status).toBe(503);
    expect((await rest(stack.endpoint, "/pipeline", { body: [["GET", `${p}m`], ["INCR", `${p}m`]] })).status).toBe(503);
    expect(await command(stack.endpoint, "GET", `${p}m`)).toBe("5");
  });

  it("never applies faults to the control API", async () => {
    stack.endpoint.setFaults({ down: "drop" });
    expect((await rest(stack.endpoint, "/__control/stats")).status).toBe(200);
    expect((await rest(stack.endpoint, "/__control/faults", { method: "DELETE" })).status).toBe(204);
    expect(await command(stack.endpoint, "PING")).toBe("PONG");
  });
});
