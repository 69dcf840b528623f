import { expectStatus, type BenchContext, type Scenario } from "../scenario";

/**
 * Rate-limit scenarios. "In Worker" rows run one `limit()` per HTTP request through the
 * bench-only route (bench/worker/ratelimit.ts), with this project's limiter or with
 * `@upstash/ratelimit` for the same algorithm, on the same client and Redis:
 * - steady: a limit never reached, so every check goes to Redis;
 * - blocked: a limit of 1 per hour, spent in setup, so every check is denied; both libraries
 *   then answer from their in-isolate cache of blocked identifiers (0 REST requests), except
 *   when a request lands on an isolate that has not seen the block yet.
 * - hot identifier with leases (ours only): the steady limit with a lease of 100 units per 10 s,
 *   every check for one identifier, so most are admitted from the isolate's lease with no REST
 *   request (goal: at most 0.1 requests per check; compare with the steady row's 1).
 * The "HTTP API" rows are what a remote client pays for `POST /v1/rate/api/{id}` and for the
 * windowed counters (the bench turns the API protection off, so each row is its route alone;
 * the default protection, a rate-limiting binding, adds no Upstash request anyway).
 * Counter hits go to 8 names, so most hits land in a bucket that already exists, as on a busy
 * counter; a hit that starts a bucket (a new second, minute or hour) also pays its upkeep.
 */

const ALGORITHMS = ["fixed-window", "sliding-window", "token-bucket"] as const;
const IMPLS = [
  { impl: "ours", label: "this limiter" },
  { impl: "upstash", label: "@upstash/ratelimit", comparesWith: "@upstash/ratelimit 2.2.0" },
] as const;

function check(ctx: BenchContext, impl: string, algorithm: string, mode: "steady" | "blocked" | "lease", id: string) {
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

const leased: Scenario[] = ALGORITHMS.map((algorithm) => ({
  group: "ratelimit",
  name: `in Worker: ${algorithm}, hot identifier with leases (this limiter)`,
  run: async (ctx: BenchContext) => expectStatus(await check(ctx, "ours", algorithm, "lease", `${ctx.runId}-hot-${algorithm}`), 200),
}));

export const scenarios: Scenario[] = [
  {
    group: "ratelimit",
    name: "HTTP API: POST /v1/rate/api/{id} (built-in token bucket)",
    run: async (ctx, i) => expectStatus(await ctx.call(`/v1/rate/api/${ctx.runId}-${i % 64}`, { method: "POST" }), 200),
  },
  {
    group: "ratelimit",
    name: "HTTP API: POST /v1/counters/{name} (hit)",
    run: async (ctx, i) => expectStatus(await ctx.call(`/v1/counters/${ctx.runId}-${i % 8}`, { method: "POST" }), 200),
  },
  {
    group: "ratelimit",
    name: "HTTP API: GET /v1/counters/{name} (series, 60 minutes)",
    run: async (ctx, i) => expectStatus(await ctx.call(`/v1/counters/${ctx.runId}-${i % 8}?granularity=minute&buckets=60`), 200),
  },
  ...inWorker,
  ...leased,
];
