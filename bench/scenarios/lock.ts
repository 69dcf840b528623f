import { expectStatus, type BenchContext, type Scenario } from "../scenario";

/**
 * Lock scenarios. "In Worker" rows run one acquire + release per HTTP request through the
 * bench-only route (bench/worker/lock.ts), so this project's core and @upstash/lock
 * are compared on the same client and Redis; the "HTTP API" row is what a remote client pays
 * (two calls to the Worker).
 *
 * @upstash/lock 0.2 has no bounded wait: it gets ceil(waitMs / 10) attempts 10 ms apart. Its
 * `extend()` sends fractional seconds to EXPIRE, which Redis refuses, so no scenario can
 * compare renewal.
 */

const CONTENDED_CALLERS = 8;
const HOLD_MS = 2;
const WAIT_MS = 5000;

/** One acquire (waiting up to `waitMs`), hold, release inside the Worker; throws unless acquired. */
async function inWorker(ctx: BenchContext, impl: "core" | "upstash-lock", name: string, body: Record<string, number>): Promise<void> {
  const res = await ctx.call(`/__bench/lock/${impl}/${encodeURIComponent(name)}`, { method: "POST", body: JSON.stringify(body) });
  if (res.status !== 200) return expectStatus(res, 200);
  const result = (await res.json()) as { acquired: boolean; released?: boolean };
  if (!result.acquired || !result.released) throw new Error(`${impl}: ${JSON.stringify(result)} on ${name}`);
}

export const scenarios: Scenario[] = [
  {
    group: "locks",
    name: "HTTP API: POST /v1/locks/{name} + DELETE (uncontended)",
    run: async (ctx, i) => {
      const name = `${ctx.runId}-api-${i}`;
      const res = await ctx.call(`/v1/locks/${name}`, { method: "POST", body: "{}" });
      if (res.status !== 201) return expectStatus(res, 201);
      const { token } = (await res.json()) as { token: string };
      await expectStatus(await ctx.call(`/v1/locks/${name}`, { method: "DELETE", headers: { "Lock-Token": token } }), 204);
    },
  },
  {
    group: "locks",
    name: "in Worker: acquire + release, uncontended (this core)",
    run: (ctx, i) => inWorker(ctx, "core", `${ctx.runId}-core-${i}`, {}),
  },
  {
    group: "locks",
    name: "in Worker: acquire + release, one name used again and again, 1 caller (this core)",
    concurrency: 1,
    operations: 100,
    run: (ctx) => inWorker(ctx, "core", `${ctx.runId}-core-again`, {}),
  },
  {
    group: "locks",
    name: "in Worker: semaphore (limit 4) acquire + release, uncontended (this core)",
    run: (ctx, i) => inWorker(ctx, "core", `${ctx.runId}-sem-${i}`, { limit: 4 }),
  },
  {
    group: "locks",
    name: "in Worker: acquire + release, uncontended (@upstash/lock)",
    comparesWith: "@upstash/lock 0.2.1",
    run: (ctx, i) => inWorker(ctx, "upstash-lock", `${ctx.runId}-up-${i}`, {}),
  },
  {
    group: "locks",
    name: `in Worker: ${CONTENDED_CALLERS} callers on one name, waitMs ${WAIT_MS}, hold ${HOLD_MS} ms (this core)`,
    concurrency: CONTENDED_CALLERS,
    operations: 200,
    run: (ctx) => inWorker(ctx, "core", `${ctx.runId}-core-contended`, { waitMs: WAIT_MS, holdMs: HOLD_MS }),
  },
  {
    group: "locks",
    name: `in Worker: ${CONTENDED_CALLERS} callers on one name, waitMs ${WAIT_MS}, hold ${HOLD_MS} ms (@upstash/lock)`,
    comparesWith: "@upstash/lock 0.2.1 (attempts every 10 ms)",
    concurrency: CONTENDED_CALLERS,
    operations: 200,
    run: (ctx) => inWorker(ctx, "upstash-lock", `${ctx.runId}-up-contended`, { waitMs: WAIT_MS, holdMs: HOLD_MS }),
  },
];
