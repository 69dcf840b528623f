import { z } from "@hono/zod-openapi";
import { fixedWindow, slidingWindow, tokenBucket } from "../../shared/ratelimit/algorithms";
import { validateLease } from "../../shared/ratelimit/codec";
import { DEFAULT_TIMEOUT_MS, MAX_LEASE_TTL_MS, MAX_LIMIT, MAX_POLICIES, POLICY_NAME, type Algorithm, type LeaseOptions, type Policy } from "../../shared/ratelimit/types";
import { ConfigError, defineConfig, jsonVar } from "../platform/config";
import type { BindingLimit } from "../platform/protection";

/**
 * How a group of routes is protected:
 * - `binding`: a Workers Rate Limiting binding, no Upstash request (the default);
 * - `policies`: named policies checked exactly in Upstash, one REST request per call;
 * - `off`: not checked.
 */
export type Guard = ({ kind: "binding" } & BindingLimit) | { kind: "policies"; policies: readonly Policy[] } | { kind: "off" };

/** Parsed RATE_POLICIES: every named policy, and how the middleware protects each group. */
export interface RateConfig {
  /** Policies by name, for `/v1/rate/{policy}/{id}` (and for `policies` guards). */
  policies: ReadonlyMap<string, Policy>;
  /** Every `/v1/*` request, per API token (a hash of it). */
  v1: Guard;
  /** Every other route, per client IP (IPv6: its /64). */
  public: Guard;
  /** Failed authentications (401) per client IP; null: not counted. */
  authFailures: BindingLimit | null;
}

/**
 * Built-in policies, always defined unless RATE_POLICIES redefines the name (for
 * `/v1/rate/{policy}/{id}`, and for the middleware when it names them):
 * - `api`: token bucket of 3000 tokens refilled 1000 per second, failing open.
 * - `public`: token bucket of 300 tokens refilled 100 per second, failing open.
 */
export const DEFAULT_POLICIES = {
  api: { algorithm: "token-bucket", limit: 3000, refill: 1000, interval: "1s", failure: "open" },
  public: { algorithm: "token-bucket", limit: 300, refill: 100, interval: "1s", failure: "open" },
} as const;

/**
 * The default protection: the three `[[ratelimits]]` bindings of wrangler.toml, with the limit
 * and period declared there (a binding cannot report them; a unit test checks they agree).
 */
export const DEFAULT_MIDDLEWARE = {
  v1: { binding: "API_LIMITER", limit: 10_000, period: 10 },
  public: { binding: "PUBLIC_LIMITER", limit: 100, period: 10 },
  authFailures: { binding: "AUTH_FAILURES", limit: 10, period: 60 },
} as const;

/** Names of the groups in headers and problems. */
const GUARD_NAMES = { v1: "api", public: "public", authFailures: "auth-failures" } as const;

const DURATION = /^(\d{1,10})(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const duration = z.string().regex(DURATION, 'a duration such as "500ms", "10s", "1m", "1h" or "1d"');
const common = {
  limit: z.number().int().min(1).max(MAX_LIMIT),
  failure: z.enum(["open", "closed"]).optional(),
  timeout: duration.optional(),
  // Local leases for hot identifiers: `units` (1 to the limit) reserved per lease, used for at most `ttl`.
  lease: z.object({ units: z.number().int().min(1).max(MAX_LIMIT), ttl: duration }).strict().optional(),
};
const PolicySchema = z.discriminatedUnion("algorithm", [
  z.object({ algorithm: z.literal("fixed-window"), window: duration, ...common }).strict(),
  z.object({ algorithm: z.literal("sliding-window"), window: duration, ...common }).strict(),
  z.object({ algorithm: z.literal("token-bucket"), refill: z.number().int().min(1).max(MAX_LIMIT), interval: duration, ...common }).strict(),
]);
const NAME = z.string().regex(POLICY_NAME, "1-64 characters of A-Z a-z 0-9 _ . -");
const BindingSchema = z
  .object({
    binding: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "a binding name such as API_LIMITER"),
    limit: z.number().int().min(1).max(MAX_LIMIT),
    period: z.union([z.literal(10), z.literal(60)], { error: "must be 10 or 60 (seconds)" }),
  })
  .strict();
