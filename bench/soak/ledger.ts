/**
 * What the soak's clients were told, kept as they were told it: the acknowledged writes that
 * the invariants compare with Redis's state at the end, what the lock and semaphore holders
 * saw inside their sections, every admission of the rate limiter, the L1 reads and the
 * invalidations made. Pure bookkeeping; no I/O. Times are `Date.now()` ms: the driver, Redis
 * and the Worker share the machine's clock.
 */

/** An amount acknowledged, and an amount sent whose outcome is unknown (no answer, or a 5xx). */
export interface Tally {
  acked: number;
  uncertain: number;
}

/** One lock name, as its holders saw it. */
interface LockState {
  holder: string | null;
  lastFence: number;
}

/** One admission by a fixed-window policy: which identifier, and the window it fell in. */
export interface Admission {
  id: string;
  /** The window's end in ms since the epoch (Redis time), as estimated from the answer. */
  windowEndMs: number;
}

/** One allowed rate check, as answered: when it was sent and answered, and its `resetMs`. */
export interface RateAdmission {
  policy: string;
  id: string;
  sentMs: number;
  receivedMs: number;
  resetMs: number;
  /** Admitted from the isolate's lease (`source: "lease"`), with no request to Redis. */
  leased: boolean;
}

/** A write of a version to an L1 key; `ackedMs` null when its answer was lost (or a 5xx). */
export interface HotWrite {
  version: number;
  sentMs: number;
  ackedMs: number | null;
}

/** A read of an L1 key with `max-stale`: the version it returned, and where from. */
export interface HotRead {
  key: string;
  /** The key's tag, which invalidations (always soft) may touch. */
  tag: string;
  version: number;
  sentMs: number;
  receivedMs: number;
  /** `X-Cache: HIT-L1`: answered from the isolate's memory. */
  fromL1: boolean;
}

/** An invalidation the service acknowledged as applied (its answer is the event it published). */
export interface AppliedInvalidation {
  tags: string[];
  keys: string[];
  mode: string;
  at: string;
}

/** An invalidation the service acknowledged as scheduled (202). */
export interface ScheduledInvalidation {
  id: string;
  tags: string[];
  atMs: number;
}

/** One firing of the cron, as the driver saw it. */
export interface CronFiring {
  sentMs: number;
  receivedMs: number;
  ok: boolean;
}

export class Ledger {
  readonly counters = new Map<string, Tally>();
  readonly leaderboard = new Map<string, Tally>();
  /** Critical sections per lock name whose write was acknowledged (or not known). */
  readonly sections = new Map<string, Tally>();
  /** Every allowed rate check, of every policy. */
  readonly admissions: RateAdmission[] = [];
  /** The first check sent per policy and identifier (allowed or not): no bucket is older. */
  readonly rateFirstSent = new Map<string, number>();
  /** Answers whose `limit` was not the policy's: the checks would be measuring something else. */
  readonly rateWrongLimits: string[] = [];
  /** A grant arrived while another holder of the same name was still inside its section. */
  overlaps = 0;
  /** A grant's fence was not above every earlier grant's fence of its name. */
  fenceRegressions = 0;
  /** A holder read a record that a holder with the same or a newer fence had already written. */
  staleReads = 0;
  readonly #locks = new Map<string, LockState>();
  /** Semaphore holders inside their sections, per name, and the most seen at once. */
  readonly #semaphores = new Map<string, Set<string>>();
  readonly semaphorePeaks = new Map<string, number>();
  readonly semaphoreFences = new Map<string, Set<number>>();
  /** Semaphore sections entered (grants used). */
  semaphoreSections = 0;
  /** A grant that made more than `limit` holders of its name at once. */
  semaphoreOverflows = 0;
  /** A fence given to two grants of one semaphore. */
  semaphoreRepeatedFences = 0;
  /** A holder's status read that did not show the name held by 1 to `limit` holders. */
  readonly semaphoreBadStatus: string[] = [];
  /** Writes per L1 key, in the order they were sent (one at a time per key). */
  readonly hotWrites = new Map<string, HotWrite[]>();
  readonly hotReads: HotRead[] = [];
  /** L1 reads answered 200 whose body held no version. */
  hotUnreadable = 0;
  /** Proxied reads answered 200, and those whose body was not their own path's. */
  proxyReads = 0;
  readonly proxyWrong: string[] = [];
  readonly applied: AppliedInvalidation[] = [];
  readonly scheduled: ScheduledInvalidation[] = [];
  /** Scheduling requests whose answer was lost: they may be pending. */
  scheduledUncertain = 0;
  readonly cronFirings: CronFiring[] = [];

