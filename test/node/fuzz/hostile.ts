/**
 * Hostile inputs: what an attacker or a broken client sends instead of what the schema says.
 * Strings for names and query values, raw path segments (sent as they are, unencoded),
 * wrong-typed JSON values, bodies that are not JSON or not an object, and content types.
 */
import fc from "fast-check";

/** Strings no schema would produce: huge, control characters, traversal, unicode edge cases. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "..",
    ".",
    "../../etc/passwd",
    "a/../b",
    "\u0000",
    "a\u0000b",
    "\r\nSet-Cookie: x=1",
    "\u202e\u0041",
    "\ud800",
    "\uffff",
    "e\u0301",
    "\u00e9",
    "🦄".repeat(70),
    "%00",
    "%2e%2e",
    "%2F",
    "\\",
    "null",
    "undefined",
    "__proto__",
    "constructor",
    "*",
    "?",
    "#",
    "{{x}}",
    "${x}",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "x".repeat(257),
    "x".repeat(513),
    "é".repeat(129),
  ),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", minLength: 200, maxLength: 300 }),
  // Huge, yet inside the request-line limits of HTTP servers (8 KiB is common), so the answer
  // is the Worker's, not a 414 or 431 from the runtime in front of it.
  fc.nat({ max: 6000 }).map((n) => "a".repeat(n + 1)),
);

/** Query values in the wrong shape: numbers out of range or not numbers at all. */
export const hostileQueryValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("-1", "0", "1e15", "1e309", "-0", "NaN", "Infinity", "0x10", "1.5", " 1", "1 ", "+1", "9007199254740993", "99999999999999999999", "true", "[]", "{}", ""),
  fc.integer().map(String),
  fc.double().map(String),
  hostileString,
);

/**
 * A raw path segment, spliced into the URL as it is: traversal, encoded slashes and NULs,
 * overlong UTF-8, broken escapes. Only characters an HTTP request line may carry.
 */
export const hostileRawSegment: fc.Arbitrary<string> = fc.constantFrom(
  "..",
  ".",
  "%2e%2e",
  "%2E%2E%2F%2E%2E",
  "a%2Fb",
  "a%5Cb",
  "a\\b",
  "a//b",
  "%00",
  "a%00b",
  "%C0%AE%C0%AE",
  "%E2%80%AE",
  "%ZZ",
  "%",
  "a%",
  "%F0%9F",
  "%ED%A0%80",
  "%FF",
  "x;y=1",
  "%3F",
  "%23",
  "a/b",
  "",
);

/** JSON values of any type: in a field, they are usually the wrong one. */
export const wrongTypeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, "", "1", [], {}, [1], { a: 1 }),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  hostileString,
  fc.jsonValue({ maxDepth: 3 }),
);

/** Request bodies that are not a JSON object, as raw text. */
export const hostileBodyText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("", "{", "}", "{bad", "[]", "null", "true", "1", '"x"', "{\"a\":}", "{'a':1}", "\u0000", "{\"value\":1,\"ttl\":1", "\ufeff{}", "[".repeat(10_000)),
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? "null"),
  // Over MAX_BODY_BYTES' default (1 MiB), as valid JSON: refused by size before anything else.
  fc.constant(JSON.stringify({ value: "v".repeat(1024 * 1024), ttl: 60, member: "m", score: 1, entries: [] })),
  fc.constant(`[${"1,".repeat(100_000)}1]`),
  // Deep nesting: a recursive parser, validator or serialiser would overflow its stack.
  fc.constant(`{"value":${"[".repeat(50_000)}${"]".repeat(50_000)},"ttl":60,"member":"m","score":1}`),
);

/** Content types a JSON route must not take as JSON, or must take despite parameters. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant("application/json") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/json; charset=utf-8",
      "application/problem+json",
      "APPLICATION/JSON",
      "application/jsonx",
      "",
      "application/json; charset=latin1",
    ),
  },
);

/** `text` as an HTTP client can send it in a header: Node refuses anything outside tab, 0x20–0x7e and 0x80–0xff. */
export function headerSafe(text: string): string {
  return [...text].filter((ch) => ch === "\t" || (ch >= " " && ch <= "~") || (ch >= "\u0080" && ch <= "\u00ff")).join("").slice(0, 8000);
}

/** Header values as hostile as an HTTP client lets through (no CR, LF or NUL). */
export const hostileHeaderValue: fc.Arbitrary<string> = hostileString.map(headerSafe);

/**
 * The client address the Worker keys its per-IP limits by (`CF-Connecting-IP`, which
 * Miniflare keeps when the request has one; on Cloudflare a client cannot set it). Mostly
 * fresh addresses, so one address locked out for failed authentications does not end the run's
 * coverage; one shared address that does get locked out; and values that are no address.
 */
export const clientAddress: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.ipV4() },
  { weight: 2, arbitrary: fc.ipV6() },
  { weight: 2, arbitrary: fc.constant("198.51.100.7") },
  { weight: 1, arbitrary: hostileHeaderValue },
);

/**
 * `encodeURIComponent` that never throws: a lone surrogate (which it refuses) becomes U+FFFD.
 * Raw surrogate bytes are tried by {@link hostileRawSegment} (`%ED%A0%80`) instead.
 */
export function encode(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"));
}
