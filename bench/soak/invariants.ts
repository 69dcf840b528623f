import { overAdmissions, type Tally } from "./ledger";
import { names, RATE_POLICY, type SoakContext } from "./mix";

/** One invariant's verdict, with the figures behind it. */
export interface InvariantResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** Whether `actual` is what was acknowledged, plus at most what may have applied unseen. */
const within = (actual: number, tally: Tally) => actual >= tally.acked && actual <= tally.acked + tally.uncertain;
const describe = (tally: Tally) => (tally.uncertain ? `${tally.acked} (+ up to ${tally.uncertain} unacknowledged)` : String(tally.acked));

async function read<T>(ctx: SoakContext, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T | undefined }> {
  const res = await ctx.call(path, { headers });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as T };
  } catch {
    return { status: res.status, body: undefined };
  }
}

/** Each member's all-time sum equals the scores acknowledged for it; the board's total too. */
async function leaderboardSums(ctx: SoakContext): Promise<InvariantResult> {
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
async function counterTotals(ctx: SoakContext, seconds: number): Promise<InvariantResult> {
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
async function lockExclusion(ctx: SoakContext): Promise<InvariantResult> {
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

/** At most the policy's limit admitted per identifier and window, from the answers alone. */
function rateNeverOverAdmitted(ctx: SoakContext): InvariantResult {
  const name = "the rate limiter never over-admitted";
  const over = overAdmissions(ctx.ledger.admissions, RATE_POLICY.windowMs, RATE_POLICY.limit);
  return {
    name,
    ok: over.length === 0 && ctx.ledger.admissions.length > 0,
    detail: over.length
      ? over.slice(0, 5).map((w) => `${w.id} admitted ${w.admitted} > ${RATE_POLICY.limit} in the window ending ${new Date(w.windowEndMs).toISOString()}`).join("; ")
      : `${ctx.ledger.admissions.length} admissions, at most ${RATE_POLICY.limit} per identifier per ${RATE_POLICY.windowMs / 1000} s window`,
  };
}

/** Checks every invariant against the service's state after the load has stopped. */
export async function checkInvariants(ctx: SoakContext, seconds: number): Promise<InvariantResult[]> {
  return [await leaderboardSums(ctx), await counterTotals(ctx, seconds), await lockExclusion(ctx), rateNeverOverAdmitted(ctx)];
}
