import { L1_MAX_STALE_MS } from "./cache-ops";
import type { SoakContext } from "./context";
import type { EventSubscriber } from "./events";
import { read, type InvariantResult } from "./invariants";
import type { AppliedInvalidation } from "./ledger";

/**
 * The cache's invariants: L1 reads within their bound, proxied reads of their own path,
 * scheduled invalidations applied once and on time, and event streams that miss nothing
 * published while they were connected.
 */

/**
 * Slack on the L1 bound for clock granularity: the isolate, Redis and the driver read one
 * machine clock, in whole milliseconds.
 */
const L1_CLOCK_SLACK_MS = 100;

/** When each invalidation of a tag was applied (ms), immediate or scheduled (as a stream saw it). */
function invalidationTimes(ctx: SoakContext, subscribers: readonly EventSubscriber[]): Map<string, number[]> {
  const times = new Map<string, number[]>();
  const add = (tags: readonly string[], atMs: number) => {
    for (const tag of tags) times.set(tag, [...(times.get(tag) ?? []), atMs]);
  };
  for (const a of ctx.ledger.applied) add(a.tags, Date.parse(a.at));
  const { at } = sightings(subscribers);
  for (const s of ctx.ledger.scheduled) if (at.has(s.id)) add(s.tags, at.get(s.id)!);
  return times;
}

/**
 * Every L1 read answered 200 with a version, none older than the bound allows, none newer than
 * written, and none from the isolate's memory past the bound after its tag was invalidated.
 *
 * A copy is served only while Redis confirmed it no longer than `max-stale` ago, by a read
 * sent (isolate clock, which never runs ahead) before the change that outdated it:
 * - a read sent more than `max-stale` after a write's acknowledgement returns that write's
 *   version or a later one (each key has one writer at a time, so versions reach Redis in order);
 * - a read sent more than `max-stale` after a (soft) invalidation of the key's tag is not
 *   answered from memory (`HIT-L1`), unless a write of the key may have landed after the
 *   invalidation (the entry is then fresh again): only fresh entries are kept as copies, and an
 *   invalidation applied by the cron, which no isolate's copies hear of, is a change made
 *   elsewhere.
 */
export function l1Reads(ctx: SoakContext, subscribers: readonly EventSubscriber[]): InvariantResult {
  const name = "L1 reads always answered, never staler than max-stale";
  const { hotReads, hotWrites, hotUnreadable } = ctx.ledger;
  const bound = L1_MAX_STALE_MS + L1_CLOCK_SLACK_MS;
  const errors = ctx.recorder.errorsOf("cache.get-l1");
  const invalidated = invalidationTimes(ctx, subscribers);
  const stale: string[] = [];
  let phantom = 0;
  let behind = 0;
  let afterInvalidation = 0;
  for (const r of hotReads) {
    const writes = hotWrites.get(r.key) ?? [];
    const floor = Math.max(-1, ...writes.filter((w) => w.ackedMs !== null && w.ackedMs + bound < r.sentMs).map((w) => w.version));
    const ceiling = Math.max(-1, ...writes.filter((w) => w.sentMs <= r.receivedMs).map((w) => w.version));
    const newestAcked = [...writes].reverse().find((w) => w.ackedMs !== null && w.ackedMs < r.sentMs);
    if (r.version < floor) stale.push(`${r.key}: read v${r.version} sent ${new Date(r.sentMs).toISOString()}, v${floor} acknowledged over ${L1_MAX_STALE_MS} ms before`);
    if (r.version > ceiling) phantom++;
    if (newestAcked && r.version < newestAcked.version) behind++;
    if (!r.fromL1) continue;
    // The latest invalidation of its tag that the bound has passed; a later write may have refreshed the entry.
    const last = Math.max(-Infinity, ...(invalidated.get(r.tag) ?? []).filter((t) => t + bound < r.sentMs));
    const refreshed = writes.some((w) => w.sentMs < r.receivedMs && (w.ackedMs === null || w.ackedMs > last));
    if (last > -Infinity && !refreshed) {
      afterInvalidation++;
      stale.push(`${r.key}: HIT-L1 sent ${r.sentMs - last} ms after its tag was invalidated, no write since`);
    }
  }
  const fromL1 = hotReads.filter((r) => r.fromL1).length;
  const writes = [...hotWrites.values()].reduce((n, w) => n + w.length - 1, 0);
  const invalidations = [...invalidated.entries()].filter(([tag]) => tag.includes("-hot-tag-")).reduce((n, [, t]) => n + t.length, 0);
  return {
    name,
    ok: errors === 0 && hotUnreadable === 0 && stale.length === 0 && phantom === 0 && fromL1 > 0,
    detail:
      `${hotReads.length} reads with max-stale=${L1_MAX_STALE_MS / 1000} (${fromL1} from the isolate's memory) of ${hotWrites.size} keys, ${writes} writes, ${invalidations} soft invalidations; ` +
      `failed ${errors}, unreadable ${hotUnreadable}, older than the bound ${stale.length - afterInvalidation}, from memory past the bound after an invalidation ${afterInvalidation}, newer than written ${phantom}; ` +
      `${behind} read an older version than the last acknowledged (allowed within the bound)` +
      (stale.length ? `; ${stale.slice(0, 3).join("; ")}` : ""),
  };
}

