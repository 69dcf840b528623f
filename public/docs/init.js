// Starts Swagger UI (served from this Worker's own assets, copied from the npm package
// swagger-ui-dist) on this Worker's OpenAPI document. No third-party script is loaded.
window.ui = window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
});
