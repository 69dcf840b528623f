import { hc, type ClientRequestOptions } from "hono/client";
import type { AppType } from "./app";

export type { AppType } from "./app";

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The service's API_TOKEN: sent as `Authorization: Bearer <token>` on every call. */
  token: string;
  /** The fetch to call with (default the global one); in tests, `SELF.fetch.bind(SELF)`. */
  fetch?: typeof fetch;
  /** More headers for every call. */
  headers?: Record<string, string>;
}

/**
 * A typed client of the service's HTTP API (Hono's RPC client over {@link AppType}): paths,
 * parameters, bodies and JSON responses are checked by TypeScript, and every call carries the
 * bearer token. Answers are `Response`s: check `res.ok` or `res.status` before `res.json()`;
 * errors are problem+json bodies.
 * @example
 * const api = createClient("https://edge.example.workers.dev", { token: env.API_TOKEN });
 * const res = await api.v1.locks[":name"].$post({ param: { name: "orders:42" }, json: { ttlMs: 5000 } });
 * if (res.status === 201) console.log((await res.json()).fence);
 */
export function createClient(baseUrl: string, options: ClientOptions) {
  const init: ClientRequestOptions = { headers: { ...options.headers, Authorization: `Bearer ${options.token}` } };
  if (options.fetch) init.fetch = options.fetch;
  return hc<AppType>(baseUrl, init);
}

/** The client {@link createClient} returns. */
export type Client = ReturnType<typeof createClient>;
