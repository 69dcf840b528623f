import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Redis from "ioredis";
import { startDemoOrigin } from "../local/demo-origin";
import { startEndpointProcess } from "../local/endpoint-process";
import { runFor } from "./load";
import { startStack } from "./stack";
import { hotSetup, SCHEDULE_AHEAD_MS } from "./soak/cache-ops";
import { fireCron, startCronTicker } from "./soak/cron";
import { names, pause } from "./soak/context";
import { EventSubscriber, probe } from "./soak/events";
import { counterTotals, leaderboardSums, lockExclusion, rateNeverOverAdmitted, semaphoreLimit, type InvariantResult } from "./soak/invariants";
import { eventStreams, l1Reads, proxyReads, scheduledApplied } from "./soak/invariants-cache";
import { Ledger } from "./soak/ledger";
import { sampleMemory, type MemorySample } from "./soak/memory";
import { OPERATIONS, step, type SoakContext } from "./soak/mix";
import { parseSoakOptions } from "./soak/options";
import { ratePoliciesSetting } from "./soak/rate";
import { Recorder } from "./soak/recorder";
import { toMarkdown, type SoakReport, type TimedSample } from "./soak/report";

/**
 * `npm run soak`: the Worker as it runs locally (wrangler dev over the local REST endpoint and a
 * private redis-server, with the demo origin behind its proxy; loopback and free ports only)
 * under a bounded mixed load over every feature at once (soak/mix.ts), with two event-stream
 * subscribers and the cron fired by the driver beside it, then invariants that lose nothing.
 * Reports throughput, p50/p99 and errors by status per operation, and memory at the start,
 * peak and end; exits 1 if an invariant broke (docs/soak.md).
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
/** The per-minute cron of the production wrangler.toml: it applies due scheduled invalidations. */
const PER_MINUTE_CRON = "* * * * *";
/** Lines of the Worker's own output (under bare Miniflare) kept, shown when something broke. */
const WORKER_LINES_KEPT = 40;

function peakOf(samples: MemorySample[]): MemorySample {
  const max = (field: keyof MemorySample) => {
    const values = samples.map((s) => s[field]).filter((v): v is number => v !== null);
    return values.length ? Math.max(...values) : null;
  };
  return { workerKiB: max("workerKiB"), endpointKiB: max("endpointKiB"), redisUsedKiB: max("redisUsedKiB") };
}

const strip = ({ atMs: _, ...sample }: TimedSample): MemorySample => sample;

/** Appends `lines` to `kept`, keeping only the last `max`. */
function keepLast(kept: string[], lines: readonly string[], max: number): void {
  kept.push(...lines.slice(-max));
  kept.splice(0, Math.max(0, kept.length - max));
}

async function main(): Promise<number> {
  const options = parseSoakOptions(process.argv.slice(2), process.env, join(root, "bench", "results"));
  const startedAt = new Date().toISOString();
  process.stderr.write(`soak: starting the stack under ${options.runtime} (${options.clients} clients for ${options.seconds} s)\n`);
  // The read-through proxy's origin: the demo origin `DEMO_ORIGIN=1 npm start` runs, on loopback.
  const origin = await startDemoOrigin();
  const workerLines: string[] = [];
  const stack = await startStack({
    root,
    runtime: options.runtime,
    endpoint: (redisUrl) => startEndpointProcess({ redisUrl }),
    // Crons are fired by the driver (soak/cron.ts) through wrangler's /__scheduled.
    testScheduled: true,
    onWorkerOutput: (text) => keepLast(workerLines, text.trimEnd().split("\n"), WORKER_LINES_KEPT),
    vars: {
      ORIGIN_URL: origin.url,
      RATE_POLICIES: JSON.stringify({
        policies: ratePoliciesSetting(),
        // The soak measures the features, not the API protection: its binding would answer 429
        // to this one token past 1,000 calls a second, which is its job, not a fault.
        middleware: { v1: [], public: [] },
      }),
    },
  }).catch(async (error: unknown) => {
    await origin.close();
    throw error;
  });
  const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: 1 });
  const memory = () => sampleMemory({ workerPids: stack.workerPids(), endpointPid: stack.endpoint.pid, redis });
  let subscribers: EventSubscriber[] = [];
  try {
    const ctx: SoakContext = {
      runId: `soak-${randomBytes(4).toString("hex")}`,
      call: stack.call,
      fireCron: () => stack.fireCron(PER_MINUTE_CRON),
      recorder: new Recorder(),
      ledger: new Ledger(),
    };
    for (const operation of OPERATIONS) ctx.recorder.declare(operation);

    // Before the load: the L1 keys exist, and both event streams are known to be live (each
    // received a probe), one for every event and one for two tags of the cache and the probe's.
    await hotSetup(ctx);
    subscribers = [
      new EventSubscriber(ctx, "all events", null),
      new EventSubscriber(ctx, "two tags", [names.cacheTag(ctx, 0), names.cacheTag(ctx, 1), names.probeTag(ctx)]),
    ];
    for (const subscriber of subscribers) subscriber.start();
    if ((await probe(ctx, subscribers, 30_000)) === null) throw new Error("the event streams received no event in 30 s");

    const start = await memory();
    const loadStarted = performance.now();
    const timeline: TimedSample[] = [{ atMs: 0, ...start }];
    const sampler = setInterval(() => {
      void memory().then((s) => timeline.push({ atMs: Math.round(performance.now() - loadStarted), ...s }));
    }, MEMORY_SAMPLE_MS);
    process.stderr.write(`soak: load running\n`);
    const cron = startCronTicker(ctx);
    const load = await runFor(options.clients, options.seconds * 1000, (i) => step(ctx, i)).finally(() => clearInterval(sampler));
    await cron.stop();
    const end = await memory();
    timeline.push({ atMs: Math.round(performance.now() - loadStarted), ...end });
    const warm = timeline.find((s) => s.atMs >= Math.min(WARM_UP_MS, load.durationMs / 2)) ?? timeline.at(-1)!;

    // After the load: every scheduled invalidation is due, one more firing applies them, and a
    // closing probe ends the streams' watch once each has received it.
    process.stderr.write(`soak: settling (last firing, closing probe)\n`);
    await pause(SCHEDULE_AHEAD_MS[1] + 100);
    await fireCron(ctx);
    const closedAt = await probe(ctx, subscribers, 10_000);
    await Promise.all(subscribers.map((s) => s.stop(closedAt)));

    process.stderr.write(`soak: checking invariants\n`);
    const invariants: InvariantResult[] = [
      await leaderboardSums(ctx),
      await counterTotals(ctx, options.seconds),
      await lockExclusion(ctx),
      semaphoreLimit(ctx),
      ...rateNeverOverAdmitted(ctx),
      l1Reads(ctx, subscribers),
      proxyReads(ctx),
      await scheduledApplied(ctx, subscribers),
      eventStreams(ctx, subscribers),
    ];
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
    if (ctx.recorder.samples.length) process.stderr.write(`soak: unexpected answers (the first ${ctx.recorder.samples.length}):\n${ctx.recorder.samples.join("\n")}\n`);
    if ((!report.ok || ctx.recorder.totalErrors() > 0) && workerLines.length) {
      process.stderr.write(`soak: the Worker's last output lines:\n${workerLines.join("\n")}\n`);
    }
    return report.ok ? 0 : 1;
  } finally {
    await Promise.all(subscribers.map((s) => s.stop(null)));
    redis.disconnect();
    await stack.stop();
    await origin.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
