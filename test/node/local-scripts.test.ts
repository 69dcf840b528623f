/**
 * The allow-key-locking rewrite and the client-SHA1 → Redis-SHA1 map: unit tests of the
 * rewrite, then the whole round trip over HTTP against a real Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rewriteScript, scriptSha1, ScriptRegistry } from "../../local/scripts";
import { command, keyPrefix, rest, startLocalStack, type LocalStack } from "./local-stack";

describe("rewriteScript", () => {
  it("replaces a shebang left without flags by an empty line", () => {
    expect(rewriteScript("#!lua flags=allow-key-locking\nreturn 1")).toBe("\nreturn 1");
  });

  it("keeps the other flags and shebang options", () => {
    expect(rewriteScript("#!lua flags=allow-key-locking,no-writes\nreturn 1")).toBe("#!lua flags=no-writes\nreturn 1");
    expect(rewriteScript("#!lua name=lib flags=no-cluster,allow-key-locking\nx")).toBe("#!lua name=lib flags=no-cluster\nx");
  });

  it("keeps a CRLF line ending and handles a script that is only the shebang", () => {
    expect(rewriteScript("#!lua flags=allow-key-locking\r\nreturn 1")).toBe("\r\nreturn 1");
    expect(rewriteScript("#!lua flags=allow-key-locking")).toBe("");
  });

  it("leaves scripts without the flag alone", () => {
    expect(rewriteScript("return 1")).toBeNull();
    expect(rewriteScript("#!lua flags=no-writes\nreturn 1")).toBeNull();
    expect(rewriteScript("-- #!lua flags=allow-key-locking\nreturn 1")).toBeNull();
  });
});

describe("ScriptRegistry", () => {
  it("maps the client's SHA1 to the rewritten script's after EVAL", () => {
    const registry = new ScriptRegistry();
    const script = "#!lua flags=allow-key-locking\nreturn 1";
    const prepared = registry.prepare(["eval", script, "0"]);
    expect(prepared.args).toEqual(["eval", "\nreturn 1", "0"]);
    expect(registry.prepare(["EVALSHA", scriptSha1(script).toUpperCase(), "0"]).args[1]).toBe(scriptSha1("\nreturn 1"));
    expect(registry.prepare(["EVALSHA", "f".repeat(40), "0"]).args[1]).toBe("f".repeat(40));
  });

  it("answers SCRIPT LOAD with the client's SHA1 and forgets the map after SCRIPT FLUSH", () => {
    const registry = new ScriptRegistry();
    const script = "#!lua flags=allow-key-locking\nreturn 2";
    const load = registry.prepare(["SCRIPT", "LOAD", script]);
    expect(load.adaptReply(Buffer.from(scriptSha1("\nreturn 2")))).toEqual(Buffer.from(scriptSha1(script)));
    expect(registry.size).toBe(1);
    registry.prepare(["SCRIPT", "FLUSH"]).adaptReply(Buffer.from("OK"));
    expect(registry.size).toBe(0);
  });
});

describe("scripts over HTTP", () => {
  let stack: LocalStack;
  const p = keyPrefix();

  beforeAll(async () => {
    stack = await startLocalStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("runs a flagged script with EVAL, then EVALSHA with the client's SHA1", async () => {
    const script = `#!lua flags=allow-key-locking\n-- ${p}eval\nreturn redis.call('INCR', KEYS[1])`;
    expect(await command(stack.endpoint, "EVAL", script, 1, `${p}c`)).toBe(1);
    expect(await command(stack.endpoint, "EVALSHA", scriptSha1(script), 1, `${p}c`)).toBe(2);
    expect(await command(stack.endpoint, "EVALSHA_RO", scriptSha1(`#!lua flags=allow-key-locking\n-- ${p}eval\nreturn 1`), 0).catch((e: Error) => e.message)).toMatch(/NOSCRIPT/);
  });

  it("loads a flagged script with SCRIPT LOAD, answering the client's SHA1", async () => {
    const script = `#!lua flags=allow-key-locking\n-- ${p}load\nreturn ARGV[1]`;
    const sha = scriptSha1(script);
    expect(await command(stack.endpoint, "SCRIPT", "LOAD", script)).toBe(sha);
    expect(await command(stack.endpoint, "SCRIPT", "EXISTS", sha, "0".repeat(40))).toEqual([1, 0]);
    expect(await command(stack.endpoint, "EVALSHA", sha, 0, "hello")).toBe("hello");
  });

  it("translates SHA1s inside pipelines and transactions too", async () => {
    const script = `#!lua flags=allow-key-locking\n-- ${p}batch\nreturn KEYS[1]`;
    await command(stack.endpoint, "SCRIPT", "LOAD", script);
    const sha = scriptSha1(script);
    const pipeline = await rest(stack.endpoint, "/pipeline", { body: [["EVALSHA", sha, 1, "a"]] });
    expect(pipeline.json).toEqual([{ result: "a" }]);
    const tx = await rest(stack.endpoint, "/multi-exec", { body: [["EVALSHA", sha, 1, "b"], ["SCRIPT", "EXISTS", sha]] });
    expect(tx.json).toEqual([{ result: "b" }, { result: [1] }]);
  });

  it("keeps line numbers of Redis's script errors", async () => {
    const res = await rest(stack.endpoint, "/", { body: ["EVAL", "#!lua flags=allow-key-locking\nreturn redis.call('nope')", "0"] });
    expect(res.status).toBe(400);
    expect(res.json.error).toContain("@user_script:2");
  });

  it("keeps the flags Redis knows", async () => {
    const res = await rest(stack.endpoint, "/", {
      body: ["EVAL", "#!lua flags=allow-key-locking,no-writes\nreturn redis.call('SET', KEYS[1], 'x')", "1", `${p}ro`],
    });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/not allowed from read-only scripts/);
  });

  it("answers NOSCRIPT for unknown SHA1s and after SCRIPT FLUSH", async () => {
    const script = `#!lua flags=allow-key-locking\n-- ${p}flush\nreturn 7`;
    await command(stack.endpoint, "SCRIPT", "LOAD", script);
    expect(await command(stack.endpoint, "EVALSHA", scriptSha1(script), 0)).toBe(7);
    expect(await command(stack.endpoint, "SCRIPT", "FLUSH")).toBe("OK");
    const res = await rest(stack.endpoint, "/", { body: ["EVALSHA", scriptSha1(script), "0"] });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/^NOSCRIPT/);
  });
});
