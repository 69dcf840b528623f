import type { Ledger } from "./ledger";
import type { Recorder } from "./recorder";

/**
 * The soak's mixed load: every feature at once, over the HTTP API, with names unique to the
 * run. Each client loop picks operations by weight; every answer is recorded, and every write
 * the service acknowledged goes to the ledger that the invariants check at the end.
 */
export interface SoakContext {
  runId: string;
  call(path: string, init?: RequestInit): Promise<Response>;
  recorder: Recorder;
  ledger: Ledger;
}

/** The fixed-window policy the rate checks spend from (passed to the Worker in RATE_POLICIES). */
export const RATE_POLICY = { name: "soak", limit: 25, windowMs: 10_000 } as const;

const CACHE_KEYS = 100;
const CACHE_TAGS = 8;
const RATE_IDS = 4;
const COUNTERS = 4;
const MEMBERS = 40;
const LOCK_NAMES = 4;
const LOCK_TTL_MS = 30_000;
const SUBMIT_ATTEMPTS = 4;

export const names = {
  cacheKey: (ctx: SoakContext, k: number) => `${ctx.runId}-item-${k}`,
  cacheTag: (ctx: SoakContext, k: number) => `${ctx.runId}-tag-${k % CACHE_TAGS}`,
  rateId: (ctx: SoakContext, k: number) => `${ctx.runId}-caller-${k % RATE_IDS}`,
  counter: (ctx: SoakContext, k: number) => `${ctx.runId}-counter-${k % COUNTERS}`,
  board: (ctx: SoakContext) => `${ctx.runId}-board`,
  member: (k: number) => `player-${k % MEMBERS}`,
  lock: (ctx: SoakContext, k: number) => `${ctx.runId}-lock-${k % LOCK_NAMES}`,
  /** The record only holders of `lock` write: a count of sections and the last writer's fence. */
  lockRecord: (lock: string) => `${lock}-record`,
};

const json = (body: unknown): RequestInit => ({ method: "POST", body: JSON.stringify(body) });
const pick = (n: number) => Math.floor(Math.random() * n);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads and drops a body, so the connection goes back to the pool. */
async function drain(res: Response | null): Promise<void> {
  await res?.arrayBuffer().catch(() => undefined);
}

/** Reads a JSON body, or undefined when it is not JSON or the connection broke. */
async function body<T>(res: Response): Promise<T | undefined> {
  try {
    return (await res.json()) as T;
  } catch {
    return undefined;
  }
}

/** A write whose answer was lost, or a 5xx, may have applied; a 4xx changed nothing. */
const mayHaveApplied = (res: Response | null) => res === null || res.status >= 500;

async function cacheGet(ctx: SoakContext): Promise<void> {
  await drain(await ctx.recorder.time("cache.get", [200, 404], () => ctx.call(`/v1/cache/${names.cacheKey(ctx, pick(CACHE_KEYS))}`)));
}

async function cachePut(ctx: SoakContext, i: number): Promise<void> {
  const k = pick(CACHE_KEYS);
  const put = { method: "PUT", body: JSON.stringify({ value: { k, i }, ttl: 300, tags: [names.cacheTag(ctx, k)] }) };
  await drain(await ctx.recorder.time("cache.put", [200, 201], () => ctx.call(`/v1/cache/${names.cacheKey(ctx, k)}`, put)));
}

async function cacheInvalidate(ctx: SoakContext): Promise<void> {
  const request = json({ tags: [names.cacheTag(ctx, pick(CACHE_TAGS))] });
  await drain(await ctx.recorder.time("cache.invalidate", [200], () => ctx.call("/v1/cache/invalidate", request)));
}

async function rateCheck(ctx: SoakContext): Promise<void> {
  const id = names.rateId(ctx, pick(RATE_IDS));
  const sent = Date.now();
  const res = await ctx.recorder.time("rate.check", [200], () => ctx.call(`/v1/rate/${RATE_POLICY.name}/${id}`, { method: "POST" }));
  if (res?.status !== 200) return drain(res);
  const answer = await body<{ allowed: boolean; resetMs: number }>(res);
  // The window's end is resetMs after Redis decided, somewhere between sending and receiving.
  if (answer?.allowed) ctx.ledger.admissions.push({ id, windowEndMs: (sent + Date.now()) / 2 + answer.resetMs });
}

async function counterHit(ctx: SoakContext, i: number): Promise<void> {
  const name = names.counter(ctx, pick(COUNTERS));
  const by = 1 + (i % 5);
  const res = await ctx.recorder.time("counter.hit", [200], () => ctx.call(`/v1/counters/${name}`, json({ by })));
  await drain(res);
  if (res?.status === 200) ctx.ledger.add(ctx.ledger.counters, name, by, "acked");
  else if (mayHaveApplied(res)) ctx.ledger.add(ctx.ledger.counters, name, by, "uncertain");
}

