import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runLoad } from "./load";
import { connectHeapProbe, type HeapProbe } from "./inspector";
import { buildBundle, startMiniflareWorker, type Bundle, type MiniflareWorker } from "./miniflare";
import { rssKiB } from "./soak/memory";
import { workerCall, workerVars } from "./stack";
import { toMarkdown, type RouteResult } from "./memory/report";
import { ROUTES, type Call, type Route } from "./memory/routes";
import { startEndpointProcess, type EndpointProcess } from "../local/endpoint-process";
import { startRedisServer } from "../local/redis-server";

/**
 * `npm run bench:memory`: is workerd's growth under load the Worker's or the runtime's? The
 * production bundle runs under bare Miniflare (no wrangler dev around it), a fresh workerd per
 * route (bench/memory/routes.ts). After a warm-up, each step sends the same number of
 * requests, then reads workerd's resident size (/proc/<pid>/status, Linux only) and, through
 * the V8 inspector, the Worker's JS heap after a garbage collection. Everything the Worker can
 * keep (module state, timers, pending promises, the runtime objects it holds) is in that heap:
 * a leak of ours rises there step after step; growth of the resident size alone is workerd's.
 *
 * `--routes a,b` (default all), `--warmup N` (2000), `--steps N` (5), `--requests N` per step
 * (3000), `--clients N` (8), `--out DIR` (bench/results: memory.json, memory.md).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

async function measure(route: Route, bundle: Bundle, endpoint: EndpointProcess, o: Options): Promise<RouteResult> {
  const apiToken = randomBytes(24).toString("hex");
  const worker = await startMiniflareWorker({
    bundle,
    ...(route.script ? { script: route.script(endpoint) } : {}),
    inspect: true,
    vars: workerVars(endpoint, apiToken, {
      KEY_PREFIX: `mem${randomBytes(4).toString("hex")}`,
      RATE_POLICIES: JSON.stringify({
        // Always allowed: the allowed path is the one that runs the script every time.
        policies: { memory: { algorithm: "fixed-window", limit: 1_000_000_000, window: "10s", failure: "closed" } },
        // As in the soak: the bindings would answer 429 to /health past 100 calls per 10 s.
        middleware: { v1: [], public: [] },
      }),
    }),
  });
  try {
    const heap = await connectHeapProbe(worker.inspectorUrl!);
    try {
      return await runSteps(route, worker, heap, apiToken, o);
    } finally {
      heap.close();
    }
  } finally {
    await worker.dispose();
  }
}

/** The route's setup, its warm-up, then its steps, each followed by the two readings. */
async function runSteps(route: Route, worker: MiniflareWorker, heap: HeapProbe, apiToken: string, o: Options): Promise<RouteResult> {
  const call: Call = workerCall(worker.url, apiToken);
  let unexpected = 0;
  const one = async () => {
    const res = await call(route.path, route.init);
    await res.arrayBuffer();
    if (res.status !== route.expect) unexpected++;
  };
  await route.setup?.(call);
  await runLoad(o.clients, o.warmup, one);
  const rss = () => (worker.pid === null ? null : rssKiB(worker.pid));
  const warmKiB = rss();
  const heapAfterGc = [await heap.usedAfterGc(one)];
  let last = warmKiB;
  const steps: number[] = [];
  for (let s = 0; s < o.steps; s++) {
    await runLoad(o.clients, o.requests, one);
    // Resident size first: the collection below may return memory to the system.
    const now = rss();
    if (now !== null && last !== null) steps.push(((now - last) * 1024) / 1000 / o.requests);
    last = now;
    heapAfterGc.push(await heap.usedAfterGc(one));
    process.stderr.write(`  ${route.name} step ${s + 1}: resident ${now ?? "n/a"} KiB, JS heap after GC ${heapAfterGc.at(-1)} B\n`);
  }
  return { route: route.name, warmKiB, endKiB: last, stepsKBPerRequest: steps, heapAfterGc, unexpected };
}

interface Options {
  routes: string[];
  warmup: number;
  steps: number;
  requests: number;
  clients: number;
  out: string;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      routes: { type: "string" },
      warmup: { type: "string", default: "2000" },
      steps: { type: "string", default: "5" },
      requests: { type: "string", default: "3000" },
      clients: { type: "string", default: "8" },
      out: { type: "string", default: join(root, "bench", "results") },
    },
  });
  const count = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number of at least 1, not ${v}`);
    return n;
  };
  const known = ROUTES.map((r) => r.name);
  const routes = values.routes ? values.routes.split(",") : known;
  for (const r of routes) if (!known.includes(r)) throw new Error(`unknown route ${r}; known: ${known.join(", ")}`);
  return {
    routes,
    warmup: count("warmup", values.warmup),
    steps: count("steps", values.steps),
    requests: count("requests", values.requests),
    clients: count("clients", values.clients),
    out: values.out,
  };
}

async function main(): Promise<void> {
  const o = options();
  process.stderr.write(`memory: building the bundle\n`);
  const results: RouteResult[] = [];
  const bundle = await buildBundle(root);
  try {
    const redis = await startRedisServer();
    try {
      const endpoint = await startEndpointProcess({ redisUrl: redis.url });
      try {
        for (const name of o.routes) {
          process.stderr.write(`memory: ${name}\n`);
          results.push(await measure(ROUTES.find((r) => r.name === name)!, bundle, endpoint, o));
        }
      } finally {
        await endpoint.close();
      }
    } finally {
      await redis.stop();
    }
  } finally {
    bundle.remove();
  }
  const markdown = toMarkdown(results, o);
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, "memory.json"), JSON.stringify({ at: new Date().toISOString(), options: o, results }, null, 2) + "\n");
  writeFileSync(join(o.out, "memory.md"), markdown);
  console.log(markdown);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
