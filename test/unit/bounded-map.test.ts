import { describe, expect, it } from "vitest";
import { BoundedMap } from "../../shared/bounded-map";

describe("BoundedMap", () => {
  it("drops the oldest entries past its entry bound; get leaves the order alone, use refreshes it", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1);
    map.set("b", 2);
    expect(map.get("a")).toBe(1);
    map.set("c", 3);
    expect(map.get("a")).toBeUndefined();
    expect(map.use("b")).toBe(2);
    map.set("d", 4);
    expect([map.get("b"), map.get("c"), map.get("d")]).toEqual([2, undefined, 4]);
  });

  it("keeps its bytes within the budget, least recently used first, and reports every removal", () => {
    const removed: string[] = [];
    const map = new BoundedMap<string, string>(Number.POSITIVE_INFINITY, {
      maxBytes: 10,
      sizeOf: (_, value) => value.length,
      onRemove: (key) => removed.push(key),
    });
    map.set("a", "xxxx");
    map.set("b", "xxxx");
    map.use("a");
    map.set("c", "xxxx");
    expect(map.bytes).toBe(8);
    expect(removed).toEqual(["b"]);
    map.set("a", "xx"); // a replacement is a removal of the old value
    expect(map.bytes).toBe(6);
    expect(removed).toEqual(["b", "a"]);
    expect(map.set("big", "x".repeat(11))).toBe(false);
    expect(map.get("big")).toBeUndefined();
    map.setMaxBytes(2);
    expect(map.bytes).toBeLessThanOrEqual(2);
    expect(map.get("a")).toBe("xx");
    map.delete("a");
    expect([map.size, map.bytes]).toEqual([0, 0]);
  });

  it("needs sizeOf for a byte budget", () => {
    expect(() => new BoundedMap(1, { maxBytes: 1 })).toThrow(TypeError);
  });
});
