import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Redis from "ioredis";
import { runFor } from "./load";
import { startStack } from "./stack";
import { startEndpointProcess } from "./soak/endpoint-process";
import { checkInvariants } from "./soak/invariants";
import { Ledger } from "./soak/ledger";
import { sampleMemory, type MemorySample } from "./soak/memory";
import { OPERATIONS, RATE_POLICY, step, type SoakContext } from "./soak/mix";
import { parseSoakOptions } from "./soak/options";
import { Recorder } from "./soak/recorder";
import { toMarkdown, type SoakReport, type TimedSample } from "./soak/report";

/**
 * `npm run soak`: the Worker as it runs locally (wrangler dev over the local REST endpoint and a
 * private redis-server, loopback and free ports only) under a bounded mixed load over every
 * feature at once, then invariants that lose nothing. Reports throughput, p50/p99 and errors by
 * status per operation, and memory at the start, peak and end; exits 1 if an invariant broke.
 *
 * `--seconds N` / SOAK_SECONDS (default 60), `--clients N` / SOAK_CLIENTS (default 64),
 * `--runtime miniflare` / SOAK_RUNTIME: the deploy bundle under bare Miniflare instead of
 * wrangler dev (whose proxy grows workerd with every request: docs/soak.md),
 * `--out DIR` / SOAK_OUT (default bench/results): where soak.json and soak.md go.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const MEMORY_SAMPLE_MS = 5_000;
/**
 * workerd grows over its first seconds of load (compiled code, pools): memory after this much
 * load is the reference a leak would grow from, beside the figure before any load.
 */
const WARM_UP_MS = 10_000;

function peakOf(samples: MemorySample[]): MemorySample {
  const max = (field: keyof MemorySample) => {
    const values = samples.map((s) => s[field]).filter((v): v is number => v !== null);
    return values.length ? Math.max(...values) : null;
  };
  return { workerKiB: max("workerKiB"), endpointKiB: max("endpointKiB"), redisUsedKiB: max("redisUsedKiB") };
}

const strip = ({ atMs: _, ...sample }: TimedSample): MemorySample => sample;

async function main(): Promise<number> {
  const options = parseSoakOptions(process.argv.slice(2), process.env, join(root, "bench", "results"));
  const startedAt = new Date().toISOString();
  process.stderr.write(`soak: starting the stack under ${options.runtime} (${options.clients} clients for ${options.seconds} s)\n`);
  const stack = await startStack({
    root,
    runtime: options.runtime,
    endpoint: (redisUrl) => startEndpointProcess(root, redisUrl),
    // The production config declares crons; without this, wrangler warns that they never fire.
    testScheduled: true,
    vars: {
      RATE_POLICIES: JSON.stringify({
        policies: {
          [RATE_POLICY.name]: { algorithm: "fixed-window", limit: RATE_POLICY.limit, window: `${RATE_POLICY.windowMs / 1000}s`, failure: "closed" },
        },
        // The soak measures the features, not the API protection: its binding would answer 429
        // to this one token past 1,000 calls a second, which is its job, not a fault.
        middleware: { v1: [], public: [] },
      }),
    },
  });
  const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: 1 });
  const memory = () => sampleMemory({ workerPids: stack.workerPids(), endpointPid: stack.endpoint.pid, redis });
  try {
    const ctx: SoakContext = {
      runId: `soak-${randomBytes(4).toString("hex")}`,
      call: stack.call,
      recorder: new Recorder(),
      ledger: new Ledger(),
    };
    for (const operation of OPERATIONS) ctx.recorder.declare(operation);

    const start = await memory();
    const loadStarted = performance.now();
    const timeline: TimedSample[] = [{ atMs: 0, ...start }];
    const sampler = setInterval(() => {
      void memory().then((s) => timeline.push({ atMs: Math.round(performance.now() - loadStarted), ...s }));
    }, MEMORY_SAMPLE_MS);
    process.stderr.write(`soak: load running\n`);
    const load = await runFor(options.clients, options.seconds * 1000, (i) => step(ctx, i)).finally(() => clearInterval(sampler));
    const end = await memory();
    timeline.push({ atMs: Math.round(performance.now() - loadStarted), ...end });
    const warm = timeline.find((s) => s.atMs >= Math.min(WARM_UP_MS, load.durationMs / 2)) ?? timeline.at(-1)!;

    process.stderr.write(`soak: checking invariants\n`);
    const invariants = await checkInvariants(ctx, options.seconds);
    const rows = ctx.recorder.rows(load.durationMs);
    const calls = rows.reduce((sum, r) => sum + r.count, 0);
    const report: SoakReport = {
      startedAt,
      node: process.version,
      seconds: options.seconds,
      clients: options.clients,
      runtime: options.runtime,
      durationMs: load.durationMs,
      operations: calls,
      perSecond: (calls / load.durationMs) * 1000,
      rows,
      memory: { start, warm: strip(warm), peak: peakOf(timeline), end, warmUpMs: warm.atMs, timeline },
      invariants,
      ok: invariants.every((i) => i.ok),
    };
    const markdown = toMarkdown(report);
    mkdirSync(options.outDir, { recursive: true });
    writeFileSync(join(options.outDir, "soak.json"), JSON.stringify(report, null, 2) + "\n");
    writeFileSync(join(options.outDir, "soak.md"), markdown);
    console.log(markdown);
    return report.ok ? 0 : 1;
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
