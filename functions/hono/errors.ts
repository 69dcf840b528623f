import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { InvalidInputError, RedisAuthError, RedisUnavailableError } from "../../shared/errors";
import { ApiProblem, problemResponse } from "../platform/problem";
import { RedisNotConfiguredError } from "./env";

/**
 * An `app.onError` handler that answers every error as an RFC 9457 problem
 * (`application/problem+json`), decided by its type only: the adapters' problems (429, 409,
 * 503) as they are, invalid input 400, Redis not configured or unavailable 503, a refused
 * Upstash token 500 `misconfigured`, anything else 500 `internal` with its stack logged and
 * nothing of it sent (it may hold a Redis reply).
 *
 * The adapters' own problems are `HTTPException`s, so an app without this handler still
 * answers them as problems; this adds the core's errors.
 * @example app.onError(problemHandler);
 */
export function problemHandler(error: Error, c: Context): Response {
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
  if (error instanceof RedisNotConfiguredError) {
    return problemResponse({ type: "urn:problem:redis-not-configured", title: "Redis not configured", status: 503, detail: error.message });
  }
  if (error instanceof RedisAuthError) {
    console.error(`${error.message} on ${c.req.method} ${c.req.path}`);
    return misconfiguredResponse("UPSTASH_REDIS_REST_TOKEN (or UPSTASH_REDIS_REST_URL) was refused by the Redis REST endpoint");
  }
  if (error instanceof RedisUnavailableError) {
    console.warn(`redis unavailable on ${c.req.method} ${c.req.path}: ${error.reason}`);
    return problemResponse(
      { type: "urn:problem:redis-unavailable", title: "Redis unavailable", status: 503, detail: "The data store did not answer in time; retry later" },
      { "Retry-After": "1" },
    );
  }
  console.error(`unhandled error on ${c.req.method} ${c.req.path}:`, error);
  return problemResponse({ type: "urn:problem:internal", title: "Internal error", status: 500, detail: "The request could not be completed" });
}

/** 500 `misconfigured`: `detail` names the variable, never its value. */
export function misconfiguredResponse(detail: string): Response {
  return problemResponse({ type: "urn:problem:misconfigured", title: "Server misconfigured", status: 500, detail });
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