/** Every proxied read answered 200 with its own path's body and an `X-Cache` verdict. */
export function proxyReads(ctx: SoakContext): InvariantResult {
  const name = "proxy reads always answered with their own path's body";
  const errors = ctx.recorder.errorsOf("proxy.get");
  const { proxyReads: reads, proxyWrong } = ctx.ledger;
  return {
    name,
    ok: errors === 0 && proxyWrong.length === 0 && reads > 0,
    detail: `${reads} proxied reads answered 200, failed ${errors}, wrong body or X-Cache ${proxyWrong.length}` + (proxyWrong.length ? ` (${proxyWrong.slice(0, 3).join("; ")})` : ""),
  };
}

/** When each scheduled id's event was seen (ms, by any subscriber), and how often per subscriber. */
function sightings(subscribers: readonly EventSubscriber[]): { at: Map<string, number>; repeats: number } {
  const at = new Map<string, number>();
  let repeats = 0;
  for (const s of subscribers) {
    const seen = new Set<string>();
    for (const e of s.received) {
      if (!e.id) continue;
      if (seen.has(e.id)) repeats++;
      seen.add(e.id);
      at.set(e.id, e.atMs);
    }
  }
  return { at, repeats };
}

/** The latest a scheduled invalidation due at `atMs` may be applied: when the first successful firing sent after it answered. */
function deadlineOf(ctx: SoakContext, atMs: number): number | null {
  const answers = ctx.ledger.cronFirings.filter((f) => f.ok && f.sentMs >= atMs).map((f) => f.receivedMs);
  return answers.length ? Math.min(...answers) : null;
}

/**
 * Every scheduled invalidation acknowledged (202) was applied once: none is pending after the
 * last firing, none was published twice to one stream, none before its `at`, none after the
 * first firing sent at or after its `at` had answered; and each was published, wherever a
 * stream was watching all the while it could have been.
 */
