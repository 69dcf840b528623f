import { readFileSync } from "node:fs";
import { Cron } from "croner";
import { parse } from "smol-toml";

/**
 * Cron Triggers under `npm start`. `wrangler dev` never fires them on their schedule, so the
 * launcher does, as Cloudflare would: each expression of `[triggers] crons` in wrangler.toml,
 * in UTC, at the start of each matching minute, with `controller.cron` as written. The Worker
 * sees `scheduledTime` as the moment of the firing, a few milliseconds into that minute (see
 * {@link fireCronOnWrangler}). Expressions use Cloudflare's syntax: five fields,
 * weekdays 1–7 or SUN–SAT with 1 = Sunday (Quartz style), `L`, `W` and `#`.
 */

/** Options of the local cron clock, read from the environment by {@link cronSettings}. */
export interface CronSettings {
  /** `LOCAL_CRONS=off` (or `0`, `false`) turns scheduled firing off. Default: on. */
  enabled: boolean;
  /**
   * `LOCAL_CRON_SPEEDUP=N` runs the cron clock N times faster than real time, starting now
   * (1–3600, default 1): with 60, every-minute crons fire each second, each logged for the
   * minute it stands for, so tests and demos need not wait. The Worker's code path is the same.
   */
  speedup: number;
}

/**
 * @throws Error naming the variable when a value is not understood.
 * @example cronSettings({ LOCAL_CRONS: "off" }) // { enabled: false, speedup: 1 }
 */
export function cronSettings(env: NodeJS.ProcessEnv): CronSettings {
  const switchValue = (env.LOCAL_CRONS ?? "on").toLowerCase();
  if (!["on", "off", "1", "0", "true", "false"].includes(switchValue)) {
    throw new Error(`LOCAL_CRONS must be on or off, got '${env.LOCAL_CRONS}'`);
  }
  const speedup = Number(env.LOCAL_CRON_SPEEDUP ?? 1);
  if (!Number.isFinite(speedup) || speedup < 1 || speedup > 3600) {
    throw new Error(`LOCAL_CRON_SPEEDUP must be a number from 1 to 3600, got '${env.LOCAL_CRON_SPEEDUP}'`);
  }
  return { enabled: ["on", "1", "true"].includes(switchValue), speedup };
}

/** The expressions of `[triggers] crons` in a wrangler.toml (none when the table is absent). */
export function readCronTriggers(wranglerToml: string): string[] {
  const config = parse(readFileSync(wranglerToml, "utf8")) as { triggers?: { crons?: unknown } };
  const crons = config.triggers?.crons ?? [];
  if (!Array.isArray(crons) || !crons.every((c) => typeof c === "string")) {
    throw new Error(`${wranglerToml}: [triggers] crons must be a list of strings`);
  }
  return crons;
}

/**
 * The next time, strictly after `after`, that `expression` fires on Cloudflare.
 * @throws Error naming the expression when Cloudflare's syntax does not allow it.
 * @example nextCronTime("0 17 * * sun", new Date("2026-11-30T00:00:00Z")) // 2026-12-06T17:00:00.000Z
 */
export function nextCronTime(expression: string, after: Date): Date {
  let next: Date | null;
  try {
    next = new Cron(expression, { mode: "5-part", timezone: "UTC", alternativeWeekdays: true }).nextRun(after);
  } catch (error) {
    throw new Error(`cron '${expression}' in wrangler.toml is not a valid Cloudflare cron expression: ${(error as Error).message}`);
  }
  if (!next) throw new Error(`cron '${expression}' never fires`);
  return next;
}

/** Options of {@link startCronScheduler}. */
export interface CronSchedulerOptions {
  crons: readonly string[];
  /** Fires one cron; errors are the callee's to report. */
  fire: (cron: string, scheduledTime: number) => Promise<void>;
  speedup?: number;
  /** The real clock, in ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * Fires each cron at each of its times until `stop()`. Every cron has its own timer, so firings
 * of different crons (and a slow firing and the next one) overlap as they do on Cloudflare. A
 * time missed while this process could not run (a suspended laptop) is skipped, not replayed.
 * @throws Error for an invalid expression, before any timer starts.
 */
export function startCronScheduler(opts: CronSchedulerOptions): { stop(): void } {
  const now = opts.now ?? Date.now;
  const speedup = opts.speedup ?? 1;
  const realStart = now();
  const clock = () => realStart + (now() - realStart) * speedup; // the cron clock, in ms
  for (const cron of opts.crons) nextCronTime(cron, new Date(realStart));

  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const schedule = (cron: string, after: number) => {
    const due = nextCronTime(cron, new Date(after)).getTime();
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (stopped) return;
      void opts.fire(cron, due).catch(() => {});
      schedule(cron, Math.max(due, clock()));
    }, Math.max(0, (due - clock()) / speedup));
    timers.add(timer);
  };
  for (const cron of opts.crons) schedule(cron, realStart);
  return {
    stop: () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/**
 * Fires `cron` on the Worker behind `wrangler dev --test-scheduled` on 127.0.0.1:`port` and logs
 * the firing in one line.
 *
 * It goes through `/__scheduled`, not Miniflare's `/cdn-cgi/handler/scheduled`: with Workers
 * Static Assets configured, the Miniflare that wrangler 4.86 runs answers every
 * `/cdn-cgi/handler/scheduled` with "exception" without calling the Worker (the assets proxy in
 * front of it has no scheduled handler; fixed in later releases that need Node 22).
 * `/__scheduled` cannot carry the scheduled time, so the Worker sees the real time: a sped-up
 * cron clock fires more often, and an item is due when its time has really come.
 */
export async function fireCronOnWrangler(port: number, cron: string, scheduledTime: number, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  const when = new Date(scheduledTime).toISOString().replace(/:00\.000Z$/, "Z");
  const url = `http://127.0.0.1:${port}/__scheduled?cron=${encodeURIComponent(cron)}`;
  try {
    const res = await fetch(url);
    await res.body?.cancel();
    const outcome = res.ok ? "ok" : `exception (${res.status})`;
    log(`[cron] "${cron}" for ${when}: ${outcome} (${Date.now() - started} ms)`);
  } catch (error) {
    log(`[cron] "${cron}" for ${when}: not delivered (${(error as Error).message})`);
  }
}
