import { z } from "@hono/zod-openapi";

/** The RFC 9457 body every error response carries, as documented in the OpenAPI document. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:problem:invalid-input" }),
    title: z.string().openapi({ example: "Invalid input" }),
    status: z.number().int().openapi({ example: 400 }),
    detail: z.string().openapi({ example: "ttl must be at most 31536000" }),
  })
  .passthrough()
  .openapi("Problem");

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input",
  401: "Missing or wrong bearer token",
  404: "Not found",
  409: "Conflict",
  413: "Body too large",
  429: "Rate limited",
  502: "Origin failed",
  503: "Redis unavailable or not configured",
};

/**
 * Problem responses for a route definition, e.g. `...problems(400, 401, 503)`.
 * Every /v1 route can answer 401, 413 and 503, so they are always included there.
 */
export function problems(...statuses: number[]) {
  const all = new Set([...statuses, 401, 413, 429, 503]);
  return Object.fromEntries(
    [...all].sort().map((status) => [
      status,
      {
        description: DESCRIPTIONS[status] ?? "Error",
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  );
}

/** Security requirement for /v1 routes. */
export const BEARER = [{ bearerAuth: [] }];
