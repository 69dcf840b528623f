/**
 * `/multi-exec` atomicity under concurrency, and how the endpoint behaves when Redis is gone:
 * quick 5xx answers, never a hang.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalEndpoint } from "../../local/endpoint";
import { startRedisServer } from "../../local/redis-server";
import { command, keyPrefix, rest, startLocalStack, type LocalStack } from "./local-stack";

describe("multi-exec", () => {
  let stack: LocalStack;
  const p = keyPrefix();

  beforeAll(async () => {
    // Fewer transaction connections than concurrent transactions: some must wait for a lease.
    stack = await startLocalStack({ poolSize: 4 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("runs each transaction atomically among concurrent writers", async () => {
    const key = `${p}counter`;
    const transactions = Array.from({ length: 50 }, () =>
      rest(stack.endpoint, "/multi-exec", { body: [["INCR", key], ["GET", key]] }),
    );
    // Plain INCRs on the shared connections, trying to slip between a transaction's commands.
    const singles = Array.from({ length: 50 }, () => command(stack.endpoint, "INCR", key));
    const [txReplies] = await Promise.all([Promise.all(transactions), Promise.all(singles)]);

    const seen = new Set<number>();
    for (const res of txReplies) {
      expect(res.status).toBe(200);
      const [incr, get] = res.json as [{ result: number }, { result: string }];
      expect(get.result).toBe(String(incr.result));
      seen.add(incr.result);
    }
    expect(seen.size).toBe(50);
    expect(await command(stack.endpoint, "GET", key)).toBe("100");
  });

  it("gives consecutive values to transactions that increment twice", async () => {
    const key = `${p}pairs`;
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => rest(stack.endpoint, "/multi-exec", { body: [["INCR", key], ["INCR", key]] })),
    );
    const firsts = replies.map((res) => {
      const [a, b] = res.json as [{ result: number }, { result: number }];
      expect(b.result).toBe(a.result + 1);
      return a.result;
    });
    expect(firsts.sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 1));
  });

  it("reports per-command errors inside a transaction and still applies the rest", async () => {
    await command(stack.endpoint, "SET", `${p}str`, "x");
    const res = await rest(stack.endpoint, "/multi-exec", { body: [["INCR", `${p}str`], ["SET", `${p}after`, "1"]] });
    expect(res.status).toBe(200);
    expect(res.json).toEqual([{ error: "ERR value is not an integer or out of range" }, { result: "OK" }]);
    expect(await command(stack.endpoint, "GET", `${p}after`)).toBe("1");
  });

  it("discards the whole transaction when Redis refuses a command while queueing", async () => {
    const res = await rest(stack.endpoint, "/multi-exec", { body: [["SET", `${p}aborted`, "1"], ["NOSUCHCOMMAND"]] });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/^EXECABORT/);
    expect(await command(stack.endpoint, "EXISTS", `${p}aborted`)).toBe(0);
    // The leased connection is usable again afterwards.
    const next = await rest(stack.endpoint, "/multi-exec", { body: [["PING"]] });
    expect(next.json).toEqual([{ result: "PONG" }]);
  });
});

describe("Redis outage", () => {
  it("answers 503 quickly once Redis is gone, for every kind of request", async () => {
    const redis = await startRedisServer();
    const endpoint = await startLocalEndpoint({ redisUrl: redis.url, poolSize: 2 });
    try {
      expect(await command(endpoint, "PING")).toBe("PONG");
      await rest(endpoint, "/multi-exec", { body: [["PING"]] });
      await redis.stop();

      for (const [path, body] of [
        ["/", ["SET", "k", "v"]],
        ["/pipeline", [["GET", "k"]]],
        ["/multi-exec", [["INCR", "k"]]],
      ] as const) {
        const started = performance.now();
        const res = await rest(endpoint, path, { body });
        expect(res.status, path).toBe(503);
        expect(res.json.error).toMatch(/Redis is unavailable/);
        expect(performance.now() - started).toBeLessThan(3_000);
      }
    } finally {
      await endpoint.close();
      await redis.stop();
    }
  });

  it("refuses to start when Redis cannot be reached", async () => {
    const redis = await startRedisServer();
    await redis.stop();
    const started = performance.now();
    await expect(startLocalEndpoint({ redisUrl: redis.url, poolSize: 1 })).rejects.toThrow(/cannot reach Redis/);
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});
