import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { devBanner } from "./dev-banner";
import { loadOrCreateDevToken, type DevToken } from "./dev-token";
import { readDevVars } from "./dev-vars";
import { cronSettings, fireCronOnWrangler, readCronTriggers, startCronScheduler } from "./crons";
import { startDemoOrigin, type DemoOrigin } from "./demo-origin";
import { startLocalEndpoint, type LocalEndpoint } from "./endpoint";
import { PortInUseError, startFrontProxy, type FrontProxy } from "./front-proxy";
import { freePort } from "./ports";
import { findRedisServerBinary, startRedisServer, type RedisServerHandle } from "./redis-server";
import { startWranglerDev, waitForResponse, type WranglerDev } from "./wrangler-dev";
import { workerVariableNames } from "./worker-vars";

/**
 * `npm start`: the whole service on one machine, no Docker, no account.
 *
 * 0. The public port (127.0.0.1:8787, `PORT` to change) is taken first, so a busy port fails
 *    at once, naming what holds it. A small proxy there guards the Worker (front-proxy.ts).
 * 1. Redis: REDIS_URL if set; else a private, password-protected redis-server (data under
 *    .wrangler/redis, or REDIS_DATA_DIR). Skipped when UPSTASH_REDIS_REST_URL is set in the
 *    environment or .dev.vars: the Worker then talks to that database.
 * 2. The local Upstash-compatible REST endpoint in front of it.
 * 3. `wrangler dev --test-scheduled` on an internal loopback port, with every setting passed
 *    in a private env file: the endpoint's URL and token, API_TOKEN (from the environment,
 *    .dev.vars, or kept in .wrangler/api-token), ORIGIN_URL (a demo origin with DEMO_ORIGIN=1),
 *    every Worker variable set in this environment, and a per-run INSTANCE_ID: the Worker is
 *    ready when /health echoes it.
 * 4. The Cron Triggers of wrangler.toml fire on schedule (LOCAL_CRONS=off to stop that).
 * Ctrl-C or SIGTERM stops everything; if wrangler or redis-server dies, everything stops and
 * the exit is non-zero.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const devVars = readDevVars(join(root, ".dev.vars"));
const setting = (name: string) => process.env[name] ?? devVars[name];

let proxy: FrontProxy | undefined;
let redis: RedisServerHandle | undefined;
let endpoint: LocalEndpoint | undefined;
let origin: DemoOrigin | undefined;
let wrangler: WranglerDev | undefined;
let crons: { stop(): void } | undefined;
let stopping = false;

async function stopAll(code: number, reason?: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (reason) console.error(`\n${reason}`);
    crons?.stop();
    await wrangler?.stop();
    await proxy?.close().catch(() => {});
    await origin?.close().catch(() => {});
    await endpoint?.close().catch(() => {});
    await redis?.stop().catch(() => {});
  }
  process.exit(code);
}

process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

async function main() {
  const port = parsePort(process.env.PORT ?? "8787");
  const cron = cronSettings(process.env);
  const cronExpressions = readCronTriggers(join(root, "wrangler.toml"));

  try {
    proxy = await startFrontProxy(port);
  } catch (error) {
    if (error instanceof PortInUseError) return stopAll(1, error.message);
    throw error;
  }

  // .dev.vars first (wrangler skips it when given an env file), then this environment.
  const vars: Record<string, string> = { ...devVars };
  for (const name of workerVariableNames(join(root, "functions/env.ts"))) {
    const value = process.env[name];
    if (value !== undefined) vars[name] = value;
  }

  if (setting("UPSTASH_REDIS_REST_URL")) {
    console.log(`Using the Upstash database at ${setting("UPSTASH_REDIS_REST_URL")}`);
  } else {
    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      if (!findRedisServerBinary()) {
        return stopAll(
          1,
          "No redis-server found on PATH. Install one (Debian/Ubuntu: sudo apt-get install redis-server;\n" +
            "macOS: brew install redis), or set REDIS_URL=redis://host:port to use a running Redis,\n" +
            "or set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (environment or .dev.vars)\n" +
            "to use an Upstash database.",
        );
      }
      const dir = process.env.REDIS_DATA_DIR ?? join(root, ".wrangler", "redis");
      mkdirSync(dir, { recursive: true });
      redis = await startRedisServer({ dir, persist: true, keepDir: true });
      void redis.exited.then((reason) => {
        if (!stopping) void stopAll(1, `${reason}; stopping.`);
      });
      redisUrl = redis.url;
    }
    endpoint = await startLocalEndpoint({ redisUrl });
    vars.UPSTASH_REDIS_REST_URL = endpoint.url;
    vars.UPSTASH_REDIS_REST_TOKEN = endpoint.token;
  }

  let devToken: DevToken | undefined;
  let apiToken = setting("API_TOKEN");
  if (!apiToken) {
    devToken = loadOrCreateDevToken(process.env.API_TOKEN_FILE ?? join(root, ".wrangler", "api-token"));
    apiToken = vars.API_TOKEN = devToken.token;
  }

  if (!setting("ORIGIN_URL") && isOn(process.env.DEMO_ORIGIN)) {
    origin = await startDemoOrigin();
    vars.ORIGIN_URL = origin.url;
  }

  const instanceId = randomBytes(16).toString("hex");
  vars.INSTANCE_ID = instanceId;
  const internalPort = await freePort();
  wrangler = startWranglerDev({ root, port: internalPort, vars, testScheduled: true });
  wrangler.child.on("exit", (code, signal) => {
    if (!stopping) void stopAll(1, `wrangler dev exited (${signal ?? `code ${code}`}); stopping.`);
  });
  // Ready means this run's Worker answers, not merely that something listens on the port.
  await waitForResponse(
    `http://127.0.0.1:${internalPort}/health`,
    (res) => res.headers.get("x-instance-id") === instanceId,
    90_000,
    () => wrangler?.child.exitCode === null,
  );
  proxy.setUpstream(internalPort);

  if (cron.enabled && cronExpressions.length > 0) {
    crons = startCronScheduler({
      crons: cronExpressions,
      speedup: cron.speedup,
      fire: (expression, time) => fireCronOnWrangler(internalPort, expression, time, (line) => console.log(line)),
    });
  }

  console.log(
    devBanner({
      root,
      workerUrl: `http://127.0.0.1:${port}`,
      apiToken,
      devToken,
      crons: cronExpressions,
      cron,
      originUrl: vars.ORIGIN_URL ?? setting("ORIGIN_URL"),
      demoOrigin: origin !== undefined,
      endpointUrl: endpoint?.url,
      redis: redis ? { port: redis.port, dir: redis.dir } : undefined,
    }),
  );
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`PORT must be a port number (1-65535), got '${value}'`);
  return port;
}

function isOn(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "on", "yes"].includes(value.toLowerCase());
}

main().catch((error: unknown) => stopAll(1, `npm start failed: ${error instanceof Error ? error.message : String(error)}`));