export async function scheduledApplied(ctx: SoakContext, subscribers: readonly EventSubscriber[]): Promise<InvariantResult> {
  const name = "scheduled invalidations applied once, on time, none lost";
  const { scheduled, scheduledUncertain } = ctx.ledger;
  const pending = await read<{ total: number }>(ctx, "/v1/cache/invalidations?limit=1");
  if (pending.status !== 200 || !pending.body) return { name, ok: false, detail: `listing pending invalidations answered ${pending.status}` };
  const { at, repeats } = sightings(subscribers);
  const early: string[] = [];
  const late: string[] = [];
  let lost = 0;
  let unverifiable = 0;
  for (const item of scheduled) {
    const deadline = deadlineOf(ctx, item.atMs);
    const seen = at.get(item.id);
    if (seen !== undefined) {
      if (seen < item.atMs) early.push(`${item.id} applied at ${new Date(seen).toISOString()}, due ${new Date(item.atMs).toISOString()}`);
      if (deadline !== null && seen > deadline) late.push(`${item.id} applied ${seen - deadline} ms after a firing that should have applied it`);
      continue;
    }
    // Not seen: lost if a stream that wants it watched from before it was due until after its deadline.
    const watched = deadline !== null && subscribers.some((s) => s.wants(item.tags) && s.segments.some((g) => g.startMs !== null && g.endMs !== null && g.startMs < item.atMs && deadline < g.endMs));
    if (watched) lost++;
    else unverifiable++;
  }
  const ok = pending.body.total === 0 && repeats === 0 && early.length === 0 && late.length === 0 && lost === 0 && scheduled.length > 0;
  return {
    name,
    ok,
    detail:
      `${scheduled.length} scheduled (+ ${scheduledUncertain} unacknowledged), ${ctx.ledger.cronFirings.length} firings; ` +
      `pending at the end ${pending.body.total}, published twice ${repeats}, early ${early.length}, late ${late.length}, unpublished while watched ${lost}` +
      (unverifiable ? `, ${unverifiable} applied while no stream watched` : "") +
      ([...early, ...late].length ? `; ${[...early, ...late].slice(0, 3).join("; ")}` : ""),
  };
}

const eventKey = (e: AppliedInvalidation) => `${e.mode}|${[...e.tags].sort().join(",")}|${[...e.keys].sort().join(",")}|${e.at}`;

/**
 * Each stream received every invalidation it passes that was published strictly inside one of
 * its connections' watch (after the first event that connection received, before the closing
 * probe or its last event), and no malformed frame. Immediate invalidations are matched by
 * their answer (tags, keys, mode and `at`, which is the published event); scheduled ones by id,
 * over the span in which they could have been applied when no stream saw them.
 */
export function eventStreams(ctx: SoakContext, subscribers: readonly EventSubscriber[]): InvariantResult {
  const name = "event streams received every invalidation made while connected, no malformed frame";
  const { at: scheduledAt } = sightings(subscribers);
  const expected = [
    ...ctx.ledger.applied.map((a) => ({ key: eventKey(a), id: undefined, tags: a.tags, from: Date.parse(a.at), to: Date.parse(a.at) })),
    ...ctx.ledger.scheduled.map((s) => {
      const seen = scheduledAt.get(s.id);
      return { key: undefined, id: s.id, tags: s.tags, from: seen ?? s.atMs, to: seen ?? deadlineOf(ctx, s.atMs) ?? Infinity };
    }),
  ];
  const parts: string[] = [];
  let ok = true;
  let requiredInAll = 0;
  for (const s of subscribers) {
    const received = new Map<string, number>();
    const ids = new Set<string>();
    for (const e of s.received) {
      if (e.id) ids.add(e.id);
      else received.set(eventKey(e), (received.get(eventKey(e)) ?? 0) + 1);
    }
    let required = 0;
    let missing = 0;
    const missed: string[] = [];
    for (const e of expected) {
      if (!s.wants(e.tags)) continue;
      if (!s.segments.some((g) => g.startMs !== null && g.endMs !== null && g.startMs < e.from && e.to < g.endMs)) continue;
      required++;
      const there = e.id !== undefined ? ids.has(e.id) : (received.get(e.key!) ?? 0) > 0;
      if (there && e.key !== undefined) received.set(e.key, received.get(e.key)! - 1);
      if (!there) {
        missing++;
        if (missed.length < 3) missed.push(e.id ?? e.key!);
      }
    }
    const total = s.received.length;
    requiredInAll += required;
    ok &&= missing === 0 && s.malformedCount === 0 && total > 0;
    parts.push(
      `${s.label}: ${total} events (${required} required, ${missing} missing), ${s.comments} comments, ${s.reconnects} reconnects, ${s.malformedCount} malformed` +
        (missed.length ? ` (missing ${missed.join(", ")})` : "") +
        (s.malformed.length ? ` (${s.malformed.slice(0, 2).join("; ")})` : ""),
    );
  }
  return { name, ok: ok && requiredInAll > 0, detail: parts.join(" · ") };
}
