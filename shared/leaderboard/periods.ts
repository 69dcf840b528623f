/**
 * Period calendars: which version of a daily, weekly or monthly board an instant belongs to,
 * in UTC. Pure functions of an instant, so the same code names keys for submits, reads at any
 * `at`, removal and deletion, and tests can check it without Redis.
 *
 * - daily: 00:00:00.000 to 24:00 UTC, labelled `2026-04-20`;
 * - weekly: ISO 8601 weeks, Monday 00:00 UTC to the next Monday, labelled `2026-W17` (the
 *   ISO week-numbering year, which at New Year may differ from the calendar year);
 * - monthly: the 1st 00:00 UTC to the next 1st, labelled `2026-04`;
 * - all-time: one version forever, labelled `all-time`, which never expires.
 */

/** The periods a board can keep. */
export type PeriodKind = "all-time" | "daily" | "weekly" | "monthly";

/** Every period kind, all-time first. */
export const PERIOD_KINDS: readonly PeriodKind[] = ["all-time", "daily", "weekly", "monthly"];

/** One version of a period: a day, an ISO week, a month, or all time. */
export interface PeriodVersion {
  readonly period: PeriodKind;
  /** `2026-04-20`, `2026-W17`, `2026-04` or `all-time`. */
  readonly label: string;
  /** First instant inside (ms since the epoch, inclusive); null for all-time. */
  readonly startMs: number | null;
  /** First instant after (exclusive); null for all-time. */
  readonly endMs: number | null;
}

const DAY_MS = 86_400_000;

/** A period's calendar: the version containing an instant. */
interface Calendar {
  versionAt(ms: number): PeriodVersion;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");
const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const allTime: Calendar = {
  versionAt: () => ({ period: "all-time", label: "all-time", startMs: null, endMs: null }),
};

const daily: Calendar = {
  versionAt(ms) {
    const startMs = dayOf(ms) * DAY_MS;
    return { period: "daily", label: isoDate(startMs), startMs, endMs: startMs + DAY_MS };
  },
};

const weekly: Calendar = {
  versionAt(ms) {
    const day = dayOf(ms);
    // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
    const weekday = (((day + 3) % 7) + 7) % 7;
    const startMs = (day - weekday) * DAY_MS;
    // ISO 8601: a week belongs to the year of its Thursday; week 1 holds the first Thursday.
    const thursday = startMs + 3 * DAY_MS;
    const year = new Date(thursday).getUTCFullYear();
    const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
    return { period: "weekly", label: `${pad(year, 4)}-W${pad(week)}`, startMs, endMs: startMs + 7 * DAY_MS };
  },
};

const monthly: Calendar = {
  versionAt(ms) {
    const date = new Date(ms);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth();
    return {
      period: "monthly",
      label: `${pad(year, 4)}-${pad(month + 1)}`,
      startMs: Date.UTC(year, month, 1),
      endMs: Date.UTC(year, month + 1, 1),
    };
  },
};

const CALENDARS: Record<PeriodKind, Calendar> = { "all-time": allTime, daily, weekly, monthly };

/** The version of `period` that contains the instant `ms`. */
export function versionAt(period: PeriodKind, ms: number): PeriodVersion {
  return CALENDARS[period].versionAt(ms);
}

/** The version `n` periods after (n > 0) or before (n < 0) `version`; all-time stays itself. */
export function shiftVersion(version: PeriodVersion, n: number): PeriodVersion {
  let current = version;
  for (let i = 0; i < Math.abs(n) && current.startMs !== null && current.endMs !== null; i++) {
    current = versionAt(current.period, n > 0 ? current.endMs : current.startMs - 1);
  }
  return current;
}

/**
 * When a version's keys expire so that `versions` versions stay readable: the end of the
 * version `versions - 1` periods later. With versions = 2 a day's board is readable during
 * that day and the next, and gone at the end of the next. Null for all-time (no expiry).
 */
export function expiresAtMs(version: PeriodVersion, versions: number): number | null {
  return shiftVersion(version, versions - 1).endMs;
}

/**
 * The versions a write or read at "now" may fall in, when "now" is only known to within
 * `slackMs` (a Worker's clock, checked against Redis `TIME` inside the script): the versions
 * at `approxMs - slackMs` and `approxMs + slackMs`, one when they agree, two near a boundary.
 */
export function candidateVersions(period: PeriodKind, approxMs: number, slackMs: number): PeriodVersion[] {
  const early = versionAt(period, approxMs - slackMs);
  const late = versionAt(period, approxMs + slackMs);
  return early.label === late.label ? [early] : [early, late];
}

/**
 * Every version of `period` that may still hold data at `approxMs`: the last `versions`
 * versions, plus one on each side to allow for clock slack (keys that do not exist cost
 * nothing to name). Used to remove a member or delete a board everywhere.
 */
export function retainedVersions(period: PeriodKind, approxMs: number, versions: number): PeriodVersion[] {
  const current = versionAt(period, approxMs);
  if (current.startMs === null) return [current];
  const list: PeriodVersion[] = [];
  for (let n = 1; n >= -versions; n--) list.push(shiftVersion(current, n));
  return list;
}