  /** Adds `amount` to `key` of `tallies`, as acknowledged or as uncertain. */
  add(tallies: Map<string, Tally>, key: string, amount: number, outcome: "acked" | "uncertain"): void {
    const tally = tallies.get(key) ?? { acked: 0, uncertain: 0 };
    tally[outcome] += amount;
    tallies.set(key, tally);
  }

  /** A holder of `name` enters its critical section with the grant it was given. */
  enter(name: string, token: string, fence: number): void {
    const state = this.#locks.get(name) ?? { holder: null, lastFence: 0 };
    if (state.holder !== null) this.overlaps++;
    // Grants reach this process in the order Redis made them only when they do not overlap,
    // which is exactly when the fence must have grown.
    if (fence <= state.lastFence) this.fenceRegressions++;
    state.holder = token;
    state.lastFence = Math.max(state.lastFence, fence);
    this.#locks.set(name, state);
  }

  /** The holder leaves its section, before it sends its release. */
  leave(name: string, token: string): void {
    const state = this.#locks.get(name);
    if (!state || state.holder !== token) {
      this.overlaps++;
      return;
    }
    state.holder = null;
  }

  /**
   * A holder of semaphore `name` (at most `limit` holders) enters its section. A place is only
   * granted again after its holder sent its release, which it does after `leaveShared`: so
   * more than `limit` holders inside at once here means Redis granted more than `limit`.
   */
  enterShared(name: string, token: string, fence: number, limit: number): void {
    const holders = this.#semaphores.get(name) ?? new Set<string>();
    holders.add(token);
    this.#semaphores.set(name, holders);
    this.semaphoreSections++;
    if (holders.size > limit) this.semaphoreOverflows++;
    this.semaphorePeaks.set(name, Math.max(this.semaphorePeaks.get(name) ?? 0, holders.size));
    const fences = this.semaphoreFences.get(name) ?? new Set<number>();
    if (fences.has(fence)) this.semaphoreRepeatedFences++;
    fences.add(fence);
    this.semaphoreFences.set(name, fences);
  }

  /** The semaphore holder leaves its section, before it sends its release. */
  leaveShared(name: string, token: string): void {
    if (!this.#semaphores.get(name)?.delete(token)) this.semaphoreOverflows++;
  }

  /** Records a rate check's identifier as used from `sentMs` on (allowed or not). */
  rateSent(policy: string, id: string, sentMs: number): void {
    const key = `${policy}\n${id}`;
    this.rateFirstSent.set(key, Math.min(this.rateFirstSent.get(key) ?? sentMs, sentMs));
  }
}

/** How many admissions of one identifier fell in one window, for each pair over `limit`. */
export function overAdmissions(admissions: readonly Admission[], windowMs: number, limit: number): { id: string; windowEndMs: number; admitted: number }[] {
  return countPerWindow(admissions, windowMs).filter((w) => w.admitted > limit);
}

/** Admissions per identifier and window (window ends estimated within half a window). */
export function countPerWindow(admissions: readonly Admission[], windowMs: number): { id: string; windowEndMs: number; admitted: number }[] {
  const perWindow = new Map<string, { id: string; windowEndMs: number; admitted: number }>();
  for (const { id, windowEndMs } of admissions) {
    // Window ends are multiples of the window in Redis time; the estimate is off by at most
    // the time the answer took to come back, far less than half a window.
    const end = Math.round(windowEndMs / windowMs) * windowMs;
    const key = `${id}\n${end}`;
    const entry = perWindow.get(key) ?? { id, windowEndMs: end, admitted: 0 };
    entry.admitted++;
    perWindow.set(key, entry);
  }
  return [...perWindow.values()];
}
