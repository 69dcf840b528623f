import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConflictError, InvalidInputError, isRedisUnavailable, NotFoundError } from "../shared/errors";
import type { AppEnv } from "./app-env";
import { ApiProblem, problemResponse } from "./problem";

/**
 * The one error path: every thrown error becomes an RFC 9457 problem. Domain errors map to
 * their status; Redis failures to 503; anything else to a generic 500. The text of an
 * unexpected error (which may hold a Redis reply or a command) is logged, never sent.
 */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof ApiProblem) return error.getResponse();
  if (error instanceof HTTPException) {
    const status = error.status;
    return problemResponse({
      type: `urn:problem:http-${status}`,
      title: statusTitle(status),
      status,
      detail: error.message || statusTitle(status),
    });
  }
  if (error instanceof InvalidInputError) {
    return problemResponse({
      type: "urn:problem:invalid-input",
      title: "Invalid input",
      status: 400,
      detail: error.message,
      ...(error.field ? { errors: [{ path: error.field, message: error.message }] } : {}),
    });
  }
  if (error instanceof NotFoundError) {
    return problemResponse({ type: "urn:problem:not-found", title: "Not found", status: 404, detail: error.message });
  }
  if (error instanceof ConflictError) {
    return problemResponse({
      type: "urn:problem:conflict",
      title: "Conflict",
      status: 409,
      detail: error.message,
      ...error.details,
    });
  }
  if (isRedisUnavailable(error)) {
    console.warn(`redis unavailable on ${c.req.method} ${c.req.path}: ${error.name}`);
    return problemResponse(
      {
        type: "urn:problem:redis-unavailable",
        title: "Redis unavailable",
        status: 503,
        detail: "The data store did not answer in time; retry later",
      },
      { "Retry-After": "1" },
    );
  }
  console.error(`unhandled error on ${c.req.method} ${c.req.path}:`, error);
  return problemResponse({
    type: "urn:problem:internal",
    title: "Internal error",
    status: 500,
    detail: "The request could not be completed",
  });
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

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  413: "Payload too large",
  415: "Unsupported media type",
  429: "Too many requests",
  500: "Internal error",
  502: "Bad gateway",
  503: "Service unavailable",
};

function statusTitle(status: number): string {
  return TITLES[status] ?? "Error";
}
