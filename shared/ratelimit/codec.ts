import { InvalidInputError } from "../errors";
import { validateName } from "../keys";
import type { ScriptCall } from "../script";
import { CHECK, FIELDS_PER_POLICY } from "./scripts";
import type { LeaseView } from "./lease-store";
import { LEASE_WINDOW_MARGIN_MS, MAX_LEASE_TTL_MS, MAX_LIMIT, MAX_POLICIES, POLICY_NAME, type CheckMode, type Identity, type LimitResult, type Policy, type PolicyResult } from "./types";
import { isIntegerIn } from "../integer";

/**
 * Pure builders and parsers of the rate limiter: what a check sends and how its reply is read.
 * Nothing here talks to Redis, so the unit tests check it all without one.
 */

/** One policy checked for one id, under its state key. */
export interface Target {
  policy: Policy;
  id: string;
  key: string;
}

/**
 * Throws a RangeError unless `policies` are 1 to {@link MAX_POLICIES} policies with valid,
 * distinct names: a programming or configuration error, found when the limiter is built.
 */
export function validatePolicies(policies: readonly Policy[]): readonly Policy[] {
  if (policies.length < 1 || policies.length > MAX_POLICIES) {
    throw new RangeError(`a limiter needs 1 to ${MAX_POLICIES} policies`);
  }
  const names = new Set<string>();
  for (const policy of policies) {
    if (!POLICY_NAME.test(policy.name)) throw new RangeError(`invalid policy name "${policy.name}"`);
    if (names.has(policy.name)) throw new RangeError(`duplicate policy name "${policy.name}"`);
    names.add(policy.name);
    if (policy.lease) validateLease(policy);
  }
  return policies;
}

/**
 * Throws a RangeError unless the policy's lease takes 1 to `limit` units for 1 ms to
 * {@link MAX_LEASE_TTL_MS}. Every algorithm can be leased honestly (docs/rate-limiting.md,
 * "Leases for hot identifiers"), so none is refused for its kind; but a window no longer than
 * {@link LEASE_WINDOW_MARGIN_MS} could never grant one (a lease ends that long before its
 * window does), so a lease there is refused rather than silently never used.
 */
export function validateLease(policy: Policy): void {
  const { units, ttlMs } = policy.lease!;
  const { limit, kind, params } = policy.algorithm;
  if (kind !== "token-bucket" && params[1] <= LEASE_WINDOW_MARGIN_MS) {
    throw new RangeError(`policy "${policy.name}": a lease needs a window longer than ${LEASE_WINDOW_MARGIN_MS} ms`);
  }
  if (!isIntegerIn(units, 1, limit)) {
    throw new RangeError(`policy "${policy.name}": lease units must be an integer from 1 to ${limit}, the policy's limit`);
  }
  if (!isIntegerIn(ttlMs, 1, MAX_LEASE_TTL_MS)) {
    throw new RangeError(`policy "${policy.name}": lease ttlMs must be an integer from 1 to ${MAX_LEASE_TTL_MS}`);
  }
}

/**
 * The id each policy is checked for, and its state key.
 * @throws InvalidInputError for a missing or invalid id
 */
export function targetsOf(
  policies: readonly Policy[],
  identity: Identity,
  keyOf: (policy: Policy, id: string) => string,
): Target[] {
  return policies.map((policy) => {
    const id = typeof identity === "string" ? identity : identity[policy.name];
    if (id === undefined) throw new InvalidInputError(`an id for policy "${policy.name}" is required`, "id");
    validateName(id, "id");
    return { policy, id, key: keyOf(policy, id) };
  });
}

/**
 * Throws {@link InvalidInputError} unless `cost` is a non-zero integer within every policy's
 * limit, negative only when every policy takes refunds (token buckets).
 */
export function validateCost(cost: number, policies: readonly Policy[]): number {
  if (!isIntegerIn(cost, -MAX_LIMIT, MAX_LIMIT)) {
    throw new InvalidInputError(`cost must be an integer from -${MAX_LIMIT} to ${MAX_LIMIT}`, "cost");
  }
  if (cost === 0) throw new InvalidInputError("cost must not be 0 (peek reads without spending)", "cost");
  if (cost < 0 && !policies.every((p) => p.algorithm.refunds)) {
    throw new InvalidInputError("cost must be a positive integer: only token buckets accept refunds", "cost");
  }
  for (const { name, algorithm } of policies) {
    if (cost > algorithm.limit) {
      throw new InvalidInputError(`cost must be at most ${algorithm.limit}, the limit of policy "${name}"`, "cost");
    }
  }
  return cost;
}

