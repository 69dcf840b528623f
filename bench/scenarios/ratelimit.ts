import { expectStatus, type BenchContext, type Scenario } from "../scenario";

/**
 * Rate-limit scenarios. "In Worker" rows run one `limit()` per HTTP request through the
 * bench-only route (functions/routes/bench-ratelimit.ts), with this project's limiter or with
 * `@upstash/ratelimit` for the same algorithm, on the same client and Redis:
 * - steady: a limit never reached, so every check goes to Redis;
 * - blocked: a limit of 1 per hour, spent in setup, so every check is denied; both libraries
 *   then answer from their in-isolate cache of blocked identifiers (0 REST requests), except
 *   when a request lands on an isolate that has not seen the block yet.
 * The "HTTP API" row is what a remote client pays for `POST /v1/rate/api/{id}` (plus the
 * middleware's own check when RATE_POLICIES leaves it on).
 */

const ALGORITHMS = ["fixed-window", "sliding-window", "token-bucket"] as const;
const IMPLS = [
  { impl: "ours", label: "this limiter" },
  { impl: "upstash", label: "@upstash/ratelimit", comparesWith: "@upstash/ratelimit 2.2.0" },
] as const;

function check(ctx: BenchContext, impl: string, algorithm: string, mode: "steady" | "blocked", id: string) {
  return ctx.call(`/__bench/ratelimit/${impl}/${algorithm}/${mode}/${encodeURIComponent(id)}`, { method: "POST" });
}

const inWorker: Scenario[] = ALGORITHMS.flatMap((algorithm) =>
  IMPLS.flatMap(({ impl, label, ...rest }) => {
    const comparesWith = "comparesWith" in rest ? `${rest.comparesWith} ${algorithm}` : undefined;
    const id = (ctx: BenchContext, mode: string) => `${ctx.runId}-${impl}-${algorithm}-${mode}`;
    return [
      {
        group: "ratelimit",
        name: `in Worker: ${algorithm}, steady state (${label})`,
        ...(comparesWith ? { comparesWith } : {}),
        run: async (ctx: BenchContext) => expectStatus(await check(ctx, impl, algorithm, "steady", id(ctx, "steady")), 200),
      },
      {
        group: "ratelimit",
        name: `in Worker: ${algorithm}, blocked identifier (${label})`,
        ...(comparesWith ? { comparesWith } : {}),
        setup: async (ctx: BenchContext) => expectStatus(await check(ctx, impl, algorithm, "blocked", id(ctx, "blocked")), 200),
        run: async (ctx: BenchContext) => expectStatus(await check(ctx, impl, algorithm, "blocked", id(ctx, "blocked")), 429),
      },
    ];
  }),
);

export const scenarios: Scenario[] = [
  {
    group: "ratelimit",
    name: "HTTP API: POST /v1/rate/api/{id} (built-in token bucket)",
    run: async (ctx, i) => expectStatus(await ctx.call(`/v1/rate/api/${ctx.runId}-${i % 64}`, { method: "POST" }), 200),
  },
  ...inWorker,
];
