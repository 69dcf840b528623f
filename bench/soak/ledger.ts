/**
 * What the soak's clients were told, kept as they were told it: the acknowledged writes that
 * the invariants compare with Redis's state at the end, and what the lock holders saw inside
 * their critical sections. Pure bookkeeping; no I/O.
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

/** One admission by the fixed-window policy: which identifier, and the window it fell in. */
export interface Admission {
  id: string;
  /** The window's end in ms since the epoch (Redis time), as estimated from the answer. */
  windowEndMs: number;
}

export class Ledger {
  readonly counters = new Map<string, Tally>();
  readonly leaderboard = new Map<string, Tally>();
  /** Critical sections per lock name whose write was acknowledged (or not known). */
  readonly sections = new Map<string, Tally>();
  readonly admissions: Admission[] = [];
  /** A grant arrived while another holder of the same name was still inside its section. */
  overlaps = 0;
  /** A grant's fence was not above every earlier grant's fence of its name. */
  fenceRegressions = 0;
  /** A holder read a record that a holder with the same or a newer fence had already written. */
  staleReads = 0;
  readonly #locks = new Map<string, LockState>();

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
}

/** How many admissions of one identifier fell in one window, for each pair over `limit`. */
export function overAdmissions(admissions: readonly Admission[], windowMs: number, limit: number): { id: string; windowEndMs: number; admitted: number }[] {
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
  return [...perWindow.values()].filter((w) => w.admitted > limit);
}
