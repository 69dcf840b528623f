/**
 * A fuzz suite driven by the service's own OpenAPI document: for every operation the Worker
 * documents at GET /openapi.json, fast-check draws requests from the documented schemas and
 * from hostile inputs (huge and unicode strings, traversal, encoded slashes, NUL, numbers out
 * of range, wrong types, bad JSON, wrong content types, bad tokens), sends them over real
 * HTTP to the production bundle in Miniflare, and checks every answer with the oracle
 * (`fuzz/oracle.ts`). Data seeded before the run must read the same after it. Then the same
 * under faults injected at the local endpoint: only the documented fallbacks, within the
 * documented timeout. Settings: `fuzz/settings.ts` (FUZZ_SEED, FUZZ_RUNS, FUZZ_FAULT_RUNS).
 */
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildBundle, type Bundle } from "../../bench/miniflare";
import { createApp } from "../../functions/app";
import type { FaultConfig } from "../../local/faults";
import { fallbackViolations } from "./fuzz/fallbacks";
import { routedOperation, violations, SchemaValidator } from "./fuzz/oracle";
import { operationsOf, requestArbitrary, summary, type FuzzRequest, type Operation } from "./fuzz/operations";
import type { Schema } from "./fuzz/schema-arbitrary";
import { namesSeed, seed, SEED_NAMES, type Seeded, type SeedSnapshot } from "./fuzz/seed";
import { send, type FuzzResponse } from "./fuzz/send";
import { fuzzSettings } from "./fuzz/settings";
import { startFuzzWorker, type FuzzWorker } from "./fuzz/worker";
import { repoRoot } from "./processes";

const settings = fuzzSettings();
console.log(`fuzz: FUZZ_SEED=${settings.seed} FUZZ_RUNS=${settings.runs} FUZZ_FAULT_RUNS=${settings.faultRuns}`);

// The operations, known when the tests are collected; the Worker's own document must list the same.
const localDoc = (await (await createApp().request("http://worker.test/openapi.json", {}, {})).json()) as Schema;
const operations = operationsOf(localDoc);

/** fast-check parameters for one property. */
function params(numRuns: number): fc.Parameters<[FuzzRequest]> {
  return { seed: settings.seed, numRuns, ...(settings.path ? { path: settings.path } : {}), endOnFailure: true };
}

function describeCase(req: FuzzRequest, res: FuzzResponse): string {
  return `${summary(req)} → ${res.status} ${res.text.slice(0, 300)}`;
}

/** Answers seen per operation and status, printed at the end: what the run actually reached. */
const tally = new Map<string, Map<number, number>>();
function count(op: Operation, status: number): void {
  const key = `${op.method} ${op.path}`;
  const byStatus = tally.get(key) ?? new Map<number, number>();
  byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  tally.set(key, byStatus);
}

/**
 * The operation whose answer `req` gets, with the statuses it may add: `op` itself, another
 * operation its raw path normalises to, or none (the router's 404).
 */
function judgedAs(ops: readonly Operation[], op: Operation, req: FuzzRequest): { as: Operation; extra: number[] } {
  const routed = routedOperation(ops, req.method, req.path.split("?")[0]!);
  return routed ? { as: routed, extra: [] } : { as: op, extra: [404] };
}

interface Target {
  worker: FuzzWorker;
  doc: Schema;
  /** The operations of `doc`. */
  ops: Operation[];
  validator: SchemaValidator;
  seeded: Seeded;
  before: SeedSnapshot;
}

/** The production bundle, built once for both Workers of this file (on first use), removed after them. */
let bundle: Promise<Bundle> | undefined;
afterAll(async () => {
  (await bundle?.catch(() => undefined))?.remove();
});

async function target(vars: Record<string, string> = {}): Promise<Target> {
  const worker = await startFuzzWorker(vars, await (bundle ??= buildBundle(repoRoot)));
  try {
    const doc = (await (await fetch(`${worker.url}/openapi.json`)).json()) as Schema;
    const seeded = await seed(worker.url, worker.token);
    return { worker, doc, ops: operationsOf(doc), validator: new SchemaValidator(doc), seeded, before: await seeded.snapshot() };
  } catch (error) {
    await worker.stop();
    throw error;
  }
}

/** After a failed test, what the Worker printed: kept quiet otherwise (see FuzzWorker.output). */
function reportWorkerOutputOnFailure(current: () => Target | undefined): void {
  afterEach(({ task }) => {
    const output = current()?.worker.output();
    if (task.result?.state === "fail" && output) console.error(`the Worker's output, last part:\n${output}`);
  });
}

