/**
 * Upstash's allow-key-locking rule, enforced by the local endpoint: a flagged script may touch
 * only the keys it passes in KEYS and may not run database-wide commands. Unflagged scripts
 * keep Redis's own behaviour. Against a real Redis through the endpoint, over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guardCalls } from "../../local/key-locking";
import { keyPrefix, rest, startLocalStack, type LocalStack } from "./local-stack";

const FLAG = "#!lua flags=allow-key-locking\n";

describe("allow-key-locking enforcement", () => {
  let stack: LocalStack;
  const p = keyPrefix();

  beforeAll(async () => {
    stack = await startLocalStack();
  });
  afterAll(() => stack.stop());

  const evalScript = (script: string, keys: string[], args: string[] = []) =>
    rest(stack.endpoint, "/", { body: ["EVAL", script, keys.length, ...keys, ...args] });

  it("runs a flagged script that touches only declared keys", async () => {
    const res = await evalScript(`${FLAG}redis.call("SET", KEYS[1], ARGV[1]) return redis.call("MGET", KEYS[1], KEYS[2])`, [`${p}a`, `${p}b`], ["v"]);
    expect(res.status).toBe(200);
    expect(res.json.result).toEqual(["v", null]);
  });

  it("fails a flagged script that touches a key not in KEYS, and changes nothing", async () => {
    const res = await evalScript(`${FLAG}redis.call("SET", KEYS[1], "x") redis.call("SET", "${p}undeclared", "y") return 1`, [`${p}c`]);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/not in KEYS/);
    const check = await rest(stack.endpoint, "/", { body: ["EXISTS", `${p}undeclared`] });
    expect(check.json.result).toBe(0);
  });

  it("checks every key of multi-key commands and of numkeys commands", async () => {
    const mget = await evalScript(`${FLAG}return redis.call("MGET", KEYS[1], "${p}other")`, [`${p}d`]);
    expect(mget.status).toBe(400);
    const zunion = await evalScript(`${FLAG}return redis.call("ZUNIONSTORE", KEYS[1], 2, KEYS[2], "${p}z3")`, [`${p}z1`, `${p}z2`]);
    expect(zunion.status).toBe(400);
    const allowed = await evalScript(`${FLAG}return redis.call("ZUNIONSTORE", KEYS[1], 1, KEYS[2])`, [`${p}z1`, `${p}z2`]);
    expect(allowed.status).toBe(200);
  });

  it("refuses database-wide commands in a flagged script, but allows keyless ones like TIME and PUBLISH", async () => {
    for (const command of ['"KEYS", "*"', '"SCAN", 0', '"FLUSHDB"', '"RANDOMKEY"', '"DBSIZE"']) {
      const res = await evalScript(`${FLAG}return redis.call(${command})`, []);
      expect(res.status, command).toBe(400);
      expect(res.json.error).toMatch(/whole database/);
    }
    const ok = await evalScript(`${FLAG}redis.call("PUBLISH", "${p}ch", "m") return redis.call("TIME")[1] ~= nil`, []);
    expect(ok.status).toBe(200);
  });

  it("answers a redis.pcall of an undeclared key with an error reply the script can inspect", async () => {
    const res = await evalScript(`${FLAG}local r = redis.pcall("GET", "${p}nope") return type(r) == "table" and r.err or "no error"`, []);
    expect(res.status).toBe(200);
    expect(res.json.result).toMatch(/not in KEYS/);
  });

  it("leaves scripts without the flag alone (Redis's own rules)", async () => {
    const res = await evalScript(`redis.call("SET", "${p}free", "1") return redis.call("GET", "${p}free")`, []);
    expect(res.status).toBe(200);
    expect(res.json.result).toBe("1");
  });

  it("enforces the rule for EVALSHA after SCRIPT LOAD too, with the client's SHA1", async () => {
    const script = `${FLAG}return redis.call("GET", "${p}sha-undeclared")`;
    const load = await rest(stack.endpoint, "/", { body: ["SCRIPT", "LOAD", script] });
    expect(load.status).toBe(200);
    const res = await rest(stack.endpoint, "/", { body: ["EVALSHA", load.json.result, 0] });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/not in KEYS/);
  });

  it("keeps line numbers of the client's text in Redis's error messages", async () => {
    const res = await evalScript(`${FLAG}local a = 1\nlocal b = nil + 1\nreturn b`, []);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/:3:/);
  });
});

describe("guardCalls", () => {
  it("wraps the arguments of redis.call and keeps every line where it was", () => {
    const lua = 'local v = redis.call("GET", KEYS[1])\nreturn redis.call("SET", KEYS[2], f(v))';
    expect(guardCalls(lua)).toBe('local v = redis.call(__kl("GET", KEYS[1]))\nreturn redis.call(__kl("SET", KEYS[2], f(v)))');
  });

  it("routes pcall and bare references through the wrapper, and leaves strings and comments alone", () => {
    const lua = [
      'local ok = redis.pcall("GET", k)',
      "local call = redis.call",
      '-- redis.call("GET", "x") in a comment',
      'local s = "redis.call(" .. [[redis.call(]]',
      "local n = myredis.call(1)",
    ].join("\n");
    expect(guardCalls(lua).split("\n")).toEqual([
      'local ok = __key_locked_pcall("GET", k)',
      "local call = __key_locked_call",
      '-- redis.call("GET", "x") in a comment',
      'local s = "redis.call(" .. [[redis.call(]]',
      "local n = myredis.call(1)",
    ]);
  });
});
