/**
 * `npm run local-endpoint`: runs the local Upstash-compatible REST endpoint until interrupted.
 *
 * Environment:
 * - `REDIS_URL`: the Redis to use. Unset: a private redis-server is started (and stopped on exit).
 * - `UPSTASH_REDIS_REST_TOKEN`: the token clients must send. Unset: a random one.
 * - `LOCAL_ENDPOINT_PORT`: the port on 127.0.0.1. Unset: a free one.
 *
 * The first two lines on stdout are the settings to hand to a client, in `.env` form, so a
 * script can read them; everything else goes to stderr:
 *
 *     UPSTASH_REDIS_REST_URL=http://127.0.0.1:<port>
 *     UPSTASH_REDIS_REST_TOKEN=<token>
 */
import { startLocalEndpoint, type LocalEndpoint } from "./endpoint";
import { startRedisServer, type RedisServerHandle } from "./redis-server";

let redisServer: RedisServerHandle | undefined;
let endpoint: LocalEndpoint | undefined;
let stopping = false;

// Installed before anything starts: a signal that arrives right after the settings lines are
// printed (a script that read them and is done) must still stop the private redis-server.
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${signal}: stopping\n`);
  await endpoint?.close();
  await redisServer?.stop();
  process.exit(0);
}
process.on("SIGINT", (signal) => void stop(signal));
process.on("SIGTERM", (signal) => void stop(signal));

async function main(): Promise<void> {
  const port = parsePort(process.env.LOCAL_ENDPOINT_PORT);
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    redisServer = await startRedisServer();
    redisUrl = redisServer.url;
    process.stderr.write(`started a private redis-server at redis://127.0.0.1:${redisServer.port} (password-protected)\n`);
  }

  try {
    endpoint = await startLocalEndpoint({ redisUrl, port, token: process.env.UPSTASH_REDIS_REST_TOKEN || undefined });
  } catch (error) {
    await redisServer?.stop();
    throw error;
  }
  process.stdout.write(`UPSTASH_REDIS_REST_URL=${endpoint.url}\nUPSTASH_REDIS_REST_TOKEN=${endpoint.token}\n`);
  process.stderr.write(`local endpoint ready (stop with Ctrl-C)\n`);
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`LOCAL_ENDPOINT_PORT must be a port number, got '${value}'`);
  }
  return port;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
