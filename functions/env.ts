/**
 * The Worker's bindings: secrets (set with `wrangler secret put` or `.dev.vars`) and vars
 * (`[vars]` in wrangler.toml). Every var is a string; `functions/config.ts` parses them.
 * README.md ("Configuration") documents each one and its default.
 */
export interface Env {
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
  /** "true" enables GET /__bench/baseline, used only by `npm run bench`. */
  ENABLE_BENCH_ROUTES?: string;
  /** JSON: named rate-limit policies and which guard /v1/* and public routes (docs/rate-limiting.md). */
  RATE_POLICIES?: string;
  /** JSON: leaderboard name → { order, mode, periods, versions, cap }; "*" sets the defaults of unlisted boards. */
  LEADERBOARDS?: string;
  /** Lease of a lock acquired without ttlMs, in ms (default 10000, range 1–300000). */
  LOCK_DEFAULT_TTL_MS?: string;
}
