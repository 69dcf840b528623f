import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { ConfigError } from "./config";
import { ApiProblem } from "./problem";

/** Shortest API_TOKEN accepted. */
export const MIN_API_TOKEN_LENGTH = 32;

// Placeholders that appear in examples and docs: a deployment using one is as open as none.
const PLACEHOLDERS = /^(change[-_ ]?me|changeit|your[-_ ]?(api[-_ ]?)?token|secret|token|password|example|test|xxx+|\.\.\.)$/i;

/** Throws a ConfigError naming API_TOKEN when it is shorter than 32 characters or a known placeholder. */
export function checkApiToken(token: string): void {
  if (token.length < MIN_API_TOKEN_LENGTH || PLACEHOLDERS.test(token.trim()) || /change[-_ ]?me/i.test(token)) {
    throw new ConfigError("API_TOKEN", `must be at least ${MIN_API_TOKEN_LENGTH} characters and not a placeholder (e.g. openssl rand -hex 24)`);
  }
}

/**
 * Requires `Authorization: Bearer <API_TOKEN>`. Without a configured API_TOKEN the routes
 * answer 503 rather than run open; a short or placeholder API_TOKEN is a 500 `misconfigured`. The comparison hashes both sides with SHA-256 and compares
 * the digests in constant time, so neither the token's content nor its length leaks through
 * timing.
 */
export const requireApiToken = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.API_TOKEN;
  if (!expected) {
    throw new ApiProblem(503, "not-configured", "Not configured", "API_TOKEN is not set on this Worker");
  }
  checkApiToken(expected);
  const header = c.req.header("Authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1] || !(await constantTimeEqual(match[1], expected))) {
    throw new ApiProblem(
      401,
      "unauthorized",
      "Unauthorized",
      match ? "The bearer token is not valid" : "Send Authorization: Bearer <API_TOKEN>",
      {},
      { "WWW-Authenticate": 'Bearer realm="v1"' },
    );
  }
  await next();
});

/** Compares two strings in time independent of where (or whether) they differ. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}
