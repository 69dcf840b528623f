/**
 * Test support: a private redis-server with the local REST endpoint in front of it, and small
 * helpers for talking to the endpoint over raw HTTP.
 */
import { randomBytes } from "node:crypto";
import { startLocalEndpoint, type LocalEndpoint } from "../../local/endpoint";
import { startRedisServer, type RedisServerHandle } from "../../local/redis-server";

/** A running Redis and endpoint, stopped together. */
export interface LocalStack {
  redis: RedisServerHandle;
  endpoint: LocalEndpoint;
  stop(): Promise<void>;
}

/** Starts a private Redis and an endpoint over it. */
export async function startLocalStack(opts: { poolSize?: number; maxStreams?: number } = {}): Promise<LocalStack> {
  const redis = await startRedisServer();
  try {
    const endpoint = await startLocalEndpoint({ redisUrl: redis.url, poolSize: opts.poolSize ?? 4, maxStreams: opts.maxStreams });
    return {
      redis,
      endpoint,
      stop: async () => {
        await endpoint.close();
        await redis.stop();
      },
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}

/** A random key prefix, so tests never see each other's keys. */
export function keyPrefix(): string {
  return `t:${randomBytes(6).toString("hex")}:`;
}

/** Options of {@link rest}. */
export interface RestOptions {
  method?: string;
  /** Sent as JSON unless it is already a string. */
  body?: unknown;
  /** Default: the endpoint's token. null: no Authorization header. */
  token?: string | null;
  base64?: boolean;
  headers?: Record<string, string>;
}

/** One raw HTTP request to the endpoint, with status, parsed JSON body (if any) and headers. */
export async function rest(
  endpoint: LocalEndpoint,
  path: string,
  opts: RestOptions = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? endpoint.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.base64) headers["upstash-encoding"] = "base64";
  const body = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  const res = await fetch(`${endpoint.url}${path}`, { method: opts.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Runs one command over `POST /` and returns its `result`, failing on anything but 200. */
export async function command(endpoint: LocalEndpoint, ...args: Array<string | number>): Promise<any> {
  const res = await rest(endpoint, "/", { body: args });
  if (res.status !== 200) throw new Error(`${args[0]} answered ${res.status}: ${JSON.stringify(res.json)}`);
  return res.json.result;
}
