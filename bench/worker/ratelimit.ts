import { Ratelimit } from "@upstash/ratelimit";
import { type Algorithm, fixedWindow, RateLimiter, slidingWindow, tokenBucket } from "../../shared/ratelimit";
import { ApiProblem } from "../../functions/platform/problem";
import { redisFor } from "../../functions/platform/redis";
import { createRouter } from "../../functions/platform/router";

/**
 * `POST /__bench/ratelimit/{impl}/{algorithm}/{mode}/{id}`, used only by `npm run bench`
 * (bench-only Worker, bench/worker/index.ts). Runs one check with
 * this project's limiter (`impl` = "ours") or with `@upstash/ratelimit` ("upstash") for the
 * same algorithm, inside the same Worker and against the same Redis, so the runner can compare
 * requests/s, latency, and REST requests and Redis commands per check.
 *
 * `mode` = "steady": a limit never reached (every check goes to Redis); "blocked": a limit of 1
 * per hour, so after the first check the identifier is blocked (both libraries then answer
 * from their in-isolate cache); "lease" (ours only): the steady limit with a lease of
 * {@link LEASE} (a hot identifier's checks are admitted from the isolate's lease).
 * Answers 200 `{ allowed: true }` or 429 `{ allowed: false }`.
 */
const ALGORITHMS = ["fixed-window", "sliding-window", "token-bucket"] as const;
type AlgorithmName = (typeof ALGORITHMS)[number];
const MODES = ["steady", "blocked", "lease"] as const;
type Mode = (typeof MODES)[number];

/** 100 units per lease, used for up to 10 s: at most 1 request per 101 checks of one identifier. */
const LEASE = { units: 100, ttlMs: 10_000 } as const;

const HOUR_MS = 3_600_000;
const STEADY_LIMIT = 1_000_000_000;

function ours(algorithm: AlgorithmName, mode: Mode): Algorithm {
  const limit = mode === "blocked" ? 1 : STEADY_LIMIT;
  if (algorithm === "fixed-window") return fixedWindow({ limit, windowMs: HOUR_MS });
  if (algorithm === "sliding-window") return slidingWindow({ limit, windowMs: HOUR_MS });
  return tokenBucket({ capacity: limit, refill: limit, intervalMs: HOUR_MS });
}

function upstash(algorithm: AlgorithmName, mode: Mode) {
  const limit = mode === "steady" ? STEADY_LIMIT : 1;
  if (algorithm === "fixed-window") return Ratelimit.fixedWindow(limit, "1 h");
  if (algorithm === "sliding-window") return Ratelimit.slidingWindow(limit, "1 h");
  return Ratelimit.tokenBucket(limit, "1 h", limit);
}

// Module scope, like the project's own block cache: it must outlive a request to help.
const upstashCache = new Map<string, number>();

export const benchRateLimitRoutes = createRouter().post("/__bench/ratelimit/:impl/:algorithm/:mode/:id", async (c) => {
  const { impl, algorithm, mode, id } = c.req.param();
  const known = (ALGORITHMS as readonly string[]).includes(algorithm) && (MODES as readonly string[]).includes(mode);
  if (!known || (impl !== "ours" && impl !== "upstash") || (impl === "upstash" && mode === "lease")) {
    throw new ApiProblem(404, "not-found", "Not found", `No route for POST ${c.req.path}`);
  }
  const alg = algorithm as AlgorithmName;
  const redis = redisFor(c.env, c.var.config, { retries: 0 });
  let allowed: boolean;
  if (impl === "ours") {
    const policy = { name: `bench-${alg}-${mode}`, algorithm: ours(alg, mode as Mode), ...(mode === "lease" ? { lease: LEASE } : {}) };
    const limiter = new RateLimiter(redis, { prefix: c.var.config.keyPrefix, policies: [policy] });
    allowed = (await limiter.limit(id)).allowed;
  } else {
    const limiter = new Ratelimit({
      redis,
      limiter: upstash(alg, mode as Mode),
      prefix: `${c.var.config.keyPrefix}:bench-upstash:${alg}:${mode}`,
      ephemeralCache: upstashCache,
      timeout: 1000,
      analytics: false,
      enableTelemetry: false,
    });
    allowed = (await limiter.limit(id)).success;
  }
  return c.json({ allowed }, allowed ? 200 : 429);
});