/**
 * KEYS and ARGV of the check script: one key, then six arguments per policy (code, p1, p2, p3,
 * lease units, lease ttl ms). `leaseUnits[i]` is the lease wanted for target i (default 0:
 * none); its ttl is the policy's.
 */
export function buildCheck(
  mode: CheckMode,
  cost: number,
  targets: ReadonlyArray<Pick<Target, "policy" | "key">>,
  leaseUnits: readonly number[] = [],
): ScriptCall {
  const args: Array<string | number> = [];
  targets.forEach(({ policy }, i) => {
    const units = mode === "limit" ? (leaseUnits[i] ?? 0) : 0;
    args.push(policy.algorithm.code, ...policy.algorithm.params, units, units > 0 ? policy.lease!.ttlMs : 0);
  });
  return CHECK.call({}, { mode, cost }, { keys: targets.map((t) => t.key), args });
}

/** A lease granted by a check: units reserved, and for how many ms (Redis time) they may be used. */
export interface Grant {
  units: number;
  ms: number;
}

/**
 * A parsed check reply: each policy's result (`remaining` as Redis has it, leased units
 * already spent), how long each is blocked (0: one unit fits), and each lease granted.
 */
export interface CheckReply {
  results: PolicyResult[];
  blockMs: number[];
  grants: Grant[];
}

/**
 * Reads the check script's reply.
 * @throws Error for a reply of the wrong shape (a bug: the script and this parser disagree)
 */
export function parseCheck(reply: unknown, targets: ReadonlyArray<Pick<Target, "policy" | "id">>): CheckReply {
  if (!Array.isArray(reply) || reply.length !== 1 + targets.length * FIELDS_PER_POLICY) {
    throw new Error("unexpected reply from the rate-limit script");
  }
  const blockMs: number[] = [];
  const grants: Grant[] = [];
  const results = targets.map(({ policy, id }, i) => {
    const at = 1 + i * FIELDS_PER_POLICY;
    blockMs.push(Number(reply[at + 4]));
    grants.push({ units: Number(reply[at + 5]), ms: Number(reply[at + 6]) });
    return {
      policy: policy.name,
      id,
      allowed: Number(reply[at]) === 1,
      limit: policy.algorithm.limit,
      remaining: Number(reply[at + 1]),
      resetMs: Number(reply[at + 2]),
      retryAfterMs: Number(reply[at + 3]),
    };
  });
  return { results, blockMs, grants };
}

/** The top-level numbers: the denying policy that frees up last, else the one with the fewest units left. */
export function summarize(policies: PolicyResult[]): LimitResult {
  const denied = policies.filter((p) => !p.allowed);
  const pick = denied.length
    ? denied.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a))
    : policies.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a));
  const { limit, remaining, resetMs, retryAfterMs } = pick;
  return { allowed: denied.length === 0, limit, remaining, resetMs, retryAfterMs, policies };
}

/**
 * The result of a check that could not reach Redis: allowed only if every policy fails open.
 * The numbers are unknown and given as 0 (the limit is that of the deciding policy).
 */
export function failureResult(policies: readonly Policy[]): LimitResult {
  const closed = policies.find((p) => (p.failure ?? "open") === "closed");
  const decider = closed ?? policies[0]!;
  return {
    allowed: !closed,
    limit: decider.algorithm.limit,
    remaining: 0,
    resetMs: 0,
    retryAfterMs: 0,
    reason: "redis-unavailable",
    policies: [],
  };
}

/**
 * The result of a check admitted from the isolate's leases: `views[i]` is target i's lease
 * after this admission.
 */
export function leaseResult(targets: ReadonlyArray<Pick<Target, "policy" | "id">>, views: readonly LeaseView[]): LimitResult {
  const policies = targets.map(({ policy, id }, i): PolicyResult => {
    const view = views[i]!;
    return {
      policy: policy.name,
      id,
      allowed: true,
      limit: policy.algorithm.limit,
      remaining: view.remaining,
      resetMs: view.resetMs,
      retryAfterMs: 0,
      leased: view.units,
    };
  });
  return { ...summarize(policies), source: "lease" };
}

/** The result of a check rejected by the isolate's block cache: `ms` is what is left of the block. */
export function cachedBlock(target: Pick<Target, "policy" | "id">, ms: number): LimitResult {
  const policy: PolicyResult = {
    policy: target.policy.name,
    id: target.id,
    allowed: false,
    limit: target.policy.algorithm.limit,
    remaining: 0,
    resetMs: ms,
    retryAfterMs: ms,
  };
  const { limit, remaining, resetMs, retryAfterMs } = policy;
  return { allowed: false, limit, remaining, resetMs, retryAfterMs, reason: "cached-block", policies: [policy] };
}
