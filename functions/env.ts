/**
 * The Worker's bindings: secrets (set with `wrangler secret put` or `.dev.vars`), vars
 * (`[vars]` in wrangler.toml) and rate-limiting bindings (`[[ratelimits]]`). Every var is a
 * string; each surface's `config.ts` parses them.
 * README.md ("Configuration") documents each one and its default.
 */
export interface Env extends RateLimitBindings {
  /** Secret. Upstash REST URL, e.g. https://xyz.upstash.io (or the local endpoint). */
  UPSTASH_REDIS_REST_URL?: string;
  /** Secret. Upstash REST token. */
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Secret. Bearer token required on every /v1/* route. Unset: /v1/* answers 503. */
  API_TOKEN?: string;
  /** Per-request timeout of Redis calls in ms (default 1500). */
  REDIS_TIMEOUT_MS?: string;
  /** Retries of a Redis request whose fetch failed (default 1, range 0–3). */
  REDIS_RETRIES?: string;
  /** Largest accepted request body in bytes (default 1 MiB). */
  MAX_BODY_BYTES?: string;
  /** Prefix of every Redis key this Worker writes (default "erf"). */
  KEY_PREFIX?: string;
  /** JSON: named rate-limit policies, and how /v1/* and public routes are protected (docs/rate-limiting.md). */
  RATE_POLICIES?: string;
  /** JSON: leaderboard name → { order, mode, periods, versions, cap }; "*" sets the defaults of unlisted boards. */
  LEADERBOARDS?: string;
  /** Default bound (ms) of leaderboard top/member reads served from the isolate's memory; 0 (default) is off. */
  LEADERBOARD_L1_MS?: string;
  /** Budget of the isolate's leaderboard L1 in bytes (default 4 MiB, range 0–64 MiB). */
  LEADERBOARD_L1_BYTES?: string;
  /** Lease of a lock acquired without ttlMs, in ms (default 10000, range 1–300000). */
  LOCK_DEFAULT_TTL_MS?: string;
  /** Largest cached value in bytes (default 1048576, range 1024–10485760). docs/cache.md */
  CACHE_MAX_VALUE_BYTES?: string;
  /** Fill lease of a cache key in ms: one loader at a time across isolates (default 5000). */
  CACHE_LEASE_MS?: string;
  /** How long a cache miss waits for another isolate's fill before loading itself, ms (default 2000). */
  CACHE_WAIT_MS?: string;
  /** XFetch beta for early cache refresh; 0 disables it (default 0, range 0–10). */
  CACHE_XFETCH_BETA?: string;
  /** Pub/Sub channel of cache invalidation events (default "<KEY_PREFIX>:cache:invalidations"). */
  CACHE_CHANNEL?: string;
  /** Scheduled invalidations applied per cron batch (default 100, range 1–1000). */
  CACHE_CRON_BATCH_SIZE?: string;
  /** Batches of scheduled invalidations per cron run (default 10, range 1–100). */
  CACHE_CRON_MAX_BATCHES?: string;
  /** JSON: cron expression → tags (or { tags, mode }) invalidated when that cron fires. */
  INVALIDATION_RULES?: string;
  /** Default bound (ms) of GET /v1/cache/{key} reads served from the isolate's memory; 0 (default) is off. */
  CACHE_L1_MS?: string;
  /** Budget of the isolate's cache L1 in bytes (default 16 MiB, range 0–64 MiB). */
  CACHE_L1_BYTES?: string;
  /** Origin of the read-through proxy GET /v1/proxy/{path}; unset: the proxy answers 503. */
  ORIGIN_URL?: string;
  /** Timeout of a proxy request to the origin in ms (default 5000, range 100–30000). */
  ORIGIN_TIMEOUT_MS?: string;
  /** Any id of this deployment or run; GET /health echoes it as X-Instance-Id (`npm start` sets a random one per run). */
  INSTANCE_ID?: string;
}

/**
 * The `[[ratelimits]]` bindings of wrangler.toml (docs/rate-limiting.md). Bindings, not
 * variables: declared `readonly` so that the launcher, which reads variable names from the
 * `NAME?:` lines above, never takes them for variables.
 */
export interface RateLimitBindings {
  /** /v1/* per API token, by default. */
  readonly API_LIMITER?: RateLimitBinding;
  /** Public routes per client IP, by default. */
  readonly PUBLIC_LIMITER?: RateLimitBinding;
  /** Failed authentications per client IP, by default. */
  readonly AUTH_FAILURES?: RateLimitBinding;
}

/**
 * A Workers Rate Limiting binding (`RateLimit` of @cloudflare/workers-types, declared here so
 * that this file type-checks without the Workers types): `limit({ key })` counts one request
 * under `key` and answers `{ success: false }` once the key is over the binding's limit.
 */
export interface RateLimitBinding {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}
