import { body, drain, json, mayHaveApplied, names, pause, pick, sizes, type SoakContext } from "./context";

/** The locks' share of the soak: exclusive locks around a read-modify-write, and semaphores. */

const LOCK_TTL_MS = 30_000;
/** Holders each semaphore admits at once. */
export const SEMAPHORE_LIMIT = 3;

/**
 * Acquire, a critical section, release. The section is a read-modify-write of a record only
 * holders write (a count and the writer's fence): with exclusion, no increment is lost and no
 * holder ever reads a fence as new as its own. The ledger also watches, in this process, that
 * no grant arrives while another holder of the name is inside.
 */
export async function lockCycle(ctx: SoakContext): Promise<void> {
  const name = names.lock(ctx, pick(sizes.LOCK_NAMES));
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

/**
 * A semaphore of {@link SEMAPHORE_LIMIT} places: acquire, read its status from inside (the
 * name must show as held by 1 to the limit's holders), hold it a moment, release. The ledger
 * counts the holders inside at once, which must never exceed the limit.
 */
export async function semaphoreCycle(ctx: SoakContext): Promise<void> {
  const name = names.semaphore(ctx, pick(sizes.SEMAPHORES));
  const path = `/v1/locks/${name}`;
  const acquired = await ctx.recorder.time("semaphore.acquire", [201, 409], () => ctx.call(path, json({ ttlMs: LOCK_TTL_MS, waitMs: 500, limit: SEMAPHORE_LIMIT })));
  if (acquired?.status !== 201) return drain(acquired);
  const grant = await body<{ token: string; fence: number }>(acquired);
  if (!grant) return;
  ctx.ledger.enterShared(name, grant.token, grant.fence, SEMAPHORE_LIMIT);
  const status = await ctx.recorder.time("semaphore.status", [200], () => ctx.call(path));
  if (status?.status === 200) {
    const seen = await body<{ locked: boolean; holders?: number }>(status);
    if (!seen?.locked || seen.holders === undefined || seen.holders < 1 || seen.holders > SEMAPHORE_LIMIT) {
      ctx.ledger.semaphoreBadStatus.push(`${name}: ${JSON.stringify(seen)}`);
    }
  } else {
    await drain(status);
  }
  await pause(5 + pick(20));
  ctx.ledger.leaveShared(name, grant.token);
  await drain(await ctx.recorder.time("semaphore.release", [204], () => ctx.call(path, { method: "DELETE", headers: { "Lock-Token": grant.token } })));
}
