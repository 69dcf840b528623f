/**
 * Calls to the Worker's /v1 API with the bearer token. Every failure becomes an ApiError
 * carrying the problem+json `title` and `detail` (RFC 9457), so views can show it as is.
 * A 401 also calls the handler given to configureApi (the console asks for the token again).
 */

/** A failed call: `status` 0 means the Worker did not answer at all. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} title
   * @param {string} detail
   * @param {unknown} [body] the parsed problem body, when there was one
   */
  constructor(status, title, detail, body) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = "ApiError";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.body = body;
  }
}

/** @type {() => string | null} */
let currentToken = () => null;
/** @type {(error: ApiError) => void} */
let onUnauthorized = () => {};

/**
 * Where the token comes from and what a 401 does; called once at start.
 * @param {{ token: () => string | null, onUnauthorized: (error: ApiError) => void }} options
 */
export function configureApi(options) {
  currentToken = options.token;
  onUnauthorized = options.onUnauthorized;
}

/**
 * One request; resolves with the Response when its status is 2xx, else throws an ApiError.
 * @param {string} path e.g. "/v1/locks/orders%3A42" (segments already encoded)
 * @param {{ method?: string, body?: unknown, signal?: AbortSignal, headers?: Record<string, string> }} [options]
 * @returns {Promise<Response>}
 */
export async function request(path, options = {}) {
  const token = currentToken();
  if (!token) {
    const error = new ApiError(401, "No API token", "Enter the API token to continue");
    onUnauthorized(error);
    throw error;
  }
  /** @type {Record<string, string>} */
  const headers = { Authorization: `Bearer ${token}`, ...options.headers };
  /** @type {RequestInit} */
  const init = { method: options.method ?? "GET", headers, cache: "no-store", signal: options.signal };
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    if (options.signal?.aborted) throw cause;
    throw new ApiError(0, "Network error", `The Worker did not answer (${cause instanceof Error ? cause.message : String(cause)})`);
  }
  if (response.ok) return response;
  const error = await errorOf(response);
  if (response.status === 401) onUnauthorized(error);
  throw error;
}

/**
 * A GET (or other call) whose 2xx body is JSON.
 * @template T
 * @param {string} path
 * @param {Parameters<typeof request>[1]} [options]
 * @returns {Promise<{ data: T, response: Response }>}
 */
export async function requestJson(path, options) {
  const response = await request(path, options);
  const data = response.status === 204 ? null : await response.json();
  return { data, response };
}

/**
 * The ApiError of a non-2xx response: the problem's title and detail, or the status line.
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
export async function errorOf(response) {
  const type = response.headers.get("Content-Type") ?? "";
  const fallback = response.statusText || `HTTP ${response.status}`;
  if (type.includes("json")) {
    try {
      const body = await response.json();
      const title = typeof body?.title === "string" ? body.title : fallback;
      const detail = typeof body?.detail === "string" ? body.detail : "";
      return new ApiError(response.status, title, detail, body);
    } catch {
      // not JSON after all: fall through to the status line
    }
  }
  return new ApiError(response.status, `HTTP ${response.status}`, fallback);
}

/**
 * A path segment: every reserved character percent-encoded ("/" too, as the API expects).
 * @param {string} value
 */
export const segment = (value) => encodeURIComponent(value);
