import { randomBytes } from "node:crypto";
import { startRedisServer, type RedisServerHandle } from "../local/redis-server";
import { freePort } from "../local/ports";
import { startWranglerDev, waitForHttp, type WranglerDev } from "../local/wrangler-dev";

/** What the stack needs of a REST endpoint, however it was started. */
export interface StackEndpoint {
  url: string;
  token: string;
  close(): Promise<void>;
}

/** A private redis-server, a local REST endpoint over it and `wrangler dev` over that. */
export interface Stack<E extends StackEndpoint> {
  redis: RedisServerHandle;
  endpoint: E;
  wrangler: WranglerDev;
  /** The Worker, e.g. http://127.0.0.1:40123 */
  workerUrl: string;
  /** This run's bearer token for /v1/*. */
  apiToken: string;
  /** Calls the Worker: `path` relative to workerUrl, with the bearer token (and JSON content type when there is a body). */
  call(path: string, init?: RequestInit): Promise<Response>;
  /** Stops wrangler, then the endpoint, then Redis. */
  stop(): Promise<void>;
}

/**
 * Starts the stack the way `npm run bench` and `npm run soak` run the service: everything on
 * loopback and on free ports, a fresh API token, and the Worker's variables passed through
 * wrangler's private env file. Resolves once the Worker answers `/health`. Ctrl-C or SIGTERM stops it all.
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
}): Promise<Stack<E>> {
  const redis = await startRedisServer();
  let endpoint: E;
  try {
    endpoint = await opts.endpoint(redis.url);
  } catch (error) {
    await redis.stop();
    throw error;
  }
  const port = await freePort();
  const apiToken = randomBytes(24).toString("hex");
  const wrangler = startWranglerDev({
    root: opts.root,
    port,
    quiet: true,
    testScheduled: opts.testScheduled === true,
    ...(opts.config ? { config: opts.config } : {}),
    vars: {
      ...opts.vars,
      UPSTASH_REDIS_REST_URL: endpoint.url,
      UPSTASH_REDIS_REST_TOKEN: endpoint.token,
      API_TOKEN: apiToken,
    },
  });
  const stop = async () => {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await wrangler.stop();
    await endpoint.close();
    await redis.stop();
  };
  // Ctrl-C or SIGTERM during a run stops what was started: the redis-server would outlive a
  // process killed by a signal.
  const interrupted = () => void stop().then(() => process.exit(130));
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  const workerUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${workerUrl}/health`, 90_000, () => wrangler.child.exitCode === null);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    redis,
    endpoint,
    wrangler,
    workerUrl,
    apiToken,
    stop,
    call: (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set("Authorization", `Bearer ${apiToken}`);
      if (init.body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
      return fetch(`${workerUrl}${path}`, { ...init, headers });
    },
  };
}
