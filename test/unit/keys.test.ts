import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors";
import { validateName } from "../../shared/keys";

/** The one name check every feature uses for keys, tags, boards, members, lock names and ids. */
describe("validateName", () => {
  it("accepts 1–256 UTF-8 bytes of any well-formed text, astral characters included", () => {
    for (const name of ["a", "user:42", "é".repeat(128), "🦄 unicorn", "a/b?c#d", "\ufffd"]) expect(validateName(name, "name")).toBe(name);
  });

  it("refuses empty, too long, control characters", () => {
    for (const name of ["", "é".repeat(129), "a\u0000", "a\nb", "\u0085"]) expect(() => validateName(name, "name")).toThrow(InvalidInputError);
  });

  it("refuses a lone surrogate: UTF-8 cannot hold one, so 'a\\ud800' would become the key of 'a\\ufffd'", () => {
    for (const name of ["\ud800", "a\udfff", "\udc00\ud800", "x\ud83d"]) {
      expect(() => validateName(name, "member"), JSON.stringify(name)).toThrow(/member must be valid Unicode/);
    }
  });
});
