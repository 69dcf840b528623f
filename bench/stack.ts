import { randomBytes } from "node:crypto";
import { processesInGroup } from "../local/process-table";
import { startRedisServer, type RedisServerHandle } from "../local/redis-server";
import { freePort } from "../local/ports";
import { startWranglerDev, waitForHttp } from "../local/wrangler-dev";
import { buildBundle, startMiniflareWorker } from "./miniflare";

/** What the stack needs of a REST endpoint, however it was started. */
export interface StackEndpoint {
  url: string;
  token: string;
  close(): Promise<void>;
}

/**
 * What runs the Worker: `wrangler dev`, as `npm start` does, or the bundle `wrangler deploy`
 * would upload, under bare Miniflare (one workerd, none of wrangler dev's proxy around it).
 */
export type WorkerRuntime = "wrangler-dev" | "miniflare";

/** A Worker running, however it was started. */
interface RunningWorker {
  url: string;
  /** The workerd processes that hold it. */
  pids(): number[];
  /** Fires its Cron Trigger `cron` once; a 200 when the scheduled handler succeeded. */
  scheduled(cron: string): Promise<Response>;
  stop(): Promise<void>;
}

/** A private redis-server, a local REST endpoint over it and the Worker over that. */
export interface Stack<E extends StackEndpoint> {
  redis: RedisServerHandle;
  endpoint: E;
  /** The workerd processes running the Worker, for their memory. */
  workerPids(): number[];
  /** The Worker, e.g. http://127.0.0.1:40123 */
  workerUrl: string;
  /** This run's bearer token for /v1/*. */
  apiToken: string;
  /** Calls the Worker: `path` relative to workerUrl, with the bearer token (and JSON content type when there is a body). */
  call(path: string, init?: RequestInit): Promise<Response>;
  /**
   * Fires the Cron Trigger `cron` once, as Cloudflare would (`scheduledTime` now): through
   * wrangler's `/__scheduled` (which needs `testScheduled`), or Miniflare's `scheduled()`.
   * Answers 200 when the Worker's scheduled handler succeeded, 500 when it threw.
   */
  fireCron(cron: string): Promise<Response>;
  /** Stops the Worker, then the endpoint, then Redis. */
  stop(): Promise<void>;
}

/**
 * Starts the stack the way `npm run bench` and `npm run soak` run the service: everything on
 * loopback and on free ports, a fresh API token, and the Worker's variables passed through
 * wrangler's private env file (or Miniflare's bindings). Resolves once the Worker answers
 * `/health`. Ctrl-C or SIGTERM stops it all.
 */
export async function startStack<E extends StackEndpoint>(opts: {
  root: string;
  /** Starts the endpoint over the private Redis (in this process or as a child). */
  endpoint: (redisUrl: string) => Promise<E>;
  /** A wrangler config other than the root's `wrangler.toml`. */
  config?: string;
  /** Worker variables beyond the endpoint's URL and token and the API token. */
  vars?: Record<string, string>;
  /** `wrangler dev --test-scheduled`: crons can be fired by hand (and wrangler does not warn that they never fire). */
  testScheduled?: boolean;
  /** Default `wrangler-dev`. */
  runtime?: WorkerRuntime;
  /** Receives what the Worker prints under bare Miniflare (default: this process's stdout and stderr). */
  onWorkerOutput?: (text: string) => void;
}): Promise<Stack<E>> {
  const runtime = opts.runtime ?? "wrangler-dev";
  const redis = await startRedisServer();
  let endpoint: E;
  try {
    endpoint = await opts.endpoint(redis.url);
  } catch (error) {
    await redis.stop();
    throw error;
  }
  const apiToken = randomBytes(24).toString("hex");
  const vars = workerVars(endpoint, apiToken, opts.vars);
  let worker: RunningWorker | undefined;
  const stop = async () => {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await worker?.stop();
    await endpoint.close();
    await redis.stop();
  };
  // Ctrl-C or SIGTERM during a run stops what was started: the redis-server would outlive a
  // process killed by a signal.
  const interrupted = () => void stop().then(() => process.exit(130));
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    worker = runtime === "miniflare" ? await startBareMiniflare(opts.root, opts.config, vars, opts.onWorkerOutput) : await startWrangler(opts, vars);
  } catch (error) {
    await stop();
    throw error;
  }
  const { url: workerUrl, pids, scheduled } = worker;
  return {
    redis,
    endpoint,
    workerPids: pids,
    workerUrl,
    apiToken,
    stop,
    fireCron: scheduled,
    call: workerCall(workerUrl, apiToken),
  };
}

/**
 * The Worker's variables over `endpoint`, with `apiToken` as its bearer token: `extra`, then
 * the endpoint's URL and token and the API token (which win).
 */
export function workerVars(endpoint: { url: string; token: string }, apiToken: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, UPSTASH_REDIS_REST_URL: endpoint.url, UPSTASH_REDIS_REST_TOKEN: endpoint.token, API_TOKEN: apiToken };
}

/**
 * Calls the Worker at `workerUrl`: `path` relative to it, with `apiToken` as the bearer token,
 * and a JSON content type when there is a body and the caller set none.
 */
export function workerCall(workerUrl: string, apiToken: string): (path: string, init?: RequestInit) => Promise<Response> {
  return (path, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${apiToken}`);
    if (init.body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
    return fetch(`${workerUrl}${path}`, { ...init, headers });
  };
}

/** `wrangler dev` on a free loopback port, once it answers `/health`. */
async function startWrangler(
  opts: { root: string; config?: string; testScheduled?: boolean },
  vars: Record<string, string>,
): Promise<RunningWorker> {
  const port = await freePort();
  const wrangler = startWranglerDev({
    root: opts.root,
    port,
    quiet: true,
    testScheduled: opts.testScheduled === true,
    ...(opts.config ? { config: opts.config } : {}),
    vars,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/health`, 90_000, () => wrangler.child.exitCode === null);
  } catch (error) {
    await wrangler.stop();
    throw error;
  }
  // wrangler runs in a process group of its own (local/wrangler-dev.ts): its workerd are the ones in it.
  const group = wrangler.child.pid;
  return {
    url,
    pids: () => (group === undefined ? [] : processesInGroup(group, "workerd")),
    // wrangler's middleware answers 500 when the scheduled handler throws.
    scheduled: (cron) => fetch(`${url}/__scheduled?cron=${encodeURIComponent(cron)}`),
    stop: () => wrangler.stop(),
  };
}

/** The deploy bundle of `config` under bare Miniflare. Crons do not fire here either. */
async function startBareMiniflare(
  root: string,
  config: string | undefined,
  vars: Record<string, string>,
  onOutput: ((text: string) => void) | undefined,
): Promise<RunningWorker> {
  const bundle = await buildBundle(root, config);
  try {
    const worker = await startMiniflareWorker({ bundle, vars, ...(onOutput ? { onOutput } : {}) });
    return {
      url: worker.url,
      pids: () => (worker.pid === null ? [] : [worker.pid]),
      scheduled: async (cron) => {
        const { outcome } = await (await worker.miniflare.getWorker()).scheduled({ cron, scheduledTime: new Date() });
        return new Response(outcome, { status: outcome === "ok" ? 200 : 500 });
      },
      stop: async () => {
        await worker.dispose();
        bundle.remove();
      },
    };
  } catch (error) {
    bundle.remove();
    throw error;
  }
}