describe("fuzzing every documented operation", () => {
  let t: Target;
  beforeAll(async () => {
    t = await target();
  }, 180_000);
  reportWorkerOutputOnFailure(() => t);
  afterAll(async () => {
    await t?.worker.stop();
    const lines = [...tally].map(([op, byStatus]) => `  ${op}: ${[...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(" ")}`);
    console.log(`fuzz: answers by status\n${lines.join("\n")}`);
  });

  it("serves the document the operations were read from", () => {
    expect(t.ops.map((op) => `${op.method} ${op.path}`)).toEqual(operations.map((op) => `${op.method} ${op.path}`));
  });

  for (const op of operations) {
    it(`${op.method} ${op.path}: no 500, only documented statuses, problem+json errors, valid 2xx bodies`, async () => {
      const documented = t.ops.find((o) => o.method === op.method && o.path === op.path)!;
      const ctx = { doc: t.doc, token: t.worker.token, seedNames: SEED_NAMES };
      await fc.assert(
        fc.asyncProperty(requestArbitrary(documented, ctx), async (req) => {
          fc.pre(!namesSeed(req));
          await t.seeded.keepLockIfDue();
          const res = await send(t.worker.url, req);
          count(documented, res.status);
          const { as, extra } = judgedAs(t.ops, documented, req);
          expect(violations(as, res, t.validator, extra), describeCase(req, res)).toEqual([]);
        }),
        params(settings.runs),
      );
      await t.seeded.keepLock();
      expect(await t.seeded.snapshot(), "seeded data changed").toEqual(t.before);
    }, Math.max(120_000, settings.runs * 500));
  }

  it("every operation refuses a body over MAX_BODY_BYTES with its documented 413, GETs included", async () => {
    const body = JSON.stringify({ value: "v".repeat(1024 * 1024) });
    for (const op of t.ops) {
      const path = op.path.replace(/\{[^}]+\}/g, "x");
      const req = { method: op.method, path, headers: { authorization: `Bearer ${t.worker.token}`, "content-type": "application/json", "cf-connecting-ip": "192.0.2.99" }, body };
      const res = await send(t.worker.url, req);
      expect({ status: res.status, violations: violations(op, res, t.validator) }, describeCase(req, res)).toEqual({ status: 413, violations: [] });
    }
  });

  it("sent nothing to the proxy's origin outside ORIGIN_URL's base path", async () => {
    const seen = t.worker.origin.paths();
    expect(seen.length).toBeGreaterThan(0);
    for (const path of seen) {
      expect(path.startsWith("/origin/"), path).toBe(true);
      expect(path.split("/").some((segment) => segment === ".." || segment === "." || /%2f|%5c/i.test(segment)), path).toBe(false);
    }
  });
});

/** Faults the endpoint injects, and what each one looks like to the Worker. */
const FAULTS: Array<{ name: string; faults: FaultConfig; total: boolean }> = [
  { name: "Redis answers 5xx", faults: { down: "5xx" }, total: true },
  { name: "the connection drops", faults: { down: "drop" }, total: true },
  { name: "Redis is slower than the timeout", faults: { latencyMs: 5000 }, total: true },
  { name: "half the requests fail", faults: { failureRate: 0.5 }, total: false },
  { name: "replies are lost after the write", faults: { dropReplyAfterApply: 1_000_000 }, total: true },
];

// A short Redis timeout keeps the slow-Redis case short; the bound below is what it promises.
const FAULT_TIMEOUT_MS = 250;
// A rate-limit policy's own "timeout" (RATE_POLICIES; default 1 s) bounds a check instead.
const POLICY_TIMEOUT_MS = 1000;
// The slack for scheduling on a loaded machine: far below the injected 5 s latency, so an
// answer that waited for Redis instead of timing out still fails.
const SLACK_MS = 2000;

describe("fuzzing under injected Redis faults", () => {
  let t: Target;
  beforeAll(async () => {
    t = await target({ REDIS_TIMEOUT_MS: String(FAULT_TIMEOUT_MS) });
  }, 180_000);
  reportWorkerOutputOnFailure(() => t);
  afterAll(async () => {
    t?.worker.stack.endpoint.clearFaults();
    await t?.worker.stop();
  });

  for (const { name, faults, total } of FAULTS) {
    it(`${name}: only documented fallbacks, within the documented timeout`, async () => {
      const bound = Math.max(t.worker.redisTimeoutMs * (1 + t.worker.redisRetries), POLICY_TIMEOUT_MS) + SLACK_MS;
      // The seeded lock's lease (5 min) must outlast the mode: Redis cannot renew it under faults.
      await t.seeded.keepLock();
      t.worker.stack.endpoint.setFaults(faults);
      try {
        for (const op of t.ops) {
          const ctx = { doc: t.doc, token: t.worker.token, seedNames: SEED_NAMES };
          await fc.assert(
            fc.asyncProperty(requestArbitrary(op, ctx), async (req) => {
              fc.pre(!namesSeed(req));
              const res = await send(t.worker.url, req);
              const { as, extra } = judgedAs(t.ops, op, req);
              const problems = violations(as, res, t.validator, extra);
              if (total && problems.length === 0) problems.push(...fallbackViolations(as, res));
              if (res.elapsedMs > bound) problems.push(`answered after ${Math.round(res.elapsedMs)} ms, over ${bound} ms`);
              if (res.status === 503 && op.path.startsWith("/v1/") && !/urn:problem:(redis-unavailable|rate-limit-unavailable)"/.test(res.text)) {
                problems.push("a 503 that is not redis-unavailable or rate-limit-unavailable");
              }
              expect(problems, describeCase(req, res)).toEqual([]);
            }),
            params(settings.faultRuns),
          );
        }
      } finally {
        t.worker.stack.endpoint.clearFaults();
      }
      expect(await t.seeded.snapshot(), "seeded data changed").toEqual(t.before);
    }, Math.max(300_000, settings.faultRuns * operations.length * 3000));
  }
});
