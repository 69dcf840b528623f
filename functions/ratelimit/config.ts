import { z } from "@hono/zod-openapi";
import { DEFAULT_TIMEOUT_MS, MAX_POLICIES, POLICY_NAME } from "../../shared/ratelimit/limiter";
import { fixedWindow } from "../../shared/ratelimit/fixed-window";
import { slidingWindow } from "../../shared/ratelimit/sliding-window";
import { tokenBucket } from "../../shared/ratelimit/token-bucket";
import { MAX_LIMIT, type Algorithm, type Policy } from "../../shared/ratelimit/types";
import { ConfigError, defineConfig, jsonVar } from "../platform/config";

/** Parsed RATE_POLICIES: every named policy, and those the middleware applies. */
export interface RateConfig {
  /** Policies by name, for `/v1/rate/{policy}/{id}`. */
  policies: ReadonlyMap<string, Policy>;
  /** Checked on every `/v1/*` request, per API token. Empty: no check. */
  v1: readonly Policy[];
  /** Checked on every other route, per client IP (`CF-Connecting-IP`). Empty: no check. */
  public: readonly Policy[];
}

/**
 * Built-in policies, always defined unless RATE_POLICIES redefines the name:
 * - `api`: token bucket of 3000 tokens refilled 1000 per second (a client may sustain
 *   1000 requests/s with one token and burst to 3000), failing open.
 * - `public`: token bucket of 300 tokens refilled 100 per second per client IP, failing open.
 */
export const DEFAULT_POLICIES = {
  api: { algorithm: "token-bucket", limit: 3000, refill: 1000, interval: "1s", failure: "open" },
  public: { algorithm: "token-bucket", limit: 300, refill: 100, interval: "1s", failure: "open" },
} as const;

/** Built-in middleware groups, each replaced as a whole when RATE_POLICIES sets it. */
export const DEFAULT_MIDDLEWARE = { v1: ["api"], public: ["public"] } as const;

const DURATION = /^(\d{1,10})(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const duration = z.string().regex(DURATION, 'a duration such as "500ms", "10s", "1m", "1h" or "1d"');
const common = {
  limit: z.number().int().min(1).max(MAX_LIMIT),
  failure: z.enum(["open", "closed"]).optional(),
  timeout: duration.optional(),
};
const PolicySchema = z.discriminatedUnion("algorithm", [
  z.object({ algorithm: z.literal("fixed-window"), window: duration, ...common }).strict(),
  z.object({ algorithm: z.literal("sliding-window"), window: duration, ...common }).strict(),
  z.object({ algorithm: z.literal("token-bucket"), refill: z.number().int().min(1).max(MAX_LIMIT), interval: duration, ...common }).strict(),
]);
const NAME = z.string().regex(POLICY_NAME, "1-64 characters of A-Z a-z 0-9 _ . -");
const ConfigSchema = z
  .object({
    policies: z.record(NAME, PolicySchema).optional(),
    middleware: z
      .object({ v1: z.array(NAME).max(MAX_POLICIES).optional(), public: z.array(NAME).max(MAX_POLICIES).optional() })
      .strict()
      .optional(),
  })
  .strict();

type PolicySettings = z.infer<typeof PolicySchema>;

/**
 * Parses RATE_POLICIES once per `env` (see docs/rate-limiting.md):
 * `{ "policies": { name: settings }, "middleware": { "v1": [names], "public": [names] } }`.
 * Settings: `{ algorithm: "fixed-window" | "sliding-window", limit, window }` or
 * `{ algorithm: "token-bucket", limit (capacity), refill, interval }`, plus optional
 * `failure` ("open" default, or "closed") and `timeout` (default "1s"). Windows and intervals
 * are at least 1 s. `{"middleware":{"v1":[],"public":[]}}` turns the middleware off.
 * An invalid value is a 500 naming RATE_POLICIES.
 *
 * @example RATE_POLICIES='{"policies":{"login":{"algorithm":"fixed-window","limit":5,"window":"1m","failure":"closed"}}}'
 */
export const readRateConfig = defineConfig({ RATE_POLICIES: jsonVar(z.unknown(), {}) }, (v): RateConfig => parse(v.RATE_POLICIES));

function parse(raw: unknown): RateConfig {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError("RATE_POLICIES", `is invalid at ${issue.path.join(".") || "the top level"}: ${issue.message}`);
  }
  const settings: Record<string, PolicySettings> = { ...DEFAULT_POLICIES, ...result.data.policies };
  const policies = new Map<string, Policy>();
  for (const [name, s] of Object.entries(settings)) policies.set(name, toPolicy(name, s));

  const group = (which: "v1" | "public"): Policy[] =>
    (result.data.middleware?.[which] ?? DEFAULT_MIDDLEWARE[which]).map((name) => {
      const policy = policies.get(name);
      if (!policy) throw new ConfigError("RATE_POLICIES", `middleware.${which} names an undefined policy "${name}"`);
      return policy;
    });
  return { policies, v1: group("v1"), public: group("public") };
}

function toPolicy(name: string, s: PolicySettings): Policy {
  const timeoutMs = s.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(s.timeout);
  if (timeoutMs < 10 || timeoutMs > 30_000) throw new ConfigError("RATE_POLICIES", `policy "${name}": timeout must be 10ms to 30s`);
  let algorithm: Algorithm;
  try {
    const windowMs = durationMs(s.algorithm === "token-bucket" ? s.interval : s.window);
    if (windowMs < 1000) throw new RangeError("window and interval must be at least 1s");
    algorithm =
      s.algorithm === "fixed-window"
        ? fixedWindow({ limit: s.limit, windowMs })
        : s.algorithm === "sliding-window"
          ? slidingWindow({ limit: s.limit, windowMs })
          : tokenBucket({ capacity: s.limit, refill: s.refill, intervalMs: windowMs });
  } catch (error) {
    if (error instanceof RangeError) throw new ConfigError("RATE_POLICIES", `policy "${name}": ${error.message}`);
    throw error;
  }
  return Object.freeze({ name, algorithm, failure: s.failure ?? "open", timeoutMs });
}

/** Milliseconds of a duration string such as "1m". */
export function durationMs(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new RangeError(`invalid duration "${text}"`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
