import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { ApiProblem } from "./problem";

/**
 * Requires `Authorization: Bearer <API_TOKEN>`. Without a configured API_TOKEN the routes
 * answer 503 rather than run open. The comparison hashes both sides with SHA-256 and compares
 * the digests in constant time, so neither the token's content nor its length leaks through
 * timing.
 */
export const requireApiToken = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.API_TOKEN;
  if (!expected) {
    throw new ApiProblem(503, "not-configured", "Not configured", "API_TOKEN is not set on this Worker");
  }
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
