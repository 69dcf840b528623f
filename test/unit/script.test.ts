import { describe, expect, it } from "vitest";
import { defineScript } from "../../shared/script";

const SCRIPT = defineScript<"entry" | "lease", "token" | "ttlMs", number>({
  name: "example",
  keys: ["entry", "lease"],
  args: ["token", "ttlMs"],
  restArgs: "tags",
  lua: "return #ARG_REST",
});

describe("defineScript", () => {
  it("declares allow-key-locking and binds KEYS and ARGV by name", () => {
    const lines = SCRIPT.source.split("\n");
    expect(lines[0]).toBe("#!lua flags=allow-key-locking");
    expect(lines).toContain("local KEY = { entry = KEYS[1], lease = KEYS[2] }");
    expect(lines).toContain("local ARG = { token = ARGV[1], ttlMs = ARGV[2] }");
    expect(lines).toContain("local ARG_REST = { unpack(ARGV, 3) } -- tags");
    expect(SCRIPT.source.endsWith("return #ARG_REST")).toBe(true);
  });

  it("builds KEYS and ARGV in declared order, as strings, with the rest after the named ones", () => {
    expect(SCRIPT.call({ lease: "l", entry: "e" }, { ttlMs: 500, token: "t" }, { args: ["a", 2] })).toEqual({
      keys: ["e", "l"],
      args: ["t", "500", "a", "2"],
    });
  });

  it("refuses a missing name and rest values the script does not declare", () => {
    expect(() => SCRIPT.call({ entry: "e" } as never, { token: "t", ttlMs: 1 })).toThrow(TypeError);
    expect(() => SCRIPT.call({ entry: "e", lease: "l" }, { token: "t", ttlMs: 1 }, { keys: ["x"] })).toThrow(/no more keys/);
  });

  it("refuses names that are not Lua identifiers", () => {
    expect(() => defineScript({ name: "bad", keys: ["a-b"], args: [], lua: "" })).toThrow(/not a Lua name/);
  });
});
