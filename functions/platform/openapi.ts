import { createRoute, z, type RouteConfig } from "@hono/zod-openapi";

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
  415: "The body is not Content-Type: application/json",
  429: "Rate limited",
  502: "Origin failed",
  503: "Redis unavailable or not configured",
};

/**
 * Problem responses for a route definition, e.g. `...problems(400, 401, 503)`.
 * Every /v1 route can answer 401, 413 and 503, so they are always included there.
 */
export function problems(...statuses: number[]) {
  return problemResponses([...statuses, 401, 413, 429, 503]);
}

function problemResponses(statuses: number[]) {
  return Object.fromEntries(
    [...new Set(statuses)].sort().map((status) => [
      status,
      {
        description: DESCRIPTIONS[status] ?? "Error",
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  );
}

/**
 * Problem responses of a public route: the per-IP protection (429), and the body limit, which
 * guards every route, a GET with a body included (413).
 */
export function publicProblems() {
  return problemResponses([413, 429]);
}

/** Security requirement for /v1 routes. */
export const BEARER = [{ bearerAuth: [] }];

/**
 * A /v1 route definition: `createRoute` with the bearer requirement. A route that takes a JSON
 * body also documents 415: the validator refuses a body sent under another media type.
 */
export function v1Route<const R extends Omit<RouteConfig, "security">>(route: R) {
  // Typed as the route declared them: the typed client (hc<AppType>) keeps a precise type per
  // status, and a 415 never reaches it, since it always sends JSON.
  const responses = (
    route.request?.body && !(415 in route.responses) ? { ...route.responses, ...problemResponses([415]) } : route.responses
  ) as R["responses"];
  return createRoute({ ...route, responses, security: BEARER });
}

/** A required JSON request body. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { required: true as const, content: { "application/json": { schema } } };
}

/** An optional JSON request body (absent means every field takes its default). */
export function optionalJsonBody<S extends z.ZodType>(schema: S) {
  return { required: false as const, content: { "application/json": { schema } } };
}

/** A JSON response. */
export function jsonResponse<S extends z.ZodType>(description: string, schema: S) {
  return { description, content: { "application/json": { schema } } };
}
