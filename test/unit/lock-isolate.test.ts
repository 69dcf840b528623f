import { describe, expect, it } from "vitest";
import { LeaseMemory } from "../../shared/lock/isolate";
import { newToken, validateToken } from "../../shared/lock/token";
import { InvalidInputError } from "../../shared/errors";

describe("LeaseMemory", () => {
  it("recalls what was remembered until it is forgotten", () => {
    const memory = new LeaseMemory();
    memory.remember("a", { fence: 1, prev: "" });
    expect(memory.recall("a")).toEqual({ fence: 1, prev: "" });
    memory.forget("a");
    expect(memory.recall("a")).toBeUndefined();
  });

  it("stays within its capacity, dropping the oldest lease first", () => {
    const memory = new LeaseMemory(3);
    for (const token of ["a", "b", "c", "d"]) memory.remember(token, { fence: 1, prev: "" });
    expect(memory.size).toBe(3);
    expect(memory.recall("a")).toBeUndefined();
    expect(memory.recall("d")).toBeDefined();
  });
});

describe("tokens", () => {
  it("are 128 random bits as 32 lower-case hex characters, never repeated", () => {
    const tokens = new Set(Array.from({ length: 1000 }, newToken));
    expect(tokens.size).toBe(1000);
    for (const token of tokens) expect(validateToken(token)).toBe(token);
  });

  it("anything else is refused as invalid input naming the field", () => {
    for (const bad of ["", "abc", "0123456789ABCDEF0123456789ABCDEF", `${"a".repeat(32)}0`, "g".repeat(32)]) {
      expect(() => validateToken(bad, "lock-token")).toThrow(InvalidInputError);
    }
  });
});
