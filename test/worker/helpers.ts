import { env, SELF } from "cloudflare:test";
import type { FaultConfig } from "../../local/faults";
import type { EndpointStats } from "../../local/stats";
import { createRedis, type RedisClient } from "../../shared/redis";

/**
 * Helpers for tests that run inside workerd. They talk to the real Worker (`SELF`), the real
 * local endpoint and the real Redis behind it; nothing is mocked.
 */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise and the function that resolves it: a latch a test opens when it chooses. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A random key/name prefix, so tests never touch data they did not create. */
export function uniqueName(label = "t"): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Calls the Worker with the API token (unless `auth: false`). */
export function api(path: string, init: RequestInit & { auth?: boolean } = {}): Promise<Response> {
  const { auth = true, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (auth) headers.set("Authorization", `Bearer ${env.API_TOKEN}`);
  if (rest.body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  return SELF.fetch(`http://worker.test${path}`, { ...rest, headers });
}

/**
 * A test Redis client whose next script reply is held back while `hook` runs: what happens in
 * `hook` happens after Redis answered and before the caller sees the answer (a slow reply).
 */
export function slowReplies(): { redis: RedisClient; beforeNextReply(hook: () => Promise<void>): void } {
  const redis = testRedis();
  let pending: (() => Promise<void>) | undefined;
  const held = async <T>(reply: Promise<T>): Promise<T> => {
    const answer = await reply;
    const hook = pending;
    pending = undefined;
    if (hook) await hook();
    return answer;
  };
  const slow = Object.create(redis) as RedisClient;
  slow.evalsha = ((...args: Parameters<RedisClient["evalsha"]>) => held(redis.evalsha(...args))) as RedisClient["evalsha"];
  slow.eval = ((...args: Parameters<RedisClient["eval"]>) => held(redis.eval(...args))) as RedisClient["eval"];
  return { redis: slow, beforeNextReply: (hook) => void (pending = hook) };
}

/** A JSON body for `api()`. */
export function json(value: unknown, init: RequestInit = {}): RequestInit {
  return { method: "POST", ...init, body: JSON.stringify(value) };
}

/** A Redis client made by the Worker's own factory, for tests of the core in `shared/`. */
export function testRedis(options: { retries?: number; timeoutMs?: number } = {}): RedisClient {
  return createRedis({
    url: env.UPSTASH_REDIS_REST_URL!,
    token: env.UPSTASH_REDIS_REST_TOKEN!,
    timeoutMs: options.timeoutMs ?? 5000,
    retries: options.retries ?? 0,
  });
}

async function control(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${env.TEST_CONTROL_URL}/__control${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`, "Content-Type": "application/json" },
  });
  if (!res.ok) throw new Error(`control ${path}: ${res.status}`);
  return res;
}

/** The local endpoint's request and command counters. */
export async function endpointStats(): Promise<EndpointStats> {
  return (await control("/stats")).json<EndpointStats>();
}

/** Sets the endpoint's injected faults (replacing any); `clearFaults()` removes them. */
export async function setFaults(faults: FaultConfig): Promise<void> {
  await control("/faults", { method: "PUT", body: JSON.stringify(faults) });
}

export async function clearFaults(): Promise<void> {
  await control("/faults", { method: "DELETE" });
}

/**
 * The endpoint's counters once no command request is in flight (waits up to 2 s), so that a
 * request someone else started earlier cannot add its commands to a count that starts now.
 */
async function quietStats(): Promise<EndpointStats> {
  const deadline = Date.now() + 2000;
  let stats = await endpointStats();
  while (stats.inFlight > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    stats = await endpointStats();
  }
  return stats;
}

/**
 * Runs `fn` and returns how many REST requests and Redis commands it caused at the endpoint
 * (test files run one at a time, so the counters see only this test).
 */
export async function countRoundTrips<T>(fn: () => Promise<T>): Promise<{ result: T; requests: number; commands: number; byCommand: Record<string, number> }> {
  const before = await quietStats();
  const result = await fn();
  const after = await endpointStats();
  const byCommand: Record<string, number> = {};
  for (const [name, n] of Object.entries(after.byCommand)) {
    const delta = n - (before.byCommand[name] ?? 0);
    if (delta > 0) byCommand[name] = delta;
  }
  return {
    result,
    requests: after.requests - before.requests,
    commands: after.commands - before.commands,
    byCommand,
  };
}

/**
 * {@link countRoundTrips} for a cache route over HTTP. After answering, a cache route may hand
 * the isolate's statistics to `waitUntil` (at most once per 5 s per isolate), a request of its
 * own that may or may not land inside the count. A count above `expected` is taken again, at
 * most twice: one flush cannot fail the test, while a route that really costs more fails every
 * attempt.
 */
export async function countCacheRoute<T>(fn: () => Promise<T>, expected: number): ReturnType<typeof countRoundTrips<T>> {
  let counted = await countRoundTrips(fn);
  for (let attempt = 1; attempt < 3 && counted.requests > expected; attempt++) counted = await countRoundTrips(fn);
  return counted;
}
