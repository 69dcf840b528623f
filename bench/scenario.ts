/**
 * A benchmark scenario: one kind of operation driven against the Worker under `wrangler dev`
 * with bounded concurrency on loopback. `bench/run.ts` runs every scenario in
 * `bench/scenarios/`, each beside the baseline route measured in the same run, and reports
 * requests/s, p50/p99 latency, and REST requests and Redis commands per operation (counted
 * at the local endpoint).
 */
export interface BenchContext {
  /** The Worker, e.g. http://127.0.0.1:8787 */
  workerUrl: string;
  /** Bearer token for /v1/* */
  apiToken: string;
  /** A prefix unique to this run, for names and keys. */
  runId: string;
  /** Calls the Worker: `path` relative to workerUrl, with the bearer token. */
  call(path: string, init?: RequestInit): Promise<Response>;
}

export interface Scenario {
  /** Group for the report, e.g. "cache". */
  group: string;
  /** Name, e.g. "hit". */
  name: string;
  /** What it compares with, when not the baseline route alone, e.g. "@upstash/ratelimit fixed window". */
  comparesWith?: string;
  /** Concurrent callers (default 8). */
  concurrency?: number;
  /** Operations measured (default 400). */
  operations?: number;
  /** Runs once before the measured operations (not counted). */
  setup?(ctx: BenchContext): Promise<void>;
  /**
   * Runs right before the first call is measured (not counted), after Redis forgot its scripts:
   * e.g. empties the isolate's memory, so that a scenario served from it measures a first call
   * on a cold isolate, not a copy left by its setup.
   */
  beforeFirstCall?(ctx: BenchContext): Promise<void>;
  /**
   * One operation. `i` is its index from 0. Throw when the Worker answers something the
   * scenario does not expect, so a broken route never reports a fast number.
   */
  run(ctx: BenchContext, i: number): Promise<void>;
}

/** Throws unless `res.status` is one of `expected`; drains the body either way. */
export async function expectStatus(res: Response, ...expected: number[]): Promise<void> {
  const text = await res.text();
  if (!expected.includes(res.status)) {
    throw new Error(`expected ${expected.join("/")}, got ${res.status}: ${text.slice(0, 200)}`);
  }
}

/** Throws unless `res` is a 200 whose `X-Cache` is one of `allowed`, e.g. `["HIT-L1", "HIT"]`. */
export async function expectXCache(res: Response, allowed: readonly string[]): Promise<void> {
  const served = res.headers.get("X-Cache");
  if (served === null || !allowed.includes(served)) throw new Error(`expected X-Cache ${allowed.join(" or ")}, got ${res.status} ${served}`);
  await expectStatus(res, 200);
}

/** Operations of an L1 row: a few seconds at its rate, so several 1 s bounds pass in it. */
export const L1_OPERATIONS = 5000;

/**
 * Empties the isolate's L1s (a bench-only route), as an L1 scenario's `beforeFirstCall`: its
 * first call is then a read from Redis.
 */
export async function coldIsolate(ctx: BenchContext): Promise<void> {
  await expectStatus(await ctx.call("/__bench/l1/clear", { method: "POST" }), 200);
}
