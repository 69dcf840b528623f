/**
 * The local endpoint over raw HTTP: authentication, request parsing, refusals, size limit,
 * reply shapes and encodings, the sync-token header, path style.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { command, keyPrefix, rest, startLocalStack, type LocalStack } from "./local-stack";

let stack: LocalStack;
const p = keyPrefix();

beforeAll(async () => {
  stack = await startLocalStack();
});

afterAll(async () => {
  await stack?.stop();
});

describe("authentication", () => {
  it("answers 401 without a token or with a wrong one", async () => {
    for (const token of [null, "wrong", `${stack.endpoint.token}x`]) {
      const res = await rest(stack.endpoint, "/", { body: ["PING"], token });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: "Unauthorized" });
    }
  });

  it("accepts the token as a _token query parameter", async () => {
    const res = await rest(stack.endpoint, `/ping?_token=${stack.endpoint.token}`, { token: null });
    expect(res).toMatchObject({ status: 200, json: { result: "PONG" } });
  });
});

describe("requests", () => {
  it("runs one command with numbers as arguments", async () => {
    expect(await command(stack.endpoint, "SET", `${p}n`, 41)).toBe("OK");
    expect(await command(stack.endpoint, "INCRBY", `${p}n`, 1)).toBe(42);
    expect(await command(stack.endpoint, "GET", `${p}n`)).toBe("42");
    expect(await command(stack.endpoint, "GET", `${p}missing`)).toBeNull();
  });

  it("answers a Redis error for one command with 400 and its message", async () => {
    await command(stack.endpoint, "SET", `${p}str`, "x");
    const res = await rest(stack.endpoint, "/", { body: ["LPUSH", `${p}str`, "a"] });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/^WRONGTYPE/);
  });

  it("runs a pipeline with a result or an error per command", async () => {
    const res = await rest(stack.endpoint, "/pipeline", {
      body: [["SET", `${p}pl`, "v"], ["INCR", `${p}pl`], ["GET", `${p}pl`], ["HGETALL", `${p}nohash`]],
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual([{ result: "OK" }, { error: "ERR value is not an integer or out of range" }, { result: "v" }, { result: [] }]);
  });

  it("answers path-style commands, with a POST body as the value", async () => {
    expect((await rest(stack.endpoint, `/set/${encodeURIComponent(`${p}path`)}/a%20b`)).json).toEqual({ result: "OK" });
    expect((await rest(stack.endpoint, `/get/${encodeURIComponent(`${p}path`)}`)).json).toEqual({ result: "a b" });
    await rest(stack.endpoint, `/set/${encodeURIComponent(`${p}path`)}`, { body: "from body" });
    expect(await command(stack.endpoint, "GET", `${p}path`)).toBe("from body");
  });

  it("answers 400 to malformed bodies", async () => {
    for (const [path, body] of [
      ["/", "{not json"],
      ["/", "[]"],
      ["/", '{"cmd":"GET"}'],
      ["/", '["SET","k",{"a":1}]'],
      ["/pipeline", '["GET","k"]'],
      ["/pipeline", "[]"],
      ["/multi-exec", "null"],
    ] as const) {
      const res = await rest(stack.endpoint, path, { body });
      expect(res.status, `${path} ${body}`).toBe(400);
      expect(typeof res.json.error).toBe("string");
    }
  });

  it("answers 413 to a body over 10 MB and still serves the next request", async () => {
    const big = "x".repeat(10 * 1024 * 1024 + 10);
    const res = await rest(stack.endpoint, "/", { body: ["SET", `${p}big`, big] });
    expect(res.status).toBe(413);
    expect(res.json.error).toMatch(/10 MB/);
    expect(await command(stack.endpoint, "EXISTS", `${p}big`)).toBe(0);
  });

  it("accepts a body just under 10 MB", async () => {
    const value = "y".repeat(9 * 1024 * 1024);
    expect(await command(stack.endpoint, "SET", `${p}large`, value)).toBe("OK");
    expect(await command(stack.endpoint, "STRLEN", `${p}large`)).toBe(value.length);
    await command(stack.endpoint, "DEL", `${p}large`);
  });
});

describe("refused commands", () => {
  it("refuses a blocking command with 400 and a clear message", async () => {
    const res = await rest(stack.endpoint, "/", { body: ["BLPOP", `${p}q`, "0"] });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: "ERR command 'BLPOP' is not available over the REST API" });
  });

  it("refuses connection, transaction and admin commands but allows PING and ECHO", async () => {
    for (const args of [["SELECT", "1"], ["WATCH", "k"], ["CLIENT", "LIST"], ["CONFIG", "GET", "*"], ["SUBSCRIBE", "c"], ["SHUTDOWN"]]) {
      const res = await rest(stack.endpoint, "/", { body: args });
      expect(res.status, args.join(" ")).toBe(400);
      expect(res.json.error).toContain("is not available over the REST API");
    }
    expect(await command(stack.endpoint, "ECHO", "hi")).toBe("hi");
    expect(await command(stack.endpoint, "PING")).toBe("PONG");
  });

  it("refuses XREAD with BLOCK but runs it without", async () => {
    await command(stack.endpoint, "XADD", `${p}s`, "*", "f", "v");
    const blocked = await rest(stack.endpoint, "/", { body: ["XREAD", "BLOCK", "10", "STREAMS", `${p}s`, "0"] });
    expect(blocked.status).toBe(400);
    const read = await command(stack.endpoint, "XREAD", "STREAMS", `${p}s`, "0");
    expect(read[0][0]).toBe(`${p}s`);
    expect(read[0][1][0][1]).toEqual(["f", "v"]);
  });

  it("turns a refused command in a pipeline into that entry's error only", async () => {
    const res = await rest(stack.endpoint, "/pipeline", { body: [["BRPOP", `${p}q`, "1"], ["PING"]] });
    expect(res.json).toEqual([{ error: "ERR command 'BRPOP' is not available over the REST API" }, { result: "PONG" }]);
  });

  it("rejects a whole transaction containing a refused command", async () => {
    const res = await rest(stack.endpoint, "/multi-exec", { body: [["SET", `${p}tx`, "1"], ["SELECT", "2"]] });
    expect(res.status).toBe(400);
    expect(await command(stack.endpoint, "EXISTS", `${p}tx`)).toBe(0);
  });
});

describe("encodings", () => {
  it("base64-encodes every string except a top-level OK", async () => {
    const set = await rest(stack.endpoint, "/", { body: ["SET", `${p}b64`, "héllo"], base64: true });
    expect(set.json).toEqual({ result: "OK" });
    const get = await rest(stack.endpoint, "/", { body: ["GET", `${p}b64`], base64: true });
    expect(Buffer.from(get.json.result, "base64").toString("utf8")).toBe("héllo");
    const ping = await rest(stack.endpoint, "/", { body: ["PING"], base64: true });
    expect(ping.json.result).toBe(Buffer.from("PONG").toString("base64"));
  });

  it("encodes nested arrays, keeping integers and nil", async () => {
    const script = "return {1, 'OK', false, {'x', 2}}";
    const res = await rest(stack.endpoint, "/", { body: ["EVAL", script, "0"], base64: true });
    expect(res.json.result).toEqual([1, "T0s=", null, ["eA==", 2]]);
  });

  it("is binary-safe", async () => {
    const res = await rest(stack.endpoint, "/", { body: ["EVAL", "return string.char(0, 255, 1)", "0"], base64: true });
    expect(res.json.result).toBe("AP8B");
  });

  it("returns raw Redis reply shapes: HGETALL is a flat array", async () => {
    await command(stack.endpoint, "HSET", `${p}h`, "a", "1", "b", "2");
    const pairs: string[] = await command(stack.endpoint, "HGETALL", `${p}h`);
    expect(pairs).toHaveLength(4);
    expect(Object.fromEntries([[pairs[0], pairs[1]], [pairs[2], pairs[3]]])).toEqual({ a: "1", b: "2" });
  });
});

describe("upstash-sync-token", () => {
  it("is on every response, increasing", async () => {
    const tokens: number[] = [];
    for (const res of [
      await rest(stack.endpoint, "/", { body: ["PING"] }),
      await rest(stack.endpoint, "/", { body: ["PING"], token: "wrong" }),
      await rest(stack.endpoint, "/pipeline", { body: [["PING"]] }),
      await rest(stack.endpoint, "/", { body: ["BLPOP", "q", "0"] }),
    ]) {
      const header = res.headers.get("upstash-sync-token");
      expect(header).toMatch(/^\d+$/);
      tokens.push(Number(header));
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as number);
  });
});
