/**
 * The rate limiter's bounds, checked from the answers alone: pure functions of what the
 * clients were told, with no I/O. Each takes the one bound its algorithm promises
 * (docs/rate-limiting.md, "Algorithms") and only reports a breach that the answers prove,
 * whatever the order in which Redis really decided within each call's round trip.
 */

/** An admission as the client saw it: Redis (or the isolate's lease) decided between sending and receiving. */
export interface TimedAdmission {
  id: string;
  sentMs: number;
  receivedMs: number;
}

/** Admissions that could not all fit under the limit in one aligned window. */
export interface WindowBreach {
  id: string;
  windowStartMs: number;
  /** Admissions that no assignment to their possible windows could place under the limit. */
  excess: number;
}

/**
 * Sliding window: whatever the weighted estimate, the current aligned window's own count
 * never exceeds `limit` (the estimate is never below it), so at most `limit` admissions are
 * decided in each window `[k × windowMs, (k + 1) × windowMs)` of Redis time. Leased units are
 * counted in the window that granted them and admitted in that window, at least 1 s before
 * its end, so the bound holds for leased admissions too.
 *
 * A call's decision lies somewhere in `[sentMs, receivedMs]`, so it belongs to one of the
 * windows that span covers (almost always one; two when the call straddled a boundary). A
 * breach is reported only when no choice of windows for the straddling calls keeps every
 * window at or under `limit`: windows are taken in order, each filled with the calls whose
 * latest possible window comes first (earliest deadline first, which finds a placement
 * whenever one exists).
 * @returns the breaches, the calls that straddled a boundary, and the windows that reached the limit
 */
export function slidingWindowBreaches(admissions: readonly TimedAdmission[], windowMs: number, limit: number): { breaches: WindowBreach[]; straddling: number; fullWindows: number } {
  const breaches: WindowBreach[] = [];
  let straddling = 0;
  let fullWindows = 0;
  for (const [id, calls] of byId(admissions)) {
    const spans = calls
      .map((c) => ({ first: Math.floor(c.sentMs / windowMs), last: Math.floor(c.receivedMs / windowMs) }))
      .sort((a, b) => a.first - b.first);
    straddling += spans.filter((s) => s.last > s.first).length;
    let pool: { first: number; last: number }[] = [];
    let next = 0;
    let window = spans[0]?.first ?? 0;
    while (next < spans.length || pool.length > 0) {
      if (pool.length === 0) window = Math.max(window, spans[next]!.first);
      while (next < spans.length && spans[next]!.first <= window) pool.push(spans[next++]!);
      pool.sort((a, b) => a.last - b.last);
      const placed = Math.min(limit, pool.length);
      if (placed === limit) fullWindows++;
      pool = pool.slice(placed);
      const unplaceable = pool.filter((s) => s.last <= window).length;
      if (unplaceable > 0) breaches.push({ id, windowStartMs: window * windowMs, excess: unplaceable });
      pool = pool.filter((s) => s.last > window);
      window++;
    }
  }
  return { breaches, straddling, fullWindows };
}

/** An admission past what the bucket could ever have held by then. */
export interface BucketBreach {
  id: string;
  atMs: number;
  admitted: number;
  bound: number;
}

/**
 * Token bucket: a bucket starts full (`capacity`) at its first check and gains `refill` tokens
 * per whole `intervalMs` after that (a full bucket's refill clock restarts, and a key that
 * expired was full: both only lose tokens). So by time T at most
 * `capacity + refill × floor((T − first) / intervalMs)` tokens were ever taken, where `first`
 * is the first check of the identifier; leased tokens are taken in Redis when granted, before
 * they are admitted. Checked at each admission's answer (the latest its tokens were taken),
 * counting from the first check's sending (no later than the bucket's start): a bound that
 * only errs loose. Tight while the callers ask faster than the bucket refills.
 * @param firstSentMs the earliest sending of any check of `id`
 * @returns the breaches, and the closest any identifier came to its bound (tokens to spare)
 */
export function bucketBreaches(
  admissions: readonly TimedAdmission[],
  firstSentMs: (id: string) => number,
  bucket: { capacity: number; refill: number; intervalMs: number },
): { breaches: BucketBreach[]; closest: number | null } {
  const breaches: BucketBreach[] = [];
  let closest: number | null = null;
  for (const [id, calls] of byId(admissions)) {
    const first = firstSentMs(id);
    const sorted = [...calls].sort((a, b) => a.receivedMs - b.receivedMs);
    sorted.forEach((call, i) => {
      const bound = bucket.capacity + bucket.refill * Math.floor((call.receivedMs - first) / bucket.intervalMs);
      const admitted = i + 1;
      closest = closest === null ? bound - admitted : Math.min(closest, bound - admitted);
      if (admitted > bound) breaches.push({ id, atMs: call.receivedMs, admitted, bound });
    });
  }
  return { breaches, closest };
}

function byId<T extends { id: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.id);
    if (group) group.push(item);
    else groups.set(item.id, [item]);
  }
  return groups;
}
