import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startLocalEndpoint } from "../local/endpoint";
import { runLoad } from "./load";
import { RedisCommandCounter } from "./redis-commands";
import { writeCosts } from "./costs";
import { writeReport, type BenchRow } from "./report";
import { expectStatus, type BenchContext, type Scenario } from "./scenario";
import { startStack } from "./stack";

/**
 * `npm run bench`: a private redis-server, the local REST endpoint and `wrangler dev`, then
 * every scenario in bench/scenarios/ under bounded concurrent load on loopback. Each row is
 * reported beside the baseline route (one raw fetch to the endpoint) measured in the same
 * run, before and after the scenarios. REST requests per operation come from the endpoint's
 * counters; Redis commands per operation from Redis's own INFO commandstats, so the commands
 * a Lua script runs count too (as Upstash bills them). Results go to bench/results/ as JSON and Markdown.
 *
 * BENCH_OPS scales every scenario's operation count (default 1); BENCH_ONLY=<group> runs one
 * group.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const scale = Number(process.env.BENCH_OPS ?? 1);
const only = process.env.BENCH_ONLY;

async function loadScenarios(): Promise<Scenario[]> {
  const dir = join(root, "bench", "scenarios");
  const all: Scenario[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { scenarios?: Scenario[] };
    all.push(...(mod.scenarios ?? []));
  }
  return only ? all.filter((s) => s.group === only) : all;
}

async function main() {
  const startedAt = new Date().toISOString();
  const stack = await startStack({
    root,
    endpoint: (redisUrl) => startLocalEndpoint({ redisUrl, poolSize: 16 }),
    config: join(root, "bench", "wrangler.toml"),
    vars: {
      // Each scenario measures its own feature: the rate-limit middleware would add one check
      // (one REST request) to every /v1 call. Its cost is the ratelimit group's own rows.
      RATE_POLICIES: JSON.stringify({ middleware: { v1: [], public: [] } }),
    },
  });
  const { endpoint } = stack;
  const commandCounter = new RedisCommandCounter(stack.redis.url);

  try {
    const ctx: BenchContext = {
      workerUrl: stack.workerUrl,
      apiToken: stack.apiToken,
      runId: `bench-${randomBytes(4).toString("hex")}`,
      call: stack.call,
    };

    /** REST requests and Redis commands one call of `fn` costs, counted at the endpoint and by Redis. */
    const cost = async (fn: () => Promise<void>): Promise<{ restRequests: number; redisCommands: number }> => {
      endpoint.resetStats();
      const before = await commandCounter.total();
      await fn();
      return { restRequests: endpoint.stats().requests, redisCommands: (await commandCounter.total()) - before };
    };
    // Redis (and the endpoint's SHA1 map) forget every script, as after a failover: the next use
    // of each is EVALSHA, NOSCRIPT, then EVAL.
    const flushScripts = async () => {
      const res = await fetch(endpoint.url, { method: "POST", headers: { Authorization: `Bearer ${endpoint.token}` }, body: JSON.stringify(["SCRIPT", "FLUSH"]) });
      if (!res.ok) throw new Error(`SCRIPT FLUSH answered ${res.status}`);
    };

    const measure = async (scenario: Scenario): Promise<Omit<BenchRow, "throughputVsBaseline" | "p50VsBaseline">> => {
      const concurrency = scenario.concurrency ?? 8;
      const operations = Math.max(20, Math.round((scenario.operations ?? 400) * scale));
      await scenario.setup?.(ctx);
      await flushScripts();
      await scenario.beforeFirstCall?.(ctx);
      const firstCall = await cost(() => scenario.run(ctx, operations + 100));
      // Warm-up: fills connection pools and isolate state; not counted.
      for (let i = 0; i < 5; i++) await scenario.run(ctx, operations + i);
      endpoint.resetStats();
      const commandsBefore = await commandCounter.total();
      const load = await runLoad(concurrency, operations, (i) => scenario.run(ctx, i));
      const stats = endpoint.stats();
      const commandsAfter = await commandCounter.total();
      return {
        group: scenario.group,
        name: scenario.name,
        ...(scenario.comparesWith ? { comparesWith: scenario.comparesWith } : {}),
        concurrency,
        ...load,
        firstCallRestRequests: firstCall.restRequests,
        firstCallRedisCommands: firstCall.redisCommands,
        restRequestsPerOp: stats.requests / operations,
        restCommandsPerOp: stats.commands / operations,
        redisCommandsPerOp: (commandsAfter - commandsBefore) / operations,
      };
    };

    const baselineScenario: Scenario = {
      group: "baseline",
      name: "GET /__bench/baseline (1 raw fetch)",
      run: async (c) => expectStatus(await c.call("/__bench/baseline"), 200),
    };
    // workerd compiles and warms up over its first few hundred requests; without this the
    // first baseline measures the warm-up, not the route.
    await runLoad(8, 300, (i) => baselineScenario.run(ctx, i));
    const before = await measure(baselineScenario);
    const measured = [];
    for (const scenario of await loadScenarios()) {
      process.stderr.write(`bench: ${scenario.group} / ${scenario.name}\n`);
      measured.push(await measure(scenario));
    }
    const after = await measure(baselineScenario);

    // The baseline is the mean of its two runs, so drift during the run shows in neither alone.
    const baseRps = (before.requestsPerSecond + after.requestsPerSecond) / 2;
    const baseP50 = (before.p50Ms + after.p50Ms) / 2;
    const withRatios = (row: typeof before): BenchRow => ({
      ...row,
      throughputVsBaseline: row.requestsPerSecond / baseRps,
      p50VsBaseline: row.p50Ms / baseP50,
    });
    const baseline = withRatios({
      ...before,
      requestsPerSecond: baseRps,
      p50Ms: baseP50,
      p99Ms: (before.p99Ms + after.p99Ms) / 2,
    });
    const report = { startedAt, node: process.version, baseline, rows: measured.map(withRatios) };
    const markdown = writeReport(join(root, "bench", "results"), report);
    // The costs page is the bench's own output; a partial run (BENCH_ONLY) leaves it alone.
    if (!only) writeCosts(join(root, "docs", "costs.md"), report, join(root, "README.md"));
    console.log(markdown);
    console.log(`baseline before: ${before.requestsPerSecond.toFixed(1)} req/s, after: ${after.requestsPerSecond.toFixed(1)} req/s`);
  } finally {
    commandCounter.close();
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
