import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** The API token `npm start` uses when none is configured, and where it came from. */
export interface DevToken {
  token: string;
  /** The file it is kept in. */
  path: string;
  /** True when it was made on this start (the file was missing, or held no usable token). */
  created: boolean;
}

/** Shortest token kept or generated: 32 characters. */
export const MIN_TOKEN_LENGTH = 32;

/**
 * Reads the development API token from `path` (by default `.wrangler/api-token`, which git
 * ignores), or generates one (24 random bytes, 48 hex characters) and keeps it there with mode
 * 0600, so the token survives restarts: scripts and `.env` files that use it keep working.
 * Delete the file to rotate it. A file that others can read is made private again.
 *
 * @example loadOrCreateDevToken(".wrangler/api-token") // { token: "9f0c…", created: false, … }
 */
export function loadOrCreateDevToken(path: string): DevToken {
  const kept = readToken(path);
  if (kept) {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return { token: kept, path, created: false };
  }
  const token = randomBytes(24).toString("hex");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // the mode above applies only when the file is new
  return { token, path, created: true };
}

function readToken(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
  return text.length >= MIN_TOKEN_LENGTH && /^[\x21-\x7e]+$/.test(text) ? text : undefined;
}