/** A `sum` submit with an idempotency key, resent with the same key until it is acknowledged. */
async function leaderboardSubmit(ctx: SoakContext, i: number): Promise<void> {
  const member = names.member(pick(MEMBERS));
  const score = 1 + (i % 9);
  const request = json({ member, score, mode: "sum", idempotencyKey: `${ctx.runId}-submit-${i}` });
  let unknown = false;
  for (let attempt = 0; attempt < SUBMIT_ATTEMPTS; attempt++) {
    const res = await ctx.recorder.time("leaderboard.submit", [200], () => ctx.call(`/v1/leaderboards/${names.board(ctx)}/scores`, request));
    await drain(res);
    if (res?.status === 200) return ctx.ledger.add(ctx.ledger.leaderboard, member, score, "acked");
    if (!mayHaveApplied(res)) break;
    unknown = true;
    await pause(50 * (attempt + 1));
  }
  if (unknown) ctx.ledger.add(ctx.ledger.leaderboard, member, score, "uncertain");
}

async function leaderboardTop(ctx: SoakContext): Promise<void> {
  await drain(await ctx.recorder.time("leaderboard.top", [200], () => ctx.call(`/v1/leaderboards/${names.board(ctx)}?limit=10`)));
}

async function leaderboardMember(ctx: SoakContext): Promise<void> {
  const path = `/v1/leaderboards/${names.board(ctx)}/members/${names.member(pick(MEMBERS))}?around=2`;
  // 404 until the member's first submit lands.
  await drain(await ctx.recorder.time("leaderboard.member", [200, 404], () => ctx.call(path)));
}

/**
 * Acquire, a critical section, release. The section is a read-modify-write of a record only
 * holders write (a count and the writer's fence): with exclusion, no increment is lost and no
 * holder ever reads a fence as new as its own. The ledger also watches, in this process, that
 * no grant arrives while another holder of the name is inside.
 */
async function lockCycle(ctx: SoakContext): Promise<void> {
  const name = names.lock(ctx, pick(LOCK_NAMES));
  const acquired = await ctx.recorder.time("lock.acquire", [201, 409], () => ctx.call(`/v1/locks/${name}`, json({ ttlMs: LOCK_TTL_MS, waitMs: 500 })));
  if (acquired?.status !== 201) return drain(acquired);
  const grant = await body<{ token: string; fence: number }>(acquired);
  if (!grant) return;
  ctx.ledger.enter(name, grant.token, grant.fence);
  const recordPath = `/v1/cache/${names.lockRecord(name)}`;
  const read = await ctx.recorder.time("lock.section-read", [200, 404], () => ctx.call(recordPath, { headers: { "Cache-Control": "no-cache" } }));
  if (read?.status === 200 || read?.status === 404) {
    const stored = read.status === 200 ? (await body<{ value: { count: number; fence: number } }>(read))?.value : { count: 0, fence: 0 };
    if (stored) {
      if (stored.fence >= grant.fence) ctx.ledger.staleReads++;
      const write = { method: "PUT", body: JSON.stringify({ value: { count: stored.count + 1, fence: grant.fence }, ttl: 3600 }) };
      const written = await ctx.recorder.time("lock.section-write", [200, 201], () => ctx.call(recordPath, write));
      await drain(written);
      if (written?.status === 200 || written?.status === 201) ctx.ledger.add(ctx.ledger.sections, name, 1, "acked");
      else if (mayHaveApplied(written)) ctx.ledger.add(ctx.ledger.sections, name, 1, "uncertain");
    }
  } else {
    await drain(read);
  }
  ctx.ledger.leave(name, grant.token);
  await drain(await ctx.recorder.time("lock.release", [204], () => ctx.call(`/v1/locks/${name}`, { method: "DELETE", headers: { "Lock-Token": grant.token } })));
}

/** Each operation and its share of the load (weights, out of their sum). */
const MIX: readonly { operations: readonly string[]; weight: number; run: (ctx: SoakContext, i: number) => Promise<void> }[] = [
  { operations: ["cache.get"], weight: 20, run: cacheGet },
  { operations: ["cache.put"], weight: 8, run: cachePut },
  { operations: ["cache.invalidate"], weight: 2, run: cacheInvalidate },
  { operations: ["rate.check"], weight: 15, run: rateCheck },
  { operations: ["counter.hit"], weight: 15, run: counterHit },
  { operations: ["leaderboard.submit"], weight: 12, run: leaderboardSubmit },
  { operations: ["leaderboard.top"], weight: 6, run: leaderboardTop },
  { operations: ["leaderboard.member"], weight: 4, run: leaderboardMember },
  { operations: ["lock.acquire", "lock.section-read", "lock.section-write", "lock.release"], weight: 8, run: lockCycle },
];
const TOTAL_WEIGHT = MIX.reduce((sum, entry) => sum + entry.weight, 0);

/** Every operation name the report must show. */
export const OPERATIONS: readonly string[] = MIX.flatMap((entry) => entry.operations);

/**
 * Step `i` of the load: the first steps take each operation once, in order, so that even a
 * short or slow run reports every one; then operations are picked by weight.
 */
export function step(ctx: SoakContext, i: number): Promise<void> {
  if (i < MIX.length) return MIX[i]!.run(ctx, i);
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const entry of MIX) {
    roll -= entry.weight;
    if (roll < 0) return entry.run(ctx, i);
  }
  return MIX[0]!.run(ctx, i);
}
