import { drain, json, mayHaveApplied, names, pause, pick, sizes, type SoakContext } from "./context";

/** Counters and leaderboards: the writes whose sums the invariants compare with Redis's. */

const SUBMIT_ATTEMPTS = 4;

export async function counterHit(ctx: SoakContext, i: number): Promise<void> {
  const name = names.counter(ctx, pick(sizes.COUNTERS));
  const by = 1 + (i % 5);
  const res = await ctx.recorder.time("counter.hit", [200], () => ctx.call(`/v1/counters/${name}`, json({ by })));
  await drain(res);
  if (res?.status === 200) ctx.ledger.add(ctx.ledger.counters, name, by, "acked");
  else if (mayHaveApplied(res)) ctx.ledger.add(ctx.ledger.counters, name, by, "uncertain");
}

/** A `sum` submit with an idempotency key, resent with the same key until it is acknowledged. */
export async function leaderboardSubmit(ctx: SoakContext, i: number): Promise<void> {
  const member = names.member(pick(sizes.MEMBERS));
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

export async function leaderboardTop(ctx: SoakContext): Promise<void> {
  await drain(await ctx.recorder.time("leaderboard.top", [200], () => ctx.call(`/v1/leaderboards/${names.board(ctx)}?limit=10`)));
}

export async function leaderboardMember(ctx: SoakContext): Promise<void> {
  const path = `/v1/leaderboards/${names.board(ctx)}/members/${names.member(pick(sizes.MEMBERS))}?around=2`;
  // 404 until the member's first submit lands.
  await drain(await ctx.recorder.time("leaderboard.member", [200, 404], () => ctx.call(path)));
}
