import { body, names, type SoakContext } from "./context";
import { countPerWindow, overAdmissions, type Tally } from "./ledger";
import { SEMAPHORE_LIMIT } from "./lock-ops";
import { RATE_POLICIES, type BucketPolicy, type WindowPolicy } from "./rate";
import { bucketBreaches, slidingWindowBreaches } from "./rate-bounds";

/**
 * The invariants of the soak's writes: sums, counts and exclusion compared with the service's
 * state once the load has stopped, and the rate limiter's bounds from its answers. The cache's
 * (L1, proxy, scheduled invalidations, event streams) are in `invariants-cache.ts`.
 */

/** One invariant's verdict, with the figures behind it. */
export interface InvariantResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** Whether `actual` is what was acknowledged, plus at most what may have applied unseen. */
const within = (actual: number, tally: Tally) => actual >= tally.acked && actual <= tally.acked + tally.uncertain;
const describe = (tally: Tally) => (tally.uncertain ? `${tally.acked} (+ up to ${tally.uncertain} unacknowledged)` : String(tally.acked));

/** GETs `path` from the Worker and parses its JSON body (undefined when it is not JSON). */
export async function read<T>(ctx: SoakContext, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T | undefined }> {
  const res = await ctx.call(path, { headers });
  return { status: res.status, body: await body<T>(res) };
}

/** Each member's all-time sum equals the scores acknowledged for it; the board's total too. */
export async function leaderboardSums(ctx: SoakContext): Promise<InvariantResult> {
  const name = "leaderboard sums equal the acknowledged submits";
  // The largest page (100) holds every member the soak submits for (40), and any stray one.
  const { status, body } = await read<{ entries: { member: string; score: number }[] }>(ctx, `/v1/leaderboards/${names.board(ctx)}?limit=100`);
  if (status !== 200 || !body) return { name, ok: false, detail: `reading the board answered ${status}` };
  const stored = new Map(body.entries.map((e) => [e.member, e.score]));
  const wrong: string[] = [];
  const total: Tally = { acked: 0, uncertain: 0 };
  for (const [member, tally] of ctx.ledger.leaderboard) {
    total.acked += tally.acked;
    total.uncertain += tally.uncertain;
    const score = stored.get(member) ?? 0;
    if (!within(score, tally)) wrong.push(`${member}: stored ${score}, acknowledged ${describe(tally)}`);
  }
  for (const member of stored.keys()) if (!ctx.ledger.leaderboard.has(member)) wrong.push(`${member}: stored, never acknowledged`);
  const storedTotal = [...stored.values()].reduce((a, b) => a + b, 0);
  return {
    name,
    ok: wrong.length === 0 && within(storedTotal, total),
    detail: wrong.length ? wrong.slice(0, 5).join("; ") : `${stored.size} members, sum ${storedTotal}, acknowledged ${describe(total)}`,
  };
}

/** Each counter's total over the run's hours equals the increments acknowledged. */
export async function counterTotals(ctx: SoakContext, seconds: number): Promise<InvariantResult> {
  const name = "counters equal the acknowledged increments";
  // Every hour bucket the run touched, and one more for a run that crossed an hour.
  const buckets = Math.ceil(seconds / 3600) + 2;
  const wrong: string[] = [];
  let stored = 0;
  let acked = 0;
  for (const [counter, tally] of ctx.ledger.counters) {
    const { status, body } = await read<{ total: number }>(ctx, `/v1/counters/${counter}?granularity=hour&buckets=${buckets}`);
    if (status !== 200 || !body) return { name, ok: false, detail: `reading ${counter} answered ${status}` };
    stored += body.total;
    acked += tally.acked;
    if (!within(body.total, tally)) wrong.push(`${counter}: counted ${body.total}, acknowledged ${describe(tally)}`);
  }
  return {
    name,
    ok: wrong.length === 0 && ctx.ledger.counters.size > 0,
    detail: wrong.length ? wrong.join("; ") : `${ctx.ledger.counters.size} counters, counted ${stored}, acknowledged ${acked}`,
  };
}

/** No two holders at once, fences growing, and no critical section's write lost. */
export async function lockExclusion(ctx: SoakContext): Promise<InvariantResult> {
  const name = "lock exclusion never broke";
  const { overlaps, fenceRegressions, staleReads } = ctx.ledger;
  const lost: string[] = [];
  let sections = 0;
  for (const [lock, tally] of ctx.ledger.sections) {
    const { status, body } = await read<{ value: { count: number } }>(ctx, `/v1/cache/${names.lockRecord(lock)}`, { "Cache-Control": "no-cache" });
    const count = status === 200 && body ? body.value.count : 0;
    sections += tally.acked;
    if (!within(count, tally)) lost.push(`${lock}: record counts ${count}, sections acknowledged ${describe(tally)}`);
  }
  const ok = overlaps === 0 && fenceRegressions === 0 && staleReads === 0 && lost.length === 0 && sections > 0;
  return {
    name,
    ok,
    detail: `${sections} critical sections on ${ctx.ledger.sections.size} names; overlaps ${overlaps}, fence regressions ${fenceRegressions}, stale reads ${staleReads}` +
      (lost.length ? `; ${lost.join("; ")}` : ", no write lost"),
  };
}

