/**
 * The unchanged `@upstash/redis` client against the local endpoint: the same assertions with
 * the client's default base64 responses and with plain ones (`responseEncoding: false`).
 */
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyPrefix, startLocalStack, type LocalStack } from "./local-stack";

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
});

afterAll(async () => {
  await stack?.stop();
});

const encodings = [
  { name: "base64 responses (default)", responseEncoding: undefined },
  { name: "plain responses", responseEncoding: false as const },
];

describe.each(encodings)("@upstash/redis with $name", ({ responseEncoding }) => {
  let redis: Redis;
  /** Returns values as stored, without the client's JSON parsing. */
  let raw: Redis;
  const p = keyPrefix();

  beforeAll(() => {
    const common = { url: stack.endpoint.url, token: stack.endpoint.token, enableTelemetry: false, responseEncoding };
    redis = new Redis(common);
    raw = new Redis({ ...common, automaticDeserialization: false });
  });

  it("sets and gets strings with EX, PX, NX, XX and GET", async () => {
    expect(await redis.set(`${p}s`, "v1", { ex: 60 })).toBe("OK");
    const ttl = await redis.ttl(`${p}s`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await redis.set(`${p}s`, "v2", { nx: true })).toBeNull();
    expect(await redis.set(`${p}missing`, "v", { xx: true })).toBeNull();
    expect(await redis.set(`${p}s`, "v3", { xx: true, px: 50_000 })).toBe("OK");
    expect(await redis.pttl(`${p}s`)).toBeGreaterThan(40_000);
    expect(await redis.set(`${p}s`, "v4", { get: true })).toBe("v3");
    expect(await redis.get(`${p}s`)).toBe("v4");
    expect(await redis.get(`${p}missing`)).toBeNull();
  });

  it("counts", async () => {
    expect(await redis.incr(`${p}n`)).toBe(1);
    expect(await redis.incrby(`${p}n`, 9)).toBe(10);
    expect(await redis.decr(`${p}n`)).toBe(9);
    expect(await redis.incrbyfloat(`${p}n`, 0.5)).toBe(9.5);
  });

  it("reads hashes as objects", async () => {
    expect(await redis.hset(`${p}h`, { name: "ada", visits: 3 })).toBe(2);
    expect(await redis.hincrby(`${p}h`, "visits", 2)).toBe(5);
    expect(await redis.hgetall(`${p}h`)).toEqual({ name: "ada", visits: 5 });
    expect(await redis.hget(`${p}h`, "name")).toBe("ada");
    expect(await redis.hgetall(`${p}nohash`)).toBeNull();
  });

  it("handles sets", async () => {
    expect(await redis.sadd(`${p}set`, "a", "b", "c")).toBe(3);
    expect((await redis.smembers(`${p}set`)).sort()).toEqual(["a", "b", "c"]);
    expect(await redis.sismember(`${p}set`, "b")).toBe(1);
    expect(await redis.sismember(`${p}set`, "z")).toBe(0);
  });

  it("handles sorted sets: ZADD GT/LT/CH/INCR and ZRANGE REV/BYSCORE/LIMIT/WITHSCORES", async () => {
    const z = `${p}z`;
    expect(await redis.zadd(z, { score: 1, member: "a" }, { score: 2, member: "b" }, { score: 3, member: "c" })).toBe(3);
    expect(await redis.zadd(z, { gt: true, ch: true }, { score: 0, member: "a" })).toBe(0);
    expect(await redis.zadd(z, { gt: true, ch: true }, { score: 10, member: "a" })).toBe(1);
    expect(await redis.zadd(z, { lt: true, ch: true }, { score: 1, member: "b" })).toBe(1);
    expect(await redis.zadd(z, { incr: true }, { score: 2.5, member: "c" })).toBe(5.5);
    expect(await redis.zrange(z, 0, -1)).toEqual(["b", "c", "a"]);
    expect(await redis.zrange(z, 0, -1, { rev: true })).toEqual(["a", "c", "b"]);
    expect(await redis.zrange(z, 0, -1, { withScores: true })).toEqual(["b", 1, "c", 5.5, "a", 10]);
    expect(await redis.zrange(z, 2, 6, { byScore: true })).toEqual(["c"]);
    expect(await redis.zrange(z, "+inf", "-inf", { byScore: true, rev: true, offset: 1, count: 1 })).toEqual(["c"]);
    expect(await redis.zscore(z, "a")).toBe(10);
  });

  it("handles lists", async () => {
    expect(await redis.rpush(`${p}l`, "a", "b")).toBe(2);
    expect(await redis.lpush(`${p}l`, "z")).toBe(3);
    expect(await redis.lrange(`${p}l`, 0, -1)).toEqual(["z", "a", "b"]);
    expect(await redis.lpop(`${p}l`)).toBe("z");
    expect(await redis.llen(`${p}l`)).toBe(2);
  });

  it("scans every key matching a pattern", async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `${p}scan:${i}`);
    await Promise.all(keys.map((k) => redis.set(k, 1)));
    const found = new Set<string>();
    let cursor: string | number = 0;
    do {
      const [next, batch]: [string | number, string[]] = await redis.scan(cursor, { match: `${p}scan:*`, count: 7 });
      batch.forEach((k) => found.add(k));
      cursor = next;
    } while (String(cursor) !== "0");
    expect([...found].sort()).toEqual([...keys].sort());
  });

  it("runs scripts with EVAL and, through createScript, EVALSHA", async () => {
    expect(await redis.eval("return {KEYS[1], ARGV[1], 7}", [`${p}k`], ["arg"])).toEqual([`${p}k`, "arg", 7]);
    const script = redis.createScript<number>(`-- ${p}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);
    stack.endpoint.resetStats();
    expect(await script.exec([`${p}sc`], ["2"])).toBe(2);
    expect(await script.exec([`${p}sc`], ["3"])).toBe(5);
    // First EVALSHA misses (NOSCRIPT) and falls back to EVAL; the second EVALSHA hits.
    expect(stack.endpoint.stats().byCommand).toMatchObject({ EVALSHA: 2, EVAL: 1 });
  });

  it("runs pipelines and transactions", async () => {
    const results = await redis.pipeline().set(`${p}pl`, 1).incr(`${p}pl`).get(`${p}pl`).exec();
    expect(results).toEqual(["OK", 2, 2]);
    const tx = await redis.multi().incr(`${p}tx`).incr(`${p}tx`).get(`${p}tx`).exec();
    expect(tx).toEqual([1, 2, 2]);
  });

  it("serialises JSON values automatically", async () => {
    const value = { user: "ada", tags: ["a", "b"], nested: { n: 1, ok: true } };
    await redis.set(`${p}json`, value);
    expect(await redis.get(`${p}json`)).toEqual(value);
    expect(await raw.get(`${p}json`)).toBe(JSON.stringify(value));
  });

  it("round-trips unicode, NUL bytes and number-looking strings", async () => {
    for (const value of ["\u0000a\u0000", "emoji 🎉 ünïcødé", "123", "OK", "dGVzdA==", "", " spaced "]) {
      await raw.set(`${p}u`, value);
      expect(await raw.get(`${p}u`), JSON.stringify(value)).toBe(value);
    }
    await redis.set(`${p}num`, "123");
    // The client's automatic deserialisation turns the stored "123" into a number, as on Upstash.
    expect(await redis.get(`${p}num`)).toBe(123);
    await redis.hset(`${p}uh`, { "clé 🔑": "välue\u0000" });
    expect(await redis.hgetall(`${p}uh`)).toEqual({ "clé 🔑": "välue\u0000" });
  });

  it("throws Redis errors, alone and in pipelines", async () => {
    await redis.set(`${p}str`, "x");
    await expect(redis.lpush(`${p}str`, "a")).rejects.toThrow(/WRONGTYPE/);
    await expect(redis.pipeline().lpush(`${p}str`, "a").exec()).rejects.toThrow(/WRONGTYPE/);
    await expect(redis.eval("return redis.call('nope')", [], [])).rejects.toThrow(/Unknown Redis command/);
  });
});
