import { body, drain, names, pick, sizes, type SoakContext } from "./context";

/**
 * The rate policies the soak spends from, one per algorithm without and with a lease, passed
 * to its Worker in RATE_POLICIES, and the check each is driven by. Limits are small against
 * the load (a few checks a second per identifier even under `wrangler dev`), so every policy
 * reaches its limit and denies: a bound that is never reached checks nothing.
 */
interface PolicyBase {
  /** The operation's name in the report. */
  operation: string;
  name: string;
  limit: number;
  /** `{ units, ttlMs }`: the isolate may reserve `units` and admit from them for `ttlMs`. */
  lease?: { units: number; ttlMs: number };
}
export type WindowPolicy = PolicyBase & { algorithm: "fixed-window" | "sliding-window"; windowMs: number };
export type BucketPolicy = PolicyBase & { algorithm: "token-bucket"; refill: number; intervalMs: number };
export type SoakRatePolicy = WindowPolicy | BucketPolicy;

const LEASE = { units: 2, ttlMs: 2_000 } as const;

/** Every policy admits 10 per identifier (per 10 s window, or a bucket of 10 refilled by 1 a second). */
export const RATE_POLICIES: readonly SoakRatePolicy[] = [
  { operation: "rate.fixed", name: "soak-fixed", algorithm: "fixed-window", limit: 10, windowMs: 10_000 },
  { operation: "rate.fixed-leased", name: "soak-fixed-leased", algorithm: "fixed-window", limit: 10, windowMs: 10_000, lease: LEASE },
  { operation: "rate.sliding", name: "soak-sliding", algorithm: "sliding-window", limit: 10, windowMs: 10_000 },
  { operation: "rate.sliding-leased", name: "soak-sliding-leased", algorithm: "sliding-window", limit: 10, windowMs: 10_000, lease: LEASE },
  { operation: "rate.bucket", name: "soak-bucket", algorithm: "token-bucket", limit: 10, refill: 1, intervalMs: 1_000 },
  { operation: "rate.bucket-leased", name: "soak-bucket-leased", algorithm: "token-bucket", limit: 10, refill: 1, intervalMs: 1_000, lease: LEASE },
];

/** `RATE_POLICIES.policies` for the Worker: every soak policy, failing closed (a 503, never an unseen admission). */
export function ratePoliciesSetting(): Record<string, unknown> {
  const seconds = (ms: number) => `${ms / 1000}s`;
  return Object.fromEntries(
    RATE_POLICIES.map((p) => [
      p.name,
      {
        algorithm: p.algorithm,
        limit: p.limit,
        ...(p.algorithm === "token-bucket" ? { refill: p.refill, interval: seconds(p.intervalMs) } : { window: seconds(p.windowMs) }),
        failure: "closed",
        ...(p.lease ? { lease: { units: p.lease.units, ttl: seconds(p.lease.ttlMs) } } : {}),
      },
    ]),
  );
}

interface CheckAnswer {
  allowed: boolean;
  limit: number;
  resetMs: number;
  reason?: string;
  source?: string;
}

/** `POST /v1/rate/{policy}/{id}` for one of the policy's identifiers; every allowed answer goes to the ledger. */
export function rateCheck(policy: SoakRatePolicy): (ctx: SoakContext) => Promise<void> {
  return async (ctx) => {
    const id = names.rateId(ctx, pick(sizes.RATE_IDS));
    const sentMs = Date.now();
    ctx.ledger.rateSent(policy.name, id, sentMs);
    const res = await ctx.recorder.time(policy.operation, [200], () => ctx.call(`/v1/rate/${policy.name}/${id}`, { method: "POST" }));
    if (res?.status !== 200) return drain(res);
    const answer = await body<CheckAnswer>(res);
    const receivedMs = Date.now();
    if (!answer) return;
    if (answer.limit !== policy.limit) ctx.ledger.rateWrongLimits.push(`${policy.name} answered limit ${answer.limit}`);
    // A fail-open admission (`reason: "redis-unavailable"`) cannot happen: every policy fails closed.
    if (answer.allowed) {
      ctx.ledger.admissions.push({ policy: policy.name, id, sentMs, receivedMs, resetMs: answer.resetMs, leased: answer.source === "lease" });
    }
  };
}
