import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";
import { publicProblems } from "./openapi";

/**
 * The service's own description: `GET /` (an index of where things are), `GET /openapi.json`
 * (the OpenAPI 3.1 document, generated from the same zod schemas that validate requests) and
 * the operations' grouping by feature.
 */

/** Operation tags by path prefix: /docs lists each feature under its own heading. */
const TAGS: ReadonlyArray<{ name: string; description: string; prefixes: readonly string[] }> = [
  { name: "cache", description: "Cache-aside with tags, invalidation now or on a schedule, and the read-through proxy (docs/cache.md)", prefixes: ["/v1/cache", "/v1/proxy"] },
  { name: "events", description: "Live invalidation events over Server-Sent Events", prefixes: ["/v1/events"] },
  { name: "rate limiting", description: "Named rate-limit policies: check, peek, reset (docs/rate-limiting.md)", prefixes: ["/v1/rate"] },
  { name: "counters", description: "Windowed counters per second, minute and hour (docs/rate-limiting.md)", prefixes: ["/v1/counters"] },
  { name: "leaderboards", description: "Scores on sorted sets, by period (docs/leaderboards.md)", prefixes: ["/v1/leaderboards"] },
  { name: "locks", description: "Token-guarded leases with fencing tokens (docs/locks.md)", prefixes: ["/v1/locks"] },
  { name: "service", description: "Health and this description", prefixes: ["/health", "/openapi.json", "/"] },
];

function tagOf(path: string): string {
  const match = TAGS.find((tag) => tag.prefixes.some((prefix) => (prefix === "/" ? path === "/" : path === prefix || path.startsWith(`${prefix}/`))));
  return match?.name ?? "service";
}

const IndexSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    links: z.object({ docs: z.string(), openapi: z.string(), health: z.string(), console: z.string() }),
  })
  .openapi("ServiceIndex");

const indexRoute = createRoute({
  method: "get",
  path: "/",
  summary: "Where to find the documentation, the OpenAPI document and the health check (public)",
  security: [],
  responses: { 200: { description: "The index", content: { "application/json": { schema: IndexSchema } } }, ...publicProblems() },
});

/** `GET /`: a small index pointing to /docs, /openapi.json, /health and the console. */
export function registerIndex(app: OpenAPIHono<AppEnv>): void {
  app.openapi(indexRoute, (c) =>
    c.json(
      {
        name: "Edge Redis Functions",
        description: "Cache-aside with tags, rate counters, leaderboards and token-guarded locks on Upstash Redis",
        links: { docs: "/docs", openapi: "/openapi.json", health: "/health", console: "/console/" },
      },
      200,
    ),
  );
}

type Document = ReturnType<OpenAPIHono<AppEnv>["getOpenAPI31Document"]>;

/**
 * `GET /openapi.json`: generated once per isolate, with the server it is served from, every
 * operation tagged by feature, and the bearer scheme.
 */
export function registerOpenApiDocument(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "The Worker's API_TOKEN secret",
  });
  let document: Document | undefined;
  app.get("/openapi.json", (c) => {
    document ??= tagged(
      app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: {
          title: "Edge Redis Functions",
          version: "0.1.0",
          description:
            "Cache-aside with tags, rate counters, leaderboards and token-guarded locks on Upstash Redis. " +
            "Every error is an RFC 9457 application/problem+json body.",
        },
      }),
    );
    return c.json({ ...document, servers: [{ url: new URL(c.req.url).origin, description: "This Worker" }] });
  });
}

/**
 * A stable operation id from the method and path, for client generators: `GET /v1/locks/{name}`
 * is `getLocksByName`, `POST /v1/cache/invalidate` is `postCacheInvalidate`.
 */
export function operationId(method: string, path: string): string {
  const words = path
    .split("/")
    .filter((segment) => segment && segment !== "v1")
    .map((segment) => (segment.startsWith("{") ? `by-${segment.slice(1, -1)}` : segment))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  if (words.length === 0) words.push("index");
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

function tagged(document: Document): Document {
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item ?? {})) {
      if (operation && typeof operation === "object" && "responses" in operation) {
        Object.assign(operation, { tags: [tagOf(path)], operationId: operationId(method, path) });
      }
    }
  }
  return { ...document, tags: TAGS.map(({ name, description }) => ({ name, description })) };
}
