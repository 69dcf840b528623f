import { InvalidInputError } from "../errors";
import { utf8Length, validateName } from "../keys";

/**
 * What the cache stores: a JSON value, or text or bytes with a content type. The kind is kept
 * with the entry, so a reader gets back exactly what was stored (bytes stay bytes).
 */
export type CacheValue =
  | { type: "json"; value: unknown }
  | { type: "text"; text: string; contentType: string }
  | { type: "bytes"; bytes: Uint8Array; contentType: string };

/** Default largest value: 1 MiB (JSON text, text or raw bytes, before any encoding). */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

/** A value over the configured maximum size. HTTP maps it to 413. */
export class ValueTooLargeError extends InvalidInputError {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`value is ${bytes} bytes; the maximum is ${maxBytes}`, "value");
  }
}

/** A JSON value. @example json({ id: 1 }) */
export function json(value: unknown): CacheValue {
  return { type: "json", value };
}

/** Text with its content type. @example text("<p>hi</p>", "text/html; charset=utf-8") */
export function text(value: string, contentType = "text/plain; charset=utf-8"): CacheValue {
  return { type: "text", text: value, contentType };
}

/** Bytes with their content type. @example bytes(png, "image/png") */
export function bytes(value: Uint8Array, contentType = "application/octet-stream"): CacheValue {
  return { type: "bytes", bytes: value, contentType };
}

/** How a value is kept in the entry hash: format "j" (JSON text), "t" (text) or "b" (base64). */
export interface EncodedValue {
  format: "j" | "t" | "b";
  contentType: string;
  data: string;
  /** Size counted against the maximum: JSON text or text in UTF-8 bytes, raw bytes for "b". */
  size: number;
}

/**
 * Encodes a value for storage. Bytes become base64 because REST replies are decoded as UTF-8
 * text by the client, which would mangle arbitrary bytes.
 * @throws InvalidInputError for a value JSON cannot represent or a bad content type
 * @throws ValueTooLargeError over `maxBytes`
 */
export function encodeValue(value: CacheValue, maxBytes = DEFAULT_MAX_VALUE_BYTES): EncodedValue {
  let encoded: EncodedValue;
  switch (value.type) {
    case "json": {
      let data: string | undefined;
      try {
        data = JSON.stringify(value.value);
      } catch {
        data = undefined; // cycles, BigInt
      }
      if (data === undefined) throw new InvalidInputError("value must be representable as JSON", "value");
      encoded = { format: "j", contentType: "", data, size: utf8Length(data) };
      break;
    }
    case "text":
      encoded = { format: "t", contentType: checkContentType(value.contentType), data: value.text, size: utf8Length(value.text) };
      break;
    case "bytes":
      encoded = { format: "b", contentType: checkContentType(value.contentType), data: "", size: value.bytes.byteLength };
      if (encoded.size <= maxBytes) encoded.data = toBase64(value.bytes);
      break;
  }
  if (encoded.size > maxBytes) throw new ValueTooLargeError(encoded.size, maxBytes);
  return encoded;
}

/** Decodes what {@link encodeValue} stored. */
export function decodeValue(format: string, contentType: string, data: string): CacheValue {
  switch (format) {
    case "j":
      return { type: "json", value: JSON.parse(data) as unknown };
    case "t":
      return { type: "text", text: data, contentType };
    case "b":
      return { type: "bytes", bytes: fromBase64(data), contentType };
    default:
      throw new Error(`unknown cache value format ${format}`);
  }
}

/** The body of a value as bytes (JSON as its UTF-8 text), e.g. to serve it over HTTP. */
export function valueBytes(value: CacheValue): Uint8Array {
  switch (value.type) {
    case "json":
      return new TextEncoder().encode(JSON.stringify(value.value));
    case "text":
      return new TextEncoder().encode(value.text);
    case "bytes":
      return value.bytes;
  }
}

function checkContentType(contentType: string): string {
  return validateName(contentType, "contentType", 256);
}

/** Base64 of bytes, in chunks so a large value never overflows the argument stack. */
export function toBase64(data: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < data.length; i += 0x8000) {
    binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Bytes of base64 text. @throws InvalidInputError when it is not base64 */
export function fromBase64(text: string, field = "value"): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new InvalidInputError(`${field} must be base64`, field);
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
