import { InvalidInputError } from "../errors";
import { digestHex } from "../hex";
import { utf8Length, validateName } from "../keys";
import type { Cache } from "./cache";
import { MAX_KEY_BYTES } from "./limits";
import type { FetchOptions } from "./types";

/**
 * Wraps an async function so its results are cached: the key is
 * `fn:<name>:<SHA-256 of the stable serialisation of the arguments>`, so equal arguments
 * (objects with keys in any order) share an entry and the key length never depends on them.
 *
 * @param name identifies the function; change it when the result's meaning changes
 * @param options ttl, tags, stale windows as for {@link Cache.fetch}; or a function of the
 *   arguments returning them (e.g. tags per user)
 * @example
 * const getUser = cached(cache, "getUser", (id: number) => db.user(id), (id) => ({ ttl: 60, tags: [`user:${id}`] }));
 * await getUser(1); // loads; later calls within 60 s read from Redis
 */
export function cached<A extends unknown[], R>(
  cache: Cache,
  name: string,
  fn: (...args: A) => Promise<R>,
  options: (FetchOptions & { ttl: number }) | ((...args: A) => FetchOptions & { ttl: number }),
): (...args: A) => Promise<R> {
  validateName(name, "name", MAX_KEY_BYTES - 100);
  return async (...args: A) => {
    const key = await memoKey(name, args);
    return cache.getOrSet(key, () => fn(...args), typeof options === "function" ? options(...args) : options);
  };
}

/** The cache key of `name` called with `args`. */
export async function memoKey(name: string, args: readonly unknown[]): Promise<string> {
  const key = `fn:${name}:${await sha256Hex(stableStringify(args))}`;
  if (utf8Length(key) > MAX_KEY_BYTES) throw new InvalidInputError("name is too long", "name");
  return key;
}

/** SHA-256 of the UTF-8 text, as 64 lower-case hex digits. */
export function sha256Hex(text: string): Promise<string> {
  return digestHex("SHA-256", text);
}

/**
 * JSON with object keys sorted at every level, so equal values serialise equally. Follows
 * JSON.stringify otherwise (toJSON, undefined members dropped, undefined in arrays as null).
 * @throws InvalidInputError for cycles, functions, symbols and BigInt (no stable meaning)
 */
export function stableStringify(value: unknown): string {
  const seen = new Set<object>();
  const walk = (v: unknown, inArray: boolean): string | undefined => {
    if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") {
      v = (v as { toJSON: () => unknown }).toJSON();
    }
    switch (typeof v) {
      case "undefined":
        return inArray ? "null" : undefined;
      case "function":
      case "symbol":
      case "bigint":
        throw new InvalidInputError(`arguments must be JSON-serialisable (found ${typeof v})`, "args");
      case "number":
      case "string":
      case "boolean":
        return JSON.stringify(v);
    }
    if (v === null) return "null";
    const obj = v as object;
    if (seen.has(obj)) throw new InvalidInputError("arguments must not be cyclic", "args");
    seen.add(obj);
    let out: string;
    if (Array.isArray(obj)) {
      out = `[${obj.map((item) => walk(item, true)).join(",")}]`;
    } else {
      const parts: string[] = [];
      for (const k of Object.keys(obj).sort()) {
        const member = walk((obj as Record<string, unknown>)[k], false);
        if (member !== undefined) parts.push(`${JSON.stringify(k)}:${member}`);
      }
      out = `{${parts.join(",")}}`;
    }
    seen.delete(obj);
    return out;
  };
  return walk(value, true) ?? "null";
}
