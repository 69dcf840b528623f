import { InvalidInputError } from "./errors";

/**
 * Key naming. Every Redis key the product writes is `<prefix>:<feature>:<parts...>`, built here
 * and nowhere else, so a deployment can share a database (one prefix each) and an operator can
 * find every key of a feature with one SCAN pattern.
 *
 * User-supplied names (cache keys, board names, lock names, ids) are validated before they
 * become part of a key: a byte limit, no control characters, which would make keys unreadable
 * in tools and logs, and no lone surrogates, which UTF-8 cannot hold: encoded, `a\ud800`
 * becomes `a\ufffd`, so two names would share one key (and a script decoding JSON refuses it).
 */

/** The key prefix of a core built without one. */
export const DEFAULT_PREFIX = "erf";

/** Default byte limit for a user-supplied name. */
export const MAX_NAME_BYTES = 256;

// C0 controls, DEL and C1 controls.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Throws {@link InvalidInputError} unless `name` is a non-empty string of well-formed Unicode
 * (no lone surrogates) of at most `maxBytes` UTF-8 bytes without control characters. Returns
 * the name unchanged.
 */
export function validateName(name: string, field: string, maxBytes = MAX_NAME_BYTES): string {
  if (typeof name !== "string" || name.length === 0) {
    throw new InvalidInputError(`${field} must be a non-empty string`, field);
  }
  if (utf8Length(name) > maxBytes) {
    throw new InvalidInputError(`${field} must be at most ${maxBytes} bytes (UTF-8)`, field);
  }
  if (CONTROL_CHARACTERS.test(name)) {
    throw new InvalidInputError(`${field} must not contain control characters`, field);
  }
  if (LONE_SURROGATE.test(name)) {
    throw new InvalidInputError(`${field} must be valid Unicode (no unpaired surrogates)`, field);
  }
  return name;
}

/** UTF-8 byte length of a string. */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

/**
 * Builds keys under one prefix and feature: `<prefix>:<feature>:<kind>:<names...>`.
 *
 * The fixed `kind` comes before any user-supplied name, and every name but the last is
 * percent-encoded (so it holds no ":"), so two different (kind, names) never map to one key,
 * whatever the names contain.
 *
 * @example
 * const key = keyspace("erf", "lock");
 * key("fence", "orders"); // "erf:lock:fence:orders"
 * key("member", "board:1", "alice"); // "erf:lock:member:board%3A1:alice"
 */
export function keyspace(prefix: string, feature: string): (kind: string, ...names: string[]) => string {
  const base = `${prefix}:${feature}`;
  return (kind, ...names) => {
    const last = names.length - 1;
    const parts = names.map((name, i) => (i === last ? name : encodeURIComponent(name)));
    return [base, kind, ...parts].join(":");
  };
}
