import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readDevVars } from "./dev-vars";
import { startLocalEndpoint, type LocalEndpoint } from "./endpoint";
import { findRedisServerBinary, startRedisServer, type RedisServerHandle } from "./redis-server";
import { startWranglerDev, stopProcessGroup, waitForHttp } from "./wrangler-dev";
import { workerVariableNames } from "./worker-vars";

/**
 * `npm start`: the whole service on one machine, no Docker, no account.
 *
 * 1. Redis: REDIS_URL if set; else a private redis-server (free port, data under
 *    .wrangler/redis, or REDIS_DATA_DIR, so it survives restarts). Skipped when UPSTASH_REDIS_REST_URL is set in
 *    the environment or .dev.vars: the Worker then talks to that database.
 * 2. The local Upstash-compatible REST endpoint in front of it.
 * 3. `wrangler dev` on 127.0.0.1:8787 (PORT to change), with the endpoint's URL and token,
 *    API_TOKEN (generated when unset), and every Worker variable set in this environment.
 * Ctrl-C or SIGTERM stops everything; if wrangler dies, everything stops and the exit is
 * non-zero.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 8787);
const devVars = readDevVars(join(root, ".dev.vars"));
const setting = (name: string) => process.env[name] ?? devVars[name];

let redis: RedisServerHandle | undefined;
let endpoint: LocalEndpoint | undefined;
let wrangler: ChildProcess | undefined;
let stopping = false;

async function stopAll(code: number, reason?: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (reason) console.error(`\n${reason}`);
    if (wrangler) await stopProcessGroup(wrangler);
    await endpoint?.close().catch(() => {});
    await redis?.stop().catch(() => {});
  }
  process.exit(code);
}

process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

async function main() {
  const vars: Record<string, string> = {};
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

  let apiToken = setting("API_TOKEN");
  if (!apiToken) {
    apiToken = randomBytes(24).toString("hex");
    vars.API_TOKEN = apiToken;
  }

  wrangler = startWranglerDev({ root, port, vars, testScheduled: true });
  wrangler.on("exit", (code, signal) => {
    if (!stopping) void stopAll(1, `wrangler dev exited (${signal ?? `code ${code}`}); stopping.`);
  });

  const workerUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${workerUrl}/health`, 60_000, () => wrangler?.exitCode === null);
  console.log(
    [
      "",
      "  Worker:    " + workerUrl,
      "  Docs:      " + `${workerUrl}/docs`,
      "  Health:    " + `${workerUrl}/health`,
      "  API token: " + apiToken + (vars.API_TOKEN ? "  (generated; set API_TOKEN to choose one)" : ""),
      ...(endpoint ? ["  Redis REST endpoint: " + endpoint.url] : []),
      ...(redis ? ["  Redis:     " + `${redis.url} (data in ${redis.dir})`] : []),
      "",
      `  curl -H "Authorization: Bearer ${apiToken}" ${workerUrl}/v1/locks/demo`,
      "",
    ].join("\n"),
  );
}

main().catch((error: unknown) => stopAll(1, `npm start failed: ${error instanceof Error ? error.message : String(error)}`));
