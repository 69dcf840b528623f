/**
 * The launcher's cron clock (local/crons.ts): Cloudflare's cron syntax and semantics (UTC, five
 * fields, weekdays 1–7 from Sunday, L/W/#), the expressions read from wrangler.toml, the
 * LOCAL_CRONS / LOCAL_CRON_SPEEDUP switches, and a scheduler that fires each cron at its
 * minute with that minute as `scheduledTime`.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cronSettings, nextCronTime, readCronTriggers, startCronScheduler } from "../../local/crons";
import { repoRoot, waitFor } from "./processes";

const monday = new Date("2026-11-30T12:34:00.000Z");
const next = (expression: string, after = monday) => nextCronTime(expression, after).toISOString();

describe("nextCronTime: Cloudflare's cron semantics", () => {
  it("fires strictly after the given time, at the start of a minute, in UTC", () => {
    expect(next("* * * * *")).toBe("2026-11-30T12:35:00.000Z");
    expect(next("* * * * *", new Date("2026-11-30T12:34:59.999Z"))).toBe("2026-11-30T12:35:00.000Z");
    expect(next("0 0 * * *")).toBe("2026-12-01T00:00:00.000Z");
    expect(next("*/15 * * * *")).toBe("2026-11-30T12:45:00.000Z");
  });

  it("numbers weekdays 1-7 from Sunday, as Cloudflare's examples do", () => {
    expect(next("0 17 * * 1")).toBe("2026-12-06T17:00:00.000Z"); // Sunday
    expect(next("0 17 * * sun")).toBe(next("0 17 * * 1"));
    expect(next("10 7 * * 2-6")).toBe(next("10 7 * * mon-fri"));
    expect(next("10 7 * * 2-6")).toBe("2026-12-01T07:10:00.000Z"); // Tuesday
  });

  it("understands L and W", () => {
    expect(next("0 18 * * 6L")).toBe("2026-12-25T18:00:00.000Z"); // last Friday of December
    expect(next("59 23 LW * *")).toBe("2026-11-30T23:59:00.000Z"); // last weekday of November
  });

  it("rejects what Cloudflare rejects, naming the expression", () => {
    expect(() => nextCronTime("* * * * * *", monday)).toThrow(/'\* \* \* \* \* \*'/);
    expect(() => nextCronTime("61 * * * *", monday)).toThrow(/not a valid Cloudflare cron/);
  });
});

describe("crons from wrangler.toml and the environment", () => {
  it("reads [triggers] crons", () => {
    expect(readCronTriggers(join(repoRoot, "wrangler.toml"))).toEqual(["* * * * *", "0 0 * * *"]);
  });

  it("is on by default, LOCAL_CRONS=off turns it off, LOCAL_CRON_SPEEDUP speeds the clock", () => {
    expect(cronSettings({})).toEqual({ enabled: true, speedup: 1 });
    expect(cronSettings({ LOCAL_CRONS: "off" }).enabled).toBe(false);
    expect(cronSettings({ LOCAL_CRONS: "0" }).enabled).toBe(false);
    expect(cronSettings({ LOCAL_CRON_SPEEDUP: "60" }).speedup).toBe(60);
    expect(() => cronSettings({ LOCAL_CRONS: "sometimes" })).toThrow(/LOCAL_CRONS/);
    expect(() => cronSettings({ LOCAL_CRON_SPEEDUP: "0.5" })).toThrow(/LOCAL_CRON_SPEEDUP/);
  });
});

describe("startCronScheduler", () => {
  it("fires each cron at each of its minutes, with that minute as scheduledTime", async () => {
    const fired: Array<{ cron: string; time: number }> = [];
    const started = Date.now();
    // 600x: one cron minute every 100 ms of real time.
    const scheduler = startCronScheduler({
      crons: ["* * * * *", "*/2 * * * *"],
      speedup: 600,
      fire: async (cron, time) => void fired.push({ cron, time }),
    });
    try {
      await waitFor(() => fired.filter((f) => f.cron === "* * * * *").length >= 4, "four per-minute firings", 10_000);
    } finally {
      scheduler.stop();
    }
    const everyMinute = fired.filter((f) => f.cron === "* * * * *").map((f) => f.time);
    expect(everyMinute[0]).toBeGreaterThan(started);
    for (const [i, time] of everyMinute.entries()) {
      expect(time % 60_000).toBe(0);
      if (i > 0) expect(time - everyMinute[i - 1]!).toBe(60_000);
    }
    for (const f of fired.filter((f) => f.cron === "*/2 * * * *")) expect(f.time % 120_000).toBe(0);

    const count = fired.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(fired.length).toBe(count); // stopped
  });

  it("refuses an invalid expression before firing anything", () => {
    expect(() => startCronScheduler({ crons: ["* * * * *", "every minute"], fire: async () => {} })).toThrow(/'every minute'/);
  });
});
