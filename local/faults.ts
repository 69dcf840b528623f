/**
 * Fault injection for the local endpoint: added latency, failed requests, a server that is
 * down, and replies lost after the write was applied. These are the failures a Worker meets
 * when Upstash or the network misbehaves, made reproducible so code paths like "fail open",
 * retries and idempotency can be tested.
 */

/**
 * Faults to inject into command requests (never into the control API).
 * @example { latencyMs: 200, match: "EVALSHA" } // slow down only requests that run a script
 */
export interface FaultConfig {
  /** Milliseconds to wait before each request is handled. Default 0. */
  latencyMs?: number;
  /** Fraction (0..1) of requests answered 503 `{"error": ...}` without touching Redis. Default 0. */
  failureRate?: number;
  /** Every request fails: `"5xx"` answers 503, `"drop"` destroys the socket without a reply. */
  down?: false | "5xx" | "drop";
  /** The next N matching requests are applied to Redis, then the socket is destroyed instead of replying. */
  dropReplyAfterApply?: number;
  /** Only requests containing this command name (any case) are affected. Default: all requests. */
  match?: string;
  /** The first N matching requests pass untouched, e.g. to hit the second of two scripts. Default 0. */
  skip?: number;
}

/** What to do with one request. */
export interface FaultDecision {
  delayMs: number;
  action: "none" | "fail" | "drop" | "drop-after-apply";
}

const NO_FAULT: FaultDecision = { delayMs: 0, action: "none" };
const KNOWN_KEYS = new Set(["latencyMs", "failureRate", "down", "dropReplyAfterApply", "match", "skip"]);

/**
 * Checks a fault configuration that arrived as JSON.
 * @throws TypeError naming the first invalid field (unknown fields included, so a typo is not
 * silently a no-op)
 */
export function parseFaultConfig(value: unknown): FaultConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError("fault config must be a JSON object");
  }
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key)) throw new TypeError(`unknown fault field '${key}'`);
  }
  const config: FaultConfig = {};
  const { latencyMs, failureRate, down, dropReplyAfterApply, match, skip } = input;
  if (latencyMs !== undefined) {
    if (!isNonNegativeNumber(latencyMs)) throw new TypeError("latencyMs must be a number >= 0");
    config.latencyMs = latencyMs;
  }
  if (failureRate !== undefined) {
    if (!isNonNegativeNumber(failureRate) || failureRate > 1) throw new TypeError("failureRate must be between 0 and 1");
    config.failureRate = failureRate;
  }
  if (down !== undefined) {
    if (down !== false && down !== "5xx" && down !== "drop") throw new TypeError('down must be false, "5xx" or "drop"');
    config.down = down;
  }
  if (dropReplyAfterApply !== undefined) {
    if (!Number.isInteger(dropReplyAfterApply) || (dropReplyAfterApply as number) < 0) {
      throw new TypeError("dropReplyAfterApply must be an integer >= 0");
    }
    config.dropReplyAfterApply = dropReplyAfterApply as number;
  }
  if (match !== undefined) {
    if (typeof match !== "string" || match === "") throw new TypeError("match must be a non-empty string");
    config.match = match;
  }
  if (skip !== undefined) {
    if (!Number.isInteger(skip) || (skip as number) < 0) throw new TypeError("skip must be an integer >= 0");
    config.skip = skip as number;
  }
  return config;
}

function isNonNegativeNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

/** Holds the active faults and decides, request by request, which one applies. */
export class FaultInjector {
  private config: FaultConfig = {};
  private dropsLeft = 0;
  private skipsLeft = 0;

  /** Replaces the active faults (validated as by {@link parseFaultConfig}). */
  set(config: FaultConfig): void {
    this.config = parseFaultConfig(config);
    this.dropsLeft = this.config.dropReplyAfterApply ?? 0;
    this.skipsLeft = this.config.skip ?? 0;
  }

  /** The active faults, with `dropReplyAfterApply` and `skip` counting only what is still to come. */
  current(): FaultConfig {
    const config = { ...this.config };
    if (config.dropReplyAfterApply !== undefined) config.dropReplyAfterApply = this.dropsLeft;
    if (config.skip !== undefined) config.skip = this.skipsLeft;
    return config;
  }

  /** Removes every fault. */
  clear(): void {
    this.set({});
  }

  /**
   * Decides the fault for one request. Consumes one of the `dropReplyAfterApply` budget when
   * that is the outcome, so call it once per request.
   * @param commandNames names of the commands in the request, any case
   */
  decide(commandNames: readonly string[]): FaultDecision {
    const { match, latencyMs = 0, down, failureRate = 0 } = this.config;
    if (match !== undefined) {
      const wanted = match.toUpperCase();
      if (!commandNames.some((name) => name.toUpperCase() === wanted)) return NO_FAULT;
    }
    if (this.skipsLeft > 0) {
      this.skipsLeft--;
      return NO_FAULT;
    }
    if (down === "5xx") return { delayMs: latencyMs, action: "fail" };
    if (down === "drop") return { delayMs: latencyMs, action: "drop" };
    if (failureRate > 0 && Math.random() < failureRate) return { delayMs: latencyMs, action: "fail" };
    if (this.dropsLeft > 0) {
      this.dropsLeft--;
      return { delayMs: latencyMs, action: "drop-after-apply" };
    }
    return { delayMs: latencyMs, action: "none" };
  }
}
