import { InvalidInputError } from "../errors";
import { randomHex } from "../hex";

/** A lock token is 128 random bits written as 32 lower-case hex characters. */
export const TOKEN_PATTERN = /^[0-9a-f]{32}$/;

/**
 * A new lock token from `crypto.getRandomValues`. The client makes it before it sends the
 * acquire, so a retried request carries the same token and the script can recognise its own
 * earlier grant (see `ACQUIRE_EXCLUSIVE`).
 */
export function newToken(): string {
  return randomHex(16);
}

/** Throws {@link InvalidInputError} unless `token` is 32 lower-case hex characters. */
export function validateToken(token: string, field = "token"): string {
  if (typeof token !== "string" || !TOKEN_PATTERN.test(token)) {
    throw new InvalidInputError(`${field} must be 32 lower-case hex characters`, field);
  }
  return token;
}
