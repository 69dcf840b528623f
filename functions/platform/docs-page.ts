import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";

/**
 * `GET /docs`: Swagger UI on /openapi.json. Its script and styles are this Worker's own static
 * assets (public/docs/, copied from the npm package swagger-ui-dist by local/docs-assets.ts), and
 * the page's Content-Security-Policy allows nothing else: users paste their bearer token here,
 * so no third-party or unpinned script may run on it.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Edge Redis Functions API</title>
<link rel="stylesheet" href="/docs/vendor/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/vendor/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/** Swagger UI styles elements inline, so styles allow 'unsafe-inline'; scripts come only from this origin. */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function registerDocsPage(app: OpenAPIHono<AppEnv>): void {
  app.get("/docs", (c) => {
    c.header("Content-Security-Policy", DOCS_CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    return c.html(PAGE);
  });
}
