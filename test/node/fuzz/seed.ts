/**
 * Data written before the fuzzing, through the Worker's own API, and read back after it: a
 * tagged cache entry, a board with two members, a counter and a held lock. The fuzzer aims
 * near these names (case, whitespace, traversal, look-alike characters) but never at them, so
 * any change is a request that reached data it did not name.
 */
import type { FuzzRequest } from "./operations";

/** The seeded names, as the fuzzer's near misses start from them. */
export const SEED = {
  key: "seed:entry",
  tag: "seed-tag",
  board: "seed-board",
  members: ["seed-ada", "seed-bob"],
  counter: "seed-counter",
  lock: "seed-lock",
} as const;

export const SEED_NAMES: readonly string[] = [SEED.key, SEED.tag, SEED.board, ...SEED.members, SEED.counter, SEED.lock];

/** What the seeded data looks like through the API; equal before and after a run. */
export interface SeedSnapshot {
  cache: unknown;
  board: unknown;
  counter: unknown;
  lock: unknown;
}

/** The seeded data, and a way to keep the lock's lease alive through a long run. */
export interface Seeded {
  snapshot(): Promise<SeedSnapshot>;
  /** Renews the lock's lease with its token (the fence stays). */
  keepLock(): Promise<void>;
  /** Renews the lease when the last renewal is a minute old: call it as often as you like. */
  keepLockIfDue(): Promise<void>;
}

const LEASE_MS = 300_000;

/** The seed's client address: one the fuzzer never uses, so no lockout of its making applies here. */
const SEED_CLIENT = "192.0.2.10";

/** Writes the seed through the Worker at `base` with `token`. */
export async function seed(base: string, token: string): Promise<Seeded> {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "CF-Connecting-IP": SEED_CLIENT, ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
    return text ? (JSON.parse(text) as Record<string, any>) : {};
  };
  const key = encodeURIComponent(SEED.key);
  await call("PUT", `/v1/cache/${key}`, { value: { seeded: true, list: [1, "two", null] }, ttl: 86_400, tags: [SEED.tag] });
  await call("POST", `/v1/leaderboards/${SEED.board}/scores`, { member: SEED.members[0], score: 1250.5, name: "Ada" });
  await call("POST", `/v1/leaderboards/${SEED.board}/scores`, { member: SEED.members[1], score: 300 });
  await call("POST", `/v1/counters/${SEED.counter}`, { by: 7 });
  const lease = await call("POST", `/v1/locks/${SEED.lock}`, { ttlMs: LEASE_MS });
  let renewedAt = Date.now();
  const keepLock = async () => {
    await call("POST", `/v1/locks/${SEED.lock}/extend`, { token: lease.token, ttlMs: LEASE_MS });
    renewedAt = Date.now();
  };
  return {
    snapshot: async () => {
      const cache = await call("GET", `/v1/cache/${key}`);
      const board = await call("GET", `/v1/leaderboards/${SEED.board}?period=all-time&limit=10`);
      const counter = await call("GET", `/v1/counters/${SEED.counter}?granularity=hour&buckets=168`);
      const lock = await call("GET", `/v1/locks/${SEED.lock}`);
      return {
        cache: { value: cache.value, tags: cache.tags, stale: cache.stale },
        board: { total: board.total, entries: board.entries },
        counter: counter.total,
        lock: { locked: lock.locked, holders: lock.holders, fence: lock.fence },
      };
    },
    keepLock,
    keepLockIfDue: async () => {
      if (Date.now() - renewedAt > 60_000) await keepLock();
    },
  };
}

/**
 * True when `req` names seeded data exactly, after the URL normalisation every HTTP stack
 * applies (`x/../seed-lock` is `seed-lock`) and percent-decoding, in its path or anywhere in
 * its JSON body. Such a request may rightly change the seed, so the fuzzer skips it.
 */
export function namesSeed(req: FuzzRequest): boolean {
  const names = new Set(SEED_NAMES);
  const path = new URL(req.path, "http://fuzz.test").pathname;
  const segments = path.split("/").map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  if (segments.some((segment) => names.has(segment))) return true;
  if (req.body === undefined) return false;
  let found = false;
  try {
    JSON.parse(req.body, (_key, value: unknown) => {
      if (typeof value === "string" && names.has(value)) found = true;
      return value;
    });
  } catch {
    // not JSON: it names nothing
  }
  return found;
}
