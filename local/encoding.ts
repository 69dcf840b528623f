/**
 * Turns raw Redis replies (as ioredis hands them over when read as buffers) into the JSON
 * values of the Upstash REST protocol, and JSON command arrays into Redis arguments.
 */

/** A Redis reply read in buffer mode: bulk and status strings are Buffers. */
export type RawReply = Buffer | number | null | Error | RawReply[];

/** A reply as it appears in a REST response body. */
export type JsonReply = string | number | null | JsonReply[];

/** How strings in results are written: plain UTF-8, or base64 of the raw bytes. */
export type ResponseEncoding = "utf8" | "base64";

/**
 * Reads the encoding a client asked for from its `Upstash-Encoding` header.
 * @returns "base64" for `base64` (any case), "utf8" otherwise.
 */
export function encodingFromHeader(value: string | string[] | undefined): ResponseEncoding {
  const header = Array.isArray(value) ? value[0] : value;
  return header?.trim().toLowerCase() === "base64" ? "base64" : "utf8";
}

/**
 * Encodes one command's reply for a `{"result": ...}` body.
 *
 * With base64, every string is base64 of its bytes except a top-level `"OK"`: the client
 * decodes a bare `"OK"` as the status, but decodes every string nested in an array as
 * base64, so there `OK` must be encoded like any other value. Integers stay numbers and nil
 * stays null. An error nested in an array (a Lua table holding `redis.pcall` errors) has no
 * JSON form in the protocol, so it becomes its message text.
 *
 * @example encodeResult(Buffer.from("v"), "base64") // "dg=="
 */
export function encodeResult(reply: RawReply, encoding: ResponseEncoding): JsonReply {
  if (encoding === "base64" && Buffer.isBuffer(reply) && reply.length === 2 && reply.toString("latin1") === "OK") {
    return "OK";
  }
  return encodeNested(reply, encoding);
}

function encodeNested(reply: RawReply, encoding: ResponseEncoding): JsonReply {
  if (reply === null || typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) return encoding === "base64" ? reply.toString("base64") : reply.toString("utf8");
  if (Array.isArray(reply)) return reply.map((item) => encodeNested(item, encoding));
  const message = Buffer.from(reply.message, "utf8");
  return encoding === "base64" ? message.toString("base64") : reply.message;
}

/** One entry of a pipeline or multi-exec response. */
export type EntryBody = { result: JsonReply } | { error: string };

/**
 * Encodes one pipeline or transaction entry: an Error reply becomes `{"error": message}`.
 */
export function encodeEntry(reply: RawReply, encoding: ResponseEncoding): EntryBody {
  if (reply instanceof Error) return { error: reply.message };
  return { result: encodeResult(reply, encoding) };
}

/**
 * Converts one JSON command (`["SET", "k", 1, true]`) to Redis arguments.
 * Numbers and booleans become their JSON text, as Upstash does.
 * @returns the arguments, or null when `value` is not a non-empty array of scalars.
 */
export function commandFromJson(value: unknown): string[] | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const args: string[] = [];
  for (const item of value) {
    if (typeof item === "string") args.push(item);
    else if (typeof item === "number" && Number.isFinite(item)) args.push(String(item));
    else if (typeof item === "boolean") args.push(String(item));
    else return null;
  }
  return args;
}
