import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runLoad } from "./load";
import { connectHeapProbe } from "./inspector";
import { buildBundle, startMiniflareWorker, type Bundle } from "./miniflare";
import { startEndpointProcess, type EndpointProcess } from "./soak/endpoint-process";
import { rssKiB } from "./soak/memory";
import { startRedisServer } from "../local/redis-server";

/**
 * `npm run bench:memory`: does workerd's memory keep growing per request when the production
 * bundle runs under bare Miniflare (no wrangler dev around it)? For each route, a fresh workerd
 * takes a warm-up, then steps of the same number of requests; after each step its resident
 * size (/proc/<pid>/status, Linux only) is read, and the growth per request of that step is
 * printed. A leak keeps a steady growth step after step; a runtime warming up falls towards 0.
 *
 * `--routes a,b` (default all), `--warmup N` (2000), `--steps N` (5), `--requests N` per step
 * (3000), `--clients N` (8), `--out DIR` (bench/results: memory.json, memory.md).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Route {
  name: string;
  /** Serve this module instead of the bundle: a Worker of no code of ours, for reference. */
  script?: (endpoint: EndpointProcess) => string;
  /** Once, before the warm-up. */
  setup?: (call: Call) => Promise<void>;
  path: string;
  init?: RequestInit;
  expect: number;
}

type Call = (path: string, init?: RequestInit) => Promise<Response>;

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body) });

const ROUTES: Route[] = [
  { name: "baseline", script: () => `export default { fetch: () => new Response("ok") }`, path: "/", expect: 200 },
  {
    name: "baseline-fetch",
    // One subrequest per request, as most of ours make one: the runtime's own cost of a fetch.
    script: (e) => `export default { async fetch() {
      const res = await fetch(${JSON.stringify(e.url)}, { method: "POST", headers: { Authorization: "Bearer ${e.token}" }, body: '["PING"]' });
      return new Response(await res.text());
    } }`,
    path: "/",
    expect: 200,
  },
  { name: "health", path: "/health", expect: 200 },
  { name: "cache-miss", path: "/v1/cache/absent", expect: 404 },
  {
    name: "cache-hit",
    setup: async (call) => void (await call("/v1/cache/present", json("PUT", { value: { a: 1 }, ttl: 3600, tags: ["t"] }))).arrayBuffer(),
    path: "/v1/cache/present",
    expect: 200,
  },
  { name: "counter-hit", path: "/v1/counters/hits", init: json("POST", { by: 1 }), expect: 200 },
  { name: "rate-check", path: "/v1/rate/memory/someone", init: { method: "POST" }, expect: 200 },
  {
    name: "leaderboard-top",
    setup: async (call) => {
      for (let i = 0; i < 20; i++) await (await call("/v1/leaderboards/arena/scores", json("POST", { member: `m${i}`, score: i }))).arrayBuffer();
    },
    path: "/v1/leaderboards/arena?limit=10",
    expect: 200,
  },
];

interface RouteResult {
  route: string;
  warmKiB: number | null;
  endKiB: number | null;
  /** Growth of workerd's resident size per request, each step, in KB (1000 bytes). */
  stepsKBPerRequest: number[];
  /** The Worker's JS heap after a garbage collection: after the warm-up, then after each step, in bytes. */
  heapAfterGc: number[];
  unexpected: number;
}

async function measure(route: Route, bundle: Bundle, endpoint: EndpointProcess, o: Options): Promise<RouteResult> {
  const apiToken = randomBytes(24).toString("hex");
  const worker = await startMiniflareWorker({
    bundle,
    ...(route.script ? { script: route.script(endpoint) } : {}),
    inspect: true,
    vars: {
      UPSTASH_REDIS_REST_URL: endpoint.url,
      UPSTASH_REDIS_REST_TOKEN: endpoint.token,
      API_TOKEN: apiToken,
      KEY_PREFIX: `mem${randomBytes(4).toString("hex")}`,
      RATE_POLICIES: JSON.stringify({
        // Always allowed: the allowed path is the one that runs the script every time.
        policies: { memory: { algorithm: "fixed-window", limit: 1_000_000_000, window: "10s", failure: "closed" } },
        // As in the soak: the bindings would answer 429 to /health past 100 calls per 10 s.
        middleware: { v1: [], public: [] },
      }),
    },
  });
  const heap = await connectHeapProbe(worker.inspectorUrl!);
  try {
    const call: Call = (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set("Authorization", `Bearer ${apiToken}`);
      if (init.body !== undefined) headers.set("Content-Type", "application/json");
      return fetch(`${worker.url}${path}`, { ...init, headers });
    };
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
  } finally {
    heap.close();
    await worker.dispose();
  }
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

function toMarkdown(results: RouteResult[], o: Options): string {
  const mib = (k: number | null) => (k === null ? "n/a" : (k / 1024).toFixed(1));
  const stepHeads = Array.from({ length: o.steps }, (_, i) => `step ${i + 1}`);
  const lines = [
    `# workerd memory per request, bare Miniflare`,
    ``,
    `${o.clients} clients; warm-up ${o.warmup} requests, then ${o.steps} steps of ${o.requests} requests each.`,
    ``,
    `Growth of workerd's resident size per request, per step (KB):`,
    ``,
    `| route | after warm-up (MiB) | ${stepHeads.join(" | ")} | end (MiB) | unexpected answers |`,
    `|---|---:|${stepHeads.map(() => "---:").join("|")}|---:|---:|`,
    ...results.map((r) => `| ${r.route} | ${mib(r.warmKiB)} | ${r.stepsKBPerRequest.map((k) => k.toFixed(1)).join(" | ")} | ${mib(r.endKiB)} | ${r.unexpected} |`),
    ``,
    `The Worker's JS heap after a garbage collection (KiB), and its growth per request from the warm-up to the last step (bytes): what the Worker keeps.`,
    ``,
    `| route | after warm-up | ${stepHeads.join(" | ")} | per request (B) |`,
    `|---|---:|${stepHeads.map(() => "---:").join("|")}|---:|`,
    ...results.map((r) => {
      const perRequest = (r.heapAfterGc.at(-1)! - r.heapAfterGc[0]!) / (o.steps * o.requests);
      return `| ${r.route} | ${r.heapAfterGc.map((b) => (b / 1024).toFixed(0)).join(" | ")} | ${perRequest.toFixed(1)} |`;
    }),
  ];
  return lines.join("\n") + "\n";
}

async function main(): Promise<void> {
  const o = options();
  process.stderr.write(`memory: building the bundle\n`);
  const bundle = await buildBundle(root);
  const redis = await startRedisServer();
  const endpoint = await startEndpointProcess(root, redis.url).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  const results: RouteResult[] = [];
  try {
    for (const name of o.routes) {
      process.stderr.write(`memory: ${name}\n`);
      results.push(await measure(ROUTES.find((r) => r.name === name)!, bundle, endpoint, o));
    }
  } finally {
    await endpoint.close();
    await redis.stop();
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
