import { InvalidInputError } from "../errors";
import { validateName } from "../keys";
import { integerIn } from "../integer";

/**
 * Input limits of the cache and the checks that enforce them. Every public operation validates
 * here before anything reaches Redis, so bad input changes nothing.
 */

/** Largest cache key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 512;
/** Largest tag name, in UTF-8 bytes. */
export const MAX_TAG_BYTES = 256;
/** Most tags one entry (or one invalidation) may carry. */
export const MAX_TAGS = 64;
/** Most keys one invalidation may name. */
export const MAX_INVALIDATION_KEYS = 100;
/** Longest TTL (and stale window): one year, in seconds. */
export const MAX_TTL_SECONDS = 31_536_000;

/** Throws {@link InvalidInputError} unless `key` is 1–512 bytes without control characters. */
export function validateKey(key: string, field = "key"): string {
  return validateName(key, field, MAX_KEY_BYTES);
}

/**
 * Validates a tag list (at most 64 names of 1–256 bytes, no control characters) and returns
 * it without duplicates, in first-seen order. Control characters are excluded, so "\n" can
 * separate tags inside Redis values.
 */
export function validateTags(tags: readonly string[] | undefined, field = "tags"): string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw new InvalidInputError(`${field} must be an array of strings`, field);
  if (tags.length > MAX_TAGS) throw new InvalidInputError(`${field} must hold at most ${MAX_TAGS} tags`, field);
  tags.forEach((tag, i) => validateName(tag, `${field}.${i}`, MAX_TAG_BYTES));
  return [...new Set(tags)];
}

/** Validates the keys of an invalidation (at most 100) and removes duplicates. */
export function validateKeys(keys: readonly string[] | undefined, field = "keys"): string[] {
  if (keys === undefined) return [];
  if (!Array.isArray(keys)) throw new InvalidInputError(`${field} must be an array of strings`, field);
  if (keys.length > MAX_INVALIDATION_KEYS) {
    throw new InvalidInputError(`${field} must hold at most ${MAX_INVALIDATION_KEYS} keys`, field);
  }
  keys.forEach((key, i) => validateKey(key, `${field}.${i}`));
  return [...new Set(keys)];
}

/**
 * Throws unless `seconds` is an integer from `min` to one year.
 * @param min 1 for a TTL, 0 for a stale window
 */
export function validateSeconds(seconds: number, field: string, min: 0 | 1): number {
  return integerIn(seconds, field, min, MAX_TTL_SECONDS);
}
