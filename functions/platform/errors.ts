import type { Context } from "hono";
import { misconfiguredResponse, problemHandler } from "../hono/errors";
import { ConfigError } from "./config";
import type { AppEnv } from "./app-env";
import { problemResponse } from "./problem";

/**
 * The one error path: every thrown error becomes an RFC 9457 problem, decided by its type
 * only. A misconfigured variable is a 500 naming it; every other type is decided as the Hono
 * adapters' `problemHandler` decides it (invalid input 400, Redis unavailable 503, a bug 500
 * `internal` with its stack logged and nothing of it sent).
 */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof ConfigError) {
    console.error(`misconfigured on ${c.req.method} ${c.req.path}: ${error.message}`);
    return misconfiguredResponse(error.message);
  }
  return problemHandler(error, c);
}

/** 404 for every route that does not exist. */
export function handleNotFound(c: Context<AppEnv>): Response {
  return problemResponse({
    type: "urn:problem:not-found",
    title: "Not found",
    status: 404,
    detail: `No route for ${c.req.method} ${c.req.path}`,
  });
}
