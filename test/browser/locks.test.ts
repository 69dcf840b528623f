/** Locks view: held or free, fence and a countdown to the end of the lease; never the token. */
import { describe, expect, it } from "vitest";
import { api, errorsOf, openConsole, snapshot, uid, useBrowser } from "./browser";

const browser = useBrowser();

describe("locks view", () => {
  it("shows a held lock's fence and countdown, then that it is free once released", async () => {
    const name = `e2e-lock:${uid()}`;
    const lease = (await api(`/v1/locks/${encodeURIComponent(name)}`, { body: { ttlMs: 60_000 } })) as { token: string; fence: number };

    const page = await openConsole(browser.context, "#locks");
    const panel = page.getByRole("tabpanel", { name: "Locks" });
    await panel.getByRole("textbox", { name: "Lock", exact: true }).fill(name);
    await panel.getByRole("button", { name: "Check" }).click();

    const state = page.locator("#lock-state");
    await state.getByText("Held", { exact: true }).waitFor();
    expect(await state.innerText()).toContain(String(lease.fence));
    const countdown = page.locator("#lock-countdown");
    await expect.poll(() => countdown.innerText()).toMatch(/^Lease ends in (\d+\.\d s|1 min 0 s)$/);
    expect(await page.content()).not.toContain(lease.token);

    await snapshot(page, "locks");

    await api(`/v1/locks/${encodeURIComponent(name)}`, { method: "DELETE", headers: { "Lock-Token": lease.token } });
    // The view checks again every 5 s while shown.
    await state.getByText("Free", { exact: true }).waitFor({ timeout: 15_000 });
    expect(await countdown.isVisible()).toBe(false);
    expect(errorsOf(page)).toEqual([]);
  });
});
