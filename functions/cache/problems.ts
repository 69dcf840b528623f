import type { OriginError } from "../../shared/cache/proxy";
import type { ValueTooLargeError } from "../../shared/cache";
import { ApiProblem } from "../platform/problem";

/** The cache's problem responses: each expected outcome a cache route answers as an error. */

/** 404: the key is absent, expired or hard-invalidated. */
export function cacheMiss(key: string): ApiProblem {
  return new ApiProblem(404, "cache-miss", "Not found", `No entry '${key}'`);
}

/** 413: the value is over CACHE_MAX_VALUE_BYTES. */
export function valueTooLarge(error: ValueTooLargeError): ApiProblem {
  return new ApiProblem(413, "value-too-large", "Payload too large", error.message, { maxBytes: error.maxBytes });
}

/** 400 shaped like the validator's, for checks the schemas cannot make. */
export function invalidInput(path: string, message: string, detail = `${path} ${message}`): ApiProblem {
  return new ApiProblem(400, "invalid-input", "Invalid input", detail, { errors: [{ path, message }] });
}

/** 404: no pending scheduled invalidation has this id. */
export function invalidationNotFound(id: string): ApiProblem {
  return new ApiProblem(404, "invalidation-not-found", "Not found", `No pending invalidation '${id}'`);
}

/** 409: the scheduled-invalidation queue is full. */
export function scheduleFull(maxPending: number): ApiProblem {
  return new ApiProblem(
    409,
    "schedule-full",
    "Too many scheduled invalidations",
    `${maxPending} invalidations are already pending; apply or cancel some first`,
    { maxPending },
  );
}

/** 503: GET /v1/proxy/... without ORIGIN_URL. */
export function proxyNotConfigured(): ApiProblem {
  return new ApiProblem(503, "proxy-not-configured", "Proxy not configured", "ORIGIN_URL is not set on this Worker");
}

/** 502: the origin failed or timed out and no stale copy may be served. */
export function originFailed(error: OriginError): ApiProblem {
  return new ApiProblem(502, "origin-failed", "Bad gateway", error.message);
}