// A list of policy names, or a binding: told apart by shape first, so an error names the real issue.
const PolicyList = z.array(NAME).max(MAX_POLICIES);
const GroupSchema = z.custom<z.infer<typeof PolicyList> | z.infer<typeof BindingSchema>>().superRefine((value, ctx) => {
  const result = (Array.isArray(value) ? PolicyList : BindingSchema).safeParse(value);
  for (const issue of result.error?.issues ?? []) ctx.addIssue({ ...issue, code: "custom", path: issue.path });
});
const ConfigSchema = z
  .object({
    policies: z.record(NAME, PolicySchema).optional(),
    middleware: z
      .object({
        v1: GroupSchema.optional(),
        public: GroupSchema.optional(),
        authFailures: z.union([BindingSchema, z.literal(false)]).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

type PolicySettings = z.infer<typeof PolicySchema>;

/**
 * Parses RATE_POLICIES once per `env` (see docs/rate-limiting.md):
 * `{ "policies": { name: settings }, "middleware": { "v1": group, "public": group, "authFailures": binding | false } }`.
 *
 * Policy settings: `{ algorithm: "fixed-window" | "sliding-window", limit, window }` or
 * `{ algorithm: "token-bucket", limit (capacity), refill, interval }`, plus optional
 * `failure` ("open" default, or "closed"), `timeout` (default "1s") and `lease` (`{ units,
 * ttl }`: local leases for hot identifiers, ttl from 10ms to 1h; default none). Windows and
 * intervals are at least 1 s.
 *
 * A group is a binding `{ binding, limit, period }` (the default: no Upstash request), a list
 * of policy names (checked exactly in Upstash: one REST request per call), or `[]` (off).
 * `{"middleware":{"v1":[],"public":[],"authFailures":false}}` turns all protection off.
 * An invalid value is a 500 naming RATE_POLICIES.
 *
 * @example RATE_POLICIES='{"policies":{"login":{"algorithm":"fixed-window","limit":5,"window":"1m","failure":"closed"}}}'
 * @example RATE_POLICIES='{"middleware":{"v1":["api"]}}' // exact per-token limits in Upstash
 */
export const readRateConfig = defineConfig({ RATE_POLICIES: jsonVar(z.unknown(), {}) }, (v): RateConfig => parseRateConfig(v.RATE_POLICIES));

/** RATE_POLICIES from its parsed JSON (pure). @throws ConfigError naming RATE_POLICIES */
export function parseRateConfig(raw: unknown): RateConfig {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError("RATE_POLICIES", `is invalid at ${issue.path.join(".") || "the top level"}: ${issue.message}`);
  }
  const settings: Record<string, PolicySettings> = { ...DEFAULT_POLICIES, ...result.data.policies };
  const policies = new Map<string, Policy>();
  for (const [name, s] of Object.entries(settings)) policies.set(name, toPolicy(name, s));

  const middleware = result.data.middleware ?? {};
  const group = (which: "v1" | "public"): Guard => {
    const value = middleware[which] ?? DEFAULT_MIDDLEWARE[which];
    if (!Array.isArray(value)) return { kind: "binding", name: GUARD_NAMES[which], ...value };
    if (value.length === 0) return { kind: "off" };
    return {
      kind: "policies",
      policies: value.map((name) => {
        const policy = policies.get(name);
        if (!policy) throw new ConfigError("RATE_POLICIES", `middleware.${which} names an undefined policy "${name}"`);
        return policy;
      }),
    };
  };
  const authFailures = middleware.authFailures ?? DEFAULT_MIDDLEWARE.authFailures;
  return {
    policies,
    v1: group("v1"),
    public: group("public"),
    authFailures: authFailures === false ? null : { name: GUARD_NAMES.authFailures, ...authFailures },
  };
}

function toPolicy(name: string, s: PolicySettings): Policy {
  const timeoutMs = s.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(s.timeout);
  if (timeoutMs < 10 || timeoutMs > 30_000) throw new ConfigError("RATE_POLICIES", `policy "${name}": timeout must be 10ms to 30s`);
  const algorithm = refusedAsConfig(`policy "${name}": `, (): Algorithm => {
    const windowMs = durationMs(s.algorithm === "token-bucket" ? s.interval : s.window);
    if (windowMs < 1000) throw new RangeError("window and interval must be at least 1s");
    return s.algorithm === "fixed-window"
      ? fixedWindow({ limit: s.limit, windowMs })
      : s.algorithm === "sliding-window"
        ? slidingWindow({ limit: s.limit, windowMs })
        : tokenBucket({ capacity: s.limit, refill: s.refill, intervalMs: windowMs });
  });
  const policy: Policy = { name, algorithm, failure: s.failure ?? "open", timeoutMs, ...(s.lease ? { lease: leaseOf(name, s.lease) } : {}) };
  // validateLease's messages name the policy already.
  if (policy.lease) refusedAsConfig("", () => validateLease(policy));
  return Object.freeze(policy);
}

/** Runs `build`; a RangeError (a core refusing these settings) becomes a ConfigError naming RATE_POLICIES. */
function refusedAsConfig<T>(context: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof RangeError) throw new ConfigError("RATE_POLICIES", `${context}${error.message}`);
    throw error;
  }
}

function leaseOf(name: string, lease: { units: number; ttl: string }): LeaseOptions {
  const ttlMs = durationMs(lease.ttl);
  if (ttlMs < 10 || ttlMs > MAX_LEASE_TTL_MS) throw new ConfigError("RATE_POLICIES", `policy "${name}": lease ttl must be 10ms to 1h`);
  return Object.freeze({ units: lease.units, ttlMs });
}

/** Milliseconds of a duration string such as "1m". */
export function durationMs(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new RangeError(`invalid duration "${text}"`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