/** Never more than the limit's holders inside at once, as the driver saw them and as the status showed them. */
export function semaphoreLimit(ctx: SoakContext): InvariantResult {
  const name = `semaphores never had more than ${SEMAPHORE_LIMIT} holders`;
  const l = ctx.ledger;
  const peaks = [...l.semaphorePeaks.values()];
  return {
    name,
    ok: l.semaphoreOverflows === 0 && l.semaphoreRepeatedFences === 0 && l.semaphoreBadStatus.length === 0 && l.semaphoreSections > 0,
    detail:
      `${l.semaphoreSections} sections on ${l.semaphorePeaks.size} semaphores, most holders at once ${peaks.length ? Math.max(...peaks) : 0}; ` +
      `over the limit ${l.semaphoreOverflows}, repeated fences ${l.semaphoreRepeatedFences}, status reads out of 1–${SEMAPHORE_LIMIT} ${l.semaphoreBadStatus.length}` +
      (l.semaphoreBadStatus.length ? ` (${l.semaphoreBadStatus.slice(0, 3).join("; ")})` : ""),
  };
}

const admissionsOf = (ctx: SoakContext, policy: string) => ctx.ledger.admissions.filter((a) => a.policy === policy);
const leasedOf = (ctx: SoakContext, policy: string) => admissionsOf(ctx, policy).filter((a) => a.leased).length;
const wrongLimitsOf = (ctx: SoakContext, policy: string) => ctx.ledger.rateWrongLimits.filter((w) => w.startsWith(`${policy} `));

/**
 * Fixed window: an allowed check's `resetMs` is the time to its window's end, so the end is
 * `resetMs` after the decision (taken as the midpoint of sending and receiving, rounded to the
 * window; a lease's `resetMs` counts from the grant, early by at most the grant's round trip).
 * At most `limit` admissions per identifier and window.
 */
function fixedWindow(ctx: SoakContext, p: WindowPolicy): { ok: boolean; detail: string } {
  const admissions = admissionsOf(ctx, p.name);
  const ends = admissions.map((a) => ({ id: a.id, windowEndMs: (a.sentMs + a.receivedMs) / 2 + a.resetMs }));
  const windows = countPerWindow(ends, p.windowMs);
  const over = overAdmissions(ends, p.windowMs, p.limit);
  const ok = over.length === 0 && admissions.length > 0 && wrongLimitsOf(ctx, p.name).length === 0;
  const figures = `${p.name}: ${admissions.length} admitted (${leasedOf(ctx, p.name)} from leases) in ${windows.length} windows of an identifier, ${windows.filter((w) => w.admitted === p.limit).length} reached ${p.limit}`;
  const breaches = over.slice(0, 3).map((w) => `${w.id} admitted ${w.admitted} in the window ending ${new Date(w.windowEndMs).toISOString()}`);
  return { ok, detail: [figures, ...breaches, ...wrongLimitsOf(ctx, p.name).slice(0, 1)].join("; ") };
}

/** Sliding window: at most `limit` decided in each aligned window (see {@link slidingWindowBreaches}). */
function slidingWindow(ctx: SoakContext, p: WindowPolicy): { ok: boolean; detail: string } {
  const admissions = admissionsOf(ctx, p.name);
  const { breaches, straddling, fullWindows } = slidingWindowBreaches(admissions, p.windowMs, p.limit);
  const ok = breaches.length === 0 && admissions.length > 0 && wrongLimitsOf(ctx, p.name).length === 0;
  const figures = `${p.name}: ${admissions.length} admitted (${leasedOf(ctx, p.name)} from leases), ${fullWindows} windows reached ${p.limit}, ${straddling} calls straddled a boundary`;
  const found = breaches.slice(0, 3).map((b) => `${b.id}: ${b.excess} over ${p.limit} in the window from ${new Date(b.windowStartMs).toISOString()}`);
  return { ok, detail: [figures, ...found, ...wrongLimitsOf(ctx, p.name).slice(0, 1)].join("; ") };
}

/** Token bucket: never more taken than the capacity plus the refills since the first check (see {@link bucketBreaches}). */
function tokenBucket(ctx: SoakContext, p: BucketPolicy): { ok: boolean; detail: string } {
  const admissions = admissionsOf(ctx, p.name);
  const { breaches, closest } = bucketBreaches(admissions, (id) => ctx.ledger.rateFirstSent.get(`${p.name}\n${id}`)!, {
    capacity: p.limit,
    refill: p.refill,
    intervalMs: p.intervalMs,
  });
  const ok = breaches.length === 0 && admissions.length > 0 && wrongLimitsOf(ctx, p.name).length === 0;
  const figures = `${p.name}: ${admissions.length} admitted (${leasedOf(ctx, p.name)} from leases), closest to the bound: ${closest ?? "n/a"} tokens to spare`;
  const found = breaches.slice(0, 3).map((b) => `${b.id}: ${b.admitted} admitted by ${new Date(b.atMs).toISOString()}, bound ${b.bound}`);
  return { ok, detail: [figures, ...found, ...wrongLimitsOf(ctx, p.name).slice(0, 1)].join("; ") };
}

/** One invariant per algorithm, over its policies with and without a lease. */
export function rateNeverOverAdmitted(ctx: SoakContext): InvariantResult[] {
  const verdict = (algorithm: string, results: { ok: boolean; detail: string }[]): InvariantResult => ({
    name: `the rate limiter never over-admitted: ${algorithm}`,
    ok: results.length > 0 && results.every((r) => r.ok),
    detail: results.map((r) => r.detail).join(" · "),
  });
  const windowed = (kind: WindowPolicy["algorithm"]) => RATE_POLICIES.filter((p): p is WindowPolicy => p.algorithm === kind);
  const buckets = RATE_POLICIES.filter((p): p is BucketPolicy => p.algorithm === "token-bucket");
  return [
    verdict("fixed window", windowed("fixed-window").map((p) => fixedWindow(ctx, p))),
    verdict("sliding window", windowed("sliding-window").map((p) => slidingWindow(ctx, p))),
    verdict("token bucket", buckets.map((p) => tokenBucket(ctx, p))),
  ];
}
